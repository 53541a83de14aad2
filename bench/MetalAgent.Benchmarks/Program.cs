using BenchmarkDotNet.Running;
using MetalAgent.Benchmarks.DpdkCompare;
using MetalAgent.Benchmarks.PerCore;

namespace MetalAgent.Benchmarks;

public static class Program
{
    /// <summary>Runs benchmarks chosen by BenchmarkDotNet's switches, e.g.
    /// <c>dotnet run -c Release --project bench/MetalAgent.Benchmarks -- --filter '*Parse*'</c>;
    /// <c>-- cputime</c> runs <see cref="CpuTimeProbe"/> instead; <c>-- export-data DIR</c> and
    /// <c>-- compare-dpdk DIR [sets]</c> are the two halves of our side of bench/compare-dpdk.sh;
    /// <c>-- pipeline-percore [workers] [cpus] [paths]</c> runs <see cref="PipelinePerCore"/>.</summary>
    public static void Main(string[] args)
    {
        if (args.Length is 1 or 2 && args[0] == "cputime")
        {
            CpuTimeProbe.Run(args.Length == 2 ? args[1] : "");
            return;
        }
        if (args.Length == 2 && args[0] == "export-data")
        {
            DpdkCompareExport.Run(args[1]);
            return;
        }
        if (args.Length is 2 or 3 && args[0] == "compare-dpdk")
        {
            DpdkCompareRunner.Run(args[1], args.Length == 3 ? args[2] : null);
            return;
        }
        if (args.Length >= 1 && args[0] == "pipeline-percore")
        {
            PipelinePerCore.Run(args[1..]);
            return;
        }
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }
}
