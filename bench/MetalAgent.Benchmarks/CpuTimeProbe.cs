using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using BenchmarkDotNet.Attributes;

namespace MetalAgent.Benchmarks;

/// <summary>
/// A cross-check for a loaded machine: runs the benchmark classes' own methods (by reflection) on
/// this thread and reports, per operation, wall time next to the time the thread was actually on a
/// CPU (first field of /proc/thread-self/schedstat) and the time it waited in the run queue, plus
/// bytes allocated. Wall time on a shared machine counts other processes' time slices; on-CPU time
/// does not (it still counts their cache pollution). Best of 5 rounds after 3 warm-up rounds; one
/// round is one invocation (one [Benchmark] call). Run with
/// <c>dotnet run -c Release --project bench/MetalAgent.Benchmarks -- cputime [ClassNamePart]</c>.
/// </summary>
public static class CpuTimeProbe
{
    private const int Rounds = 5;

    public static void Run(string filter)
    {
        Console.WriteLine("| benchmark | ops/round | wall ns/op | on-CPU ns/op | run-queue wait ns/op | on-CPU Mops/s | B allocated/op |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (Type type in typeof(CpuTimeProbe).Assembly.GetTypes())
        {
            if (type.IsAbstract || !type.Name.EndsWith("Benchmarks", StringComparison.Ordinal) || !type.Name.Contains(filter, StringComparison.Ordinal))
            {
                continue;
            }
            PropertyInfo? param = type.GetProperties().FirstOrDefault(p => p.GetCustomAttribute<ParamsAttribute>() is not null);
            object?[] values = param?.GetCustomAttribute<ParamsAttribute>()!.Values ?? [null];
            foreach (MethodInfo method in type.GetMethods().Where(m => m.GetCustomAttribute<BenchmarkAttribute>() is not null))
            {
                foreach (object? value in values)
                {
                    object instance = Activator.CreateInstance(type)!;
                    param?.SetValue(instance, value);
                    Invoke<GlobalSetupAttribute>(type, instance, method.Name);
                    MethodInfo? iterationSetup = Find<IterationSetupAttribute>(type, method.Name);
                    int ops = method.GetCustomAttribute<BenchmarkAttribute>()!.OperationsPerInvoke;
                    string name = $"{type.Name}.{method.Name}" + (param is null ? "" : $" ({param.Name}={value})");
                    Measure(name, () => { method.Invoke(instance, null); return 0; }, iterationSetup is null ? null : () => iterationSetup.Invoke(instance, null), ops);
                    Invoke<GlobalCleanupAttribute>(type, instance, method.Name);
                    GC.Collect();
                }
            }
        }
    }

    private static MethodInfo? Find<TAttribute>(Type type, string benchmark) where TAttribute : TargetedAttribute =>
        type.GetMethods().FirstOrDefault(m => m.GetCustomAttribute<TAttribute>() is { } a && (a.Targets is null || a.Targets.Length == 0 || a.Targets.Contains(benchmark)));

    private static void Invoke<TAttribute>(Type type, object instance, string benchmark) where TAttribute : TargetedAttribute =>
        Find<TAttribute>(type, benchmark)?.Invoke(instance, null);

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
