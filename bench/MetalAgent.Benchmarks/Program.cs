using BenchmarkDotNet.Running;

namespace MetalAgent.Benchmarks;

public static class Program
{
    /// <summary>Runs benchmarks chosen by BenchmarkDotNet's switches, e.g.
    /// <c>dotnet run -c Release --project bench/MetalAgent.Benchmarks -- --filter '*Parse*'</c>;
    /// <c>-- cputime</c> runs <see cref="CpuTimeProbe"/> instead.</summary>
    public static void Main(string[] args)
    {
        if (args.Length is 1 or 2 && args[0] == "cputime")
        {
            CpuTimeProbe.Run(args.Length == 2 ? args[1] : "");
            return;
        }
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }
}
