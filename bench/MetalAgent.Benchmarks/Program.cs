using BenchmarkDotNet.Running;

namespace MetalAgent.Benchmarks;

public static class Program
{
    /// <summary>Runs benchmarks chosen by BenchmarkDotNet's switches, e.g.
    /// <c>dotnet run -c Release --project bench/MetalAgent.Benchmarks -- --filter '*Parse*'</c>.</summary>
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
