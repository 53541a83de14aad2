using System.Diagnostics;
using System.Globalization;

namespace MetalAgent.Benchmarks;

/// <summary>
/// A cross-check for a loaded machine: runs the pipeline and flow-table benchmarks' own methods on
/// this thread and reports, per operation, wall time next to the time the thread was actually on a
/// CPU (first field of /proc/thread-self/schedstat) and the time it waited in the run queue, plus
/// bytes allocated. Wall time on a shared machine counts other processes' time slices; on-CPU time
/// does not (it still counts their cache pollution). Run with
/// <c>dotnet run -c Release --project bench/MetalAgent.Benchmarks -- cputime</c>.
/// </summary>
public static class CpuTimeProbe
{
    private const int Rounds = 5;

    public static void Run()
    {
        Console.WriteLine("| benchmark | ops/round | wall ns/op | on-CPU ns/op | run-queue wait ns/op | on-CPU Mops/s | B allocated/op |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
        Pipeline("EstablishedLocal", b => b.SetupEstablishedLocal(), b => b.EstablishedLocal(), null, 1 << 15);
        Pipeline("EstablishedRemote", b => b.SetupEstablishedRemote(), b => b.EstablishedRemote(), null, 1 << 15);
        Pipeline("EstablishedLoadBalancer", b => b.SetupLoadBalancerEstablished(), b => b.EstablishedLoadBalancer(), null, 1 << 15);
        Pipeline("NewFlowPolicyNat", b => b.SetupNewFlow(), b => b.NewFlowPolicyNat(), b => b.ExpireFlows(), 1 << 16);
        Pipeline("NewFlowLoadBalancer", b => b.SetupLoadBalancerNew(), b => b.NewFlowLoadBalancer(), b => b.ExpireFlows(), 1 << 16);
        var flows = new FlowTableBenchmarks();
        flows.Setup();
        Measure("FlowTable.Single", () => flows.Single(), null, 1 << 20);
        Measure("FlowTable.BatchedBurst32", () => flows.BatchedBurst32(), null, 1 << 20);
        Measure("FlowTable.PrefetchAhead8", () => flows.PrefetchAhead8(), null, 1 << 20);
    }

    private static void Pipeline(string name, Action<PipelineBenchmarks> setup, Func<PipelineBenchmarks, int> body, Action<PipelineBenchmarks>? reset, int ops)
    {
        var b = new PipelineBenchmarks();
        setup(b);
        Measure(name, () => body(b), reset is null ? null : () => reset(b), ops);
        b.Cleanup();
        GC.Collect();
    }

    private static void Measure(string name, Func<int> body, Action? reset, int ops)
    {
        // Warm up (tiering), then take the best of a few rounds: the least disturbed one.
        for (int i = 0; i < 3; i++)
        {
            reset?.Invoke();
            body();
        }
        double bestWall = double.MaxValue, bestCpu = double.MaxValue, bestWait = double.MaxValue;
        long allocated = 0;
        for (int r = 0; r < Rounds; r++)
        {
            reset?.Invoke();
            (long cpu0, long wait0) = SchedStat();
            long bytes0 = GC.GetAllocatedBytesForCurrentThread();
            long t0 = Stopwatch.GetTimestamp();
            body();
            long t1 = Stopwatch.GetTimestamp();
            long bytes1 = GC.GetAllocatedBytesForCurrentThread();
            (long cpu1, long wait1) = SchedStat();
            bestWall = Math.Min(bestWall, Stopwatch.GetElapsedTime(t0, t1).TotalNanoseconds / ops);
            bestCpu = Math.Min(bestCpu, (double)(cpu1 - cpu0) / ops);
            bestWait = Math.Min(bestWait, (double)(wait1 - wait0) / ops);
            allocated = Math.Max(allocated, bytes1 - bytes0);
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {name} | {ops} | {bestWall:F1} | {bestCpu:F1} | {bestWait:F1} | {1000 / bestCpu:F2} | {(double)allocated / ops:F2} |"));
    }

    /// <summary>(ns on CPU, ns waiting in the run queue) of the calling thread.</summary>
    private static (long OnCpu, long Waiting) SchedStat()
    {
        string[] fields = File.ReadAllText("/proc/thread-self/schedstat").Split(' ');
        return (long.Parse(fields[0], CultureInfo.InvariantCulture), long.Parse(fields[1], CultureInfo.InvariantCulture));
    }
}
