using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using MetalAgent.Dataplane.Flows;
using MetalAgent.Tables.Classifier;
using MetalAgent.Tables.Exact;
using MetalAgent.Tables.Lpm;
using static MetalAgent.Benchmarks.DpdkCompare.DpdkCompareFiles;

namespace MetalAgent.Benchmarks.DpdkCompare;

/// <summary>
/// <c>-- compare-dpdk DIR [set1,set2,...]</c>: our side of bench/compare-dpdk.sh. Builds our tables from
/// the files of <see cref="DpdkCompareExport"/> and times the same operations as bench/dpdk/dpdk_compare.c,
/// with the same method and the same output lines (see the comment at the top of that file):
/// a lookup round is one pass over the key stream, warm-up (2 rounds and at least 300 ms, so tiered
/// compilation has settled), then the best of 7 rounds in this thread's on-CPU time and in wall time;
/// a build is timed from the decoded entries to a usable table, repeated while fewer than 4 runs and
/// less than 3 s were spent, best run reported. The checksum is the sum of every 32-bit answer
/// (a miss is 0xFFFFFFFF), so equal checksums on both sides mean equal answers.
/// </summary>
internal static class DpdkCompareRunner
{
    private const uint Miss = uint.MaxValue;
    private const int WarmupRounds = 2;
    private static readonly double s_warmupMinNs = 1e6 * double.Parse(Environment.GetEnvironmentVariable("COMPARE_WARMUP_MS") ?? "300", CultureInfo.InvariantCulture);
    private const int MeasuredRounds = 7;
    private const int BuildMaxRuns = 4;
    private const double BuildBudgetNs = 3e9;
    private const int LpmBurst = 64;
    private const int ExactBurst = 64;
    private const int FlowBurst = 32;

    public static void Run(string directory, string? only)
    {
        string[]? selected = only?.Split(',', StringSplitOptions.RemoveEmptyEntries);
        bool Selected(string set) => selected is null || Array.IndexOf(selected, set) >= 0;
        Console.WriteLine($"INFO\t.NET {Environment.Version}, {RuntimeInformation.ProcessArchitecture}, processors {Environment.ProcessorCount}, server GC {System.Runtime.GCSettings.IsServerGC}, GC latency mode {System.Runtime.GCSettings.LatencyMode}, tiered compilation {Environment.GetEnvironmentVariable("DOTNET_TieredCompilation") ?? "default"}");
        foreach ((string set, _) in DpdkCompareExport.Lpm4Sets)
        {
            if (Selected(set))
            {
                RunLpm4(directory, set);
            }
        }
        foreach ((string set, _) in DpdkCompareExport.Lpm6Sets)
        {
            if (Selected(set))
            {
                RunLpm6(directory, set);
            }
        }
        if (Selected(DpdkCompareExport.ExactSet))
        {
            RunExact(directory, DpdkCompareExport.ExactSet);
        }
        if (Selected(DpdkCompareExport.FlowSet))
        {
            RunFlows(directory, DpdkCompareExport.FlowSet);
        }
        foreach ((string set, _) in DpdkCompareExport.AclSets)
        {
            if (Selected(set))
            {
                RunAcl(directory, set);
            }
        }
    }

    // ---------------------------------------------------------------- LPM

    private static void RunLpm4(string directory, string set)
    {
        Lpm4Route[] routes = Read(Path.Combine(directory, set + ".routes"), Lpm4RouteSize, (s, _) => ReadLpm4Route(s));
        uint[] keys = Read(Path.Combine(directory, set + ".keys"), 4, (s, _) => BinaryPrimitives.ReadUInt32LittleEndian(s));
        Console.WriteLine($"INFO\t{set}: {routes.Length} routes, {keys.Length} lookups");
        Lpm4Table table = TimeBuild(set, "Lpm4Table.Build", () => Lpm4Table.Build(routes));
        var results = new uint[keys.Length];
        TimeLookup(set, "lookup", "Lpm4Table.Lookup", r => Lpm4Single(table, keys, r), results);
        TimeLookup(set, "lookup_burst", $"Lpm4Table.Lookup(span)/{LpmBurst}", r => Lpm4Burst(table, keys, r), results);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Lpm4Single(Lpm4Table table, uint[] keys, uint[] results)
    {
        for (int i = 0; i < keys.Length; i++)
        {
            results[i] = table.Lookup(keys[i]);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Lpm4Burst(Lpm4Table table, uint[] keys, uint[] results)
    {
        for (int start = 0; start < keys.Length; start += LpmBurst)
        {
            int n = Math.Min(LpmBurst, keys.Length - start);
            table.Lookup(keys.AsSpan(start, n), results.AsSpan(start, n));
        }
    }

    private static void RunLpm6(string directory, string set)
    {
        Lpm6Route[] routes = Read(Path.Combine(directory, set + ".routes"), Lpm6RouteSize, (s, _) => ReadLpm6Route(s));
        UInt128[] keys = Read(Path.Combine(directory, set + ".keys"), 16, (s, _) => BinaryPrimitives.ReadUInt128BigEndian(s));
        Console.WriteLine($"INFO\t{set}: {routes.Length} routes, {keys.Length} lookups");
        Lpm6Table table = TimeBuild(set, "Lpm6Table.Build", () => Lpm6Table.Build(routes));
        var results = new uint[keys.Length];
        TimeLookup(set, "lookup", "Lpm6Table.Lookup", r => Lpm6Single(table, keys, r), results);
        TimeLookup(set, "lookup_burst", $"Lpm6Table.Lookup(span)/{LpmBurst}", r => Lpm6Burst(table, keys, r), results);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Lpm6Single(Lpm6Table table, UInt128[] keys, uint[] results)
    {
        for (int i = 0; i < keys.Length; i++)
        {
            results[i] = table.Lookup(keys[i]);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Lpm6Burst(Lpm6Table table, UInt128[] keys, uint[] results)
    {
        for (int start = 0; start < keys.Length; start += LpmBurst)
        {
            int n = Math.Min(LpmBurst, keys.Length - start);
            table.Lookup(keys.AsSpan(start, n), results.AsSpan(start, n));
        }
    }

    // ---------------------------------------------------------------- exact match and flows

    private static void RunExact(string directory, string set)
    {
        KeyValuePair<VniAddressKey, uint>[] entries = Read(Path.Combine(directory, set + ".entries"), ExactEntrySize,
            (s, _) => new KeyValuePair<VniAddressKey, uint>(ReadExactKey(s), BinaryPrimitives.ReadUInt32LittleEndian(s[ExactKeySize..])));
        VniAddressKey[] keys = Read(Path.Combine(directory, set + ".keys"), ExactKeySize, (s, _) => ReadExactKey(s));
        Console.WriteLine($"INFO\t{set}: {entries.Length} (VNI, address) keys, {keys.Length} lookups");
        ExactTable<VniAddressKey, uint> table = TimeBuild(set, "ExactTable.Build", () => ExactTable<VniAddressKey, uint>.Build(entries));
        var results = new uint[keys.Length];
        TimeLookup(set, "lookup", "ExactTable.TryGetValue", r => ExactSingle(table, keys, r), results);
        TimeLookup(set, "lookup_burst", $"ExactTable.LookupBatch/{ExactBurst}", r => ExactBurstLookup(table, keys, r, ExactBurst), results);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ExactSingle<TKey>(ExactTable<TKey, uint> table, TKey[] keys, uint[] results)
        where TKey : unmanaged, IExactKey<TKey>
    {
        for (int i = 0; i < keys.Length; i++)
        {
            results[i] = table.TryGetValue(in keys[i], out uint value) ? value : Miss;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ExactBurstLookup<TKey>(ExactTable<TKey, uint> table, TKey[] keys, uint[] results, int burst)
        where TKey : unmanaged, IExactKey<TKey>
    {
        Span<uint> values = stackalloc uint[burst];
        Span<bool> found = stackalloc bool[burst];
        for (int start = 0; start < keys.Length; start += burst)
        {
            int n = Math.Min(burst, keys.Length - start);
            table.LookupBatch(keys.AsSpan(start, n), values, found);
            for (int j = 0; j < n; j++)
            {
                results[start + j] = found[j] ? values[j] : Miss;
            }
        }
    }

    private static void RunFlows(string directory, string set)
    {
        (FlowKey Forward, FlowKey Reply)[] flows = Read(Path.Combine(directory, set + ".flows"), 2 * FlowKeySize,
            (s, _) => (ReadFlowKey(s), ReadFlowKey(s[FlowKeySize..])));
        FlowKey[] keys = Read(Path.Combine(directory, set + ".keys"), FlowKeySize, (s, _) => ReadFlowKey(s));
        Console.WriteLine($"INFO\t{set}: {flows.Length} flows ({2 * flows.Length} keys), {keys.Length} lookups");
        var results = new uint[keys.Length];

        // The flow table as FlowTableBenchmarks fills it: capacity = flows, one worker, flow i gets id i.
        FlowTable<FlowState> table = TimeBuild(set, "FlowTable.Insert", () => BuildFlowTable(flows));
        TimeLookup(set, "lookup", "FlowTable.Lookup", r => FlowSingle(table, keys, r), results);
        TimeLookup(set, "lookup_burst", $"FlowTable two-pass prefetch+Lookup/{FlowBurst}", r => FlowBurstLookup(table, keys, r), results);
        table = null!;
        GC.Collect();

        // The same keys in the flat immutable table: value = flow id * 2 + direction.
        var entries = new KeyValuePair<FlowExactKey, uint>[2 * flows.Length];
        for (int i = 0; i < flows.Length; i++)
        {
            entries[2 * i] = new(new FlowExactKey(flows[i].Forward), (uint)(2 * i));
            entries[(2 * i) + 1] = new(new FlowExactKey(flows[i].Reply), (uint)((2 * i) + 1));
        }
        var exactKeys = new FlowExactKey[keys.Length];
        for (int i = 0; i < keys.Length; i++)
        {
            exactKeys[i] = new FlowExactKey(keys[i]);
        }
        ExactTable<FlowExactKey, uint> exact = TimeBuild(set, "ExactTable<FlowKey>.Build", () => ExactTable<FlowExactKey, uint>.Build(entries));
        TimeLookup(set, "lookup", "ExactTable<FlowKey>.TryGetValue", r => ExactSingle(exact, exactKeys, r), results);
        TimeLookup(set, "lookup_burst", $"ExactTable<FlowKey>.LookupBatch/{FlowBurst}", r => ExactBurstLookup(exact, exactKeys, r, FlowBurst), results);
    }

    private static FlowTable<FlowState> BuildFlowTable((FlowKey Forward, FlowKey Reply)[] flows)
    {
        var table = new FlowTable<FlowState>(flows.Length, 1);
        for (int i = 0; i < flows.Length; i++)
        {
            var state = new FlowState { Interface = i & 7, PeerInterface = -1, LoadBalancer = -1 };
            int id = table.Insert(0, in flows[i].Forward, in flows[i].Reply, in state, 1000, out InsertOutcome outcome);
            if (outcome != InsertOutcome.Created || id != i)
            {
                throw new InvalidOperationException($"flow {i}: {outcome}, id {id}");
            }
        }
        return table;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void FlowSingle(FlowTable<FlowState> table, FlowKey[] keys, uint[] results)
    {
        for (int i = 0; i < keys.Length; i++)
        {
            int id = table.Lookup(in keys[i], out int direction);
            results[i] = id < 0 ? Miss : (uint)((2 * id) + direction);
        }
    }

    /// <summary>As FlowTableBenchmarks.BurstTwoPass32 and the workers: hash and prefetch every key's
    /// bucket, then every first entry, then look each up with its hash.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void FlowBurstLookup(FlowTable<FlowState> table, FlowKey[] keys, uint[] results)
    {
        Span<ulong> hashes = stackalloc ulong[FlowBurst];
        for (int start = 0; start < keys.Length; start += FlowBurst)
        {
            int n = Math.Min(FlowBurst, keys.Length - start);
            for (int j = 0; j < n; j++)
            {
                hashes[j] = keys[start + j].Hash();
                table.PrefetchBucket(hashes[j]);
            }
            for (int j = 0; j < n; j++)
            {
                table.PrefetchEntry(hashes[j]);
            }
            for (int j = 0; j < n; j++)
            {
                int id = table.Lookup(in keys[start + j], hashes[j], out int direction);
                results[start + j] = id < 0 ? Miss : (uint)((2 * id) + direction);
            }
        }
    }

    // ---------------------------------------------------------------- classifier

    private static void RunAcl(string directory, string set)
    {
        ClassifierRule4[] rules = Read(Path.Combine(directory, set + ".rules"), RuleSize, ReadRule);
        FlowKey4[] keys = Read(Path.Combine(directory, set + ".trace"), TraceSize, (s, _) => ReadTraceKey(s));
        Console.WriteLine($"INFO\t{set}: {rules.Length} rules, {keys.Length} trace headers");
        Classifier4Table table = TimeBuild(set, "Classifier4Table.Build", () => Classifier4Table.Build(rules));
        var results = new uint[keys.Length];
        TimeLookup(set, "lookup_burst", "Classifier4Table.Classify(span)", r => table.Classify(keys, MemoryMarshal.Cast<uint, int>(r.AsSpan())), results);
    }

    // ---------------------------------------------------------------- timing

    private static void TimeLookup(string set, string op, string variant, Action<uint[]> pass, uint[] results)
    {
        long warmupStart = Stopwatch.GetTimestamp();
        for (int i = 0; i < WarmupRounds || Stopwatch.GetElapsedTime(warmupStart).TotalNanoseconds < s_warmupMinNs; i++)
        {
            pass(results);
        }
        ulong expected = Checksum(results);
        double bestCpu = double.MaxValue, bestWall = double.MaxValue;
        for (int r = 0; r < MeasuredRounds; r++)
        {
            Array.Clear(results);
            double c0 = ThreadCpuClock.NowNs();
            long w0 = Stopwatch.GetTimestamp();
            pass(results);
            long w1 = Stopwatch.GetTimestamp();
            double c1 = ThreadCpuClock.NowNs();
            bestCpu = Math.Min(bestCpu, c1 - c0);
            bestWall = Math.Min(bestWall, Stopwatch.GetElapsedTime(w0, w1).TotalNanoseconds);
            if (Checksum(results) != expected)
            {
                throw new InvalidOperationException($"{set}.{op} {variant}: answers differ between rounds");
            }
        }
        Result(set, op, variant, bestCpu / results.Length, bestWall / results.Length, expected, results.Length);
    }

    private static T TimeBuild<T>(string set, string variant, Func<T> build)
        where T : class
    {
        double bestCpu = double.MaxValue, bestWall = double.MaxValue, spent = 0;
        T? table = null;
        int runs = 0;
        do
        {
            // Drop the previous table first, as the DPDK side frees it.
            table = null;
            GC.Collect();
            GC.WaitForPendingFinalizers();
            double c0 = ThreadCpuClock.NowNs();
            long w0 = Stopwatch.GetTimestamp();
            table = build();
            long w1 = Stopwatch.GetTimestamp();
            double c1 = ThreadCpuClock.NowNs();
            double wall = Stopwatch.GetElapsedTime(w0, w1).TotalNanoseconds;
            bestCpu = Math.Min(bestCpu, c1 - c0);
            bestWall = Math.Min(bestWall, wall);
            spent += wall;
            runs++;
        }
        while (runs < BuildMaxRuns && spent < BuildBudgetNs);
        Result(set, "build", variant, bestCpu, bestWall, 0, 1);
        return table;
    }

    private static ulong Checksum(uint[] results)
    {
        ulong sum = 0;
        foreach (uint r in results)
        {
            sum += r;
        }
        return sum;
    }

    private static void Result(string set, string op, string variant, double cpuNs, double wallNs, ulong checksum, long ops) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"RESULT\t{set}.{op}\t{variant}\t{cpuNs:F3}\t{wallNs:F3}\t{checksum:x16}\t{ops}"));
}
