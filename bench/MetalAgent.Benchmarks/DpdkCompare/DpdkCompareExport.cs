using System.Reflection;
using MetalAgent.Dataplane.Flows;
using MetalAgent.Tables.Classifier;
using MetalAgent.Tables.Exact;
using MetalAgent.Tables.Lpm;
using static MetalAgent.Benchmarks.DpdkCompare.DpdkCompareFiles;

namespace MetalAgent.Benchmarks.DpdkCompare;

/// <summary>
/// <c>-- export-data DIR</c>: writes the inputs of our benchmarks to files (formats in
/// <see cref="DpdkCompareFiles"/>) for the DPDK side-by-side. The data come from the benchmark
/// classes themselves: each one's <c>[GlobalSetup]</c> runs and its tables and key streams are read
/// back, so the files hold exactly what the benchmarks measure and follow any change to them.
/// </summary>
internal static class DpdkCompareExport
{
    /// <summary>Set names as the DPDK harness knows them, with the benchmark parameter they come from.</summary>
    public static readonly (string Set, int Routes)[] Lpm4Sets = [("lpm4_1k", 1_000), ("lpm4_1m", 1_000_000)];
    public static readonly (string Set, int Routes)[] Lpm6Sets = [("lpm6_1k", 1_000), ("lpm6_100k", 100_000)];
    public static readonly (string Set, string ClassBench)[] AclSets = [("acl1_10k", "acl1"), ("fw1_10k", "fw1"), ("ipc1_10k", "ipc1")];
    public const string ExactSet = "exact_1m";
    public const string FlowSet = "flow_1m";

    public static void Run(string directory)
    {
        Directory.CreateDirectory(directory);
        foreach ((string set, int routes) in Lpm4Sets)
        {
            ExportLpm4(directory, set, routes);
        }
        foreach ((string set, int routes) in Lpm6Sets)
        {
            ExportLpm6(directory, set, routes);
        }
        ExportExact(directory);
        ExportFlows(directory);
        foreach ((string set, string classBench) in AclSets)
        {
            ExportAcl(directory, set, classBench);
        }
    }

    private static void ExportLpm4(string directory, string set, int count)
    {
        var benchmark = new LpmBenchmarks { Routes = count };
        benchmark.Setup();
        Lpm4Table table = Field<Lpm4Table>(benchmark, "_table");
        uint[] addresses = Field<uint[]>(benchmark, "_addresses");
        // The table keeps its routes sorted; the benchmark built it from the generator's order,
        // which is also the order rte_lpm gets them in. Regenerate that order and check it is the same set.
        Lpm4Route[] routes = RouteSetGenerator.Ipv4BgpLike(count, seed: 2024);
        Lpm4Route[] sorted = [.. routes.OrderBy(r => r.Prefix).ThenBy(r => r.Length)];
        if (!sorted.AsSpan().SequenceEqual(table.Routes))
        {
            throw new InvalidOperationException($"LpmBenchmarks no longer uses RouteSetGenerator.Ipv4BgpLike({count}, seed: 2024): update {nameof(DpdkCompareExport)}");
        }
        Write(Path.Combine(directory, set + ".routes"), routes.Length, Lpm4RouteSize, (i, d) => WriteLpm4Route(d, routes[i]));
        Write(Path.Combine(directory, set + ".keys"), addresses.Length, 4, (i, d) => BitConverter.TryWriteBytes(d, addresses[i]));
        Console.WriteLine($"{set}: {routes.Length} routes, {addresses.Length} lookup addresses");
    }

    private static void ExportLpm6(string directory, string set, int count)
    {
        var benchmark = new Lpm6Benchmarks { Routes = count };
        benchmark.Setup();
        Lpm6Table table = Field<Lpm6Table>(benchmark, "_table");
        UInt128[] addresses = Field<UInt128[]>(benchmark, "_addresses");
        Lpm6Route[] routes = RouteSetGenerator.Ipv6Like(count, seed: 2024);
        Lpm6Route[] sorted = [.. routes.OrderBy(r => r.Prefix).ThenBy(r => r.Length)];
        if (!sorted.AsSpan().SequenceEqual(table.Routes))
        {
            throw new InvalidOperationException($"Lpm6Benchmarks no longer uses RouteSetGenerator.Ipv6Like({count}, seed: 2024): update {nameof(DpdkCompareExport)}");
        }
        Write(Path.Combine(directory, set + ".routes"), routes.Length, Lpm6RouteSize, (i, d) => WriteLpm6Route(d, routes[i]));
        Write(Path.Combine(directory, set + ".keys"), addresses.Length, 16, (i, d) => System.Buffers.Binary.BinaryPrimitives.WriteUInt128BigEndian(d, addresses[i]));
        Console.WriteLine($"{set}: {routes.Length} routes, {addresses.Length} lookup addresses");
    }

    private static void ExportExact(string directory)
    {
        var benchmark = new ExactMatchBenchmarks();
        benchmark.Setup();
        var entries = new List<KeyValuePair<VniAddressKey, uint>>();
        Field<ExactTable<VniAddressKey, uint>>(benchmark, "_table").CopyEntries(entries);
        // Entry i has value i: ordering by value restores the order the benchmark built from.
        KeyValuePair<VniAddressKey, uint>[] ordered = [.. entries.OrderBy(e => e.Value)];
        VniAddressKey[] keys = Field<VniAddressKey[]>(benchmark, "_keys");
        Write(Path.Combine(directory, ExactSet + ".entries"), ordered.Length, ExactEntrySize, (i, d) =>
        {
            d.AsSpan().Clear();
            WriteExactKey(d, ordered[i].Key);
            BitConverter.TryWriteBytes(d.AsSpan(ExactKeySize), ordered[i].Value);
        });
        Write(Path.Combine(directory, ExactSet + ".keys"), keys.Length, ExactKeySize, (i, d) => WriteExactKey(d, keys[i]));
        Console.WriteLine($"{ExactSet}: {ordered.Length} entries, {keys.Length} lookup keys");
    }

    private static void ExportFlows(string directory)
    {
        var benchmark = new FlowTableBenchmarks();
        benchmark.Setup();
        var collector = new FlowCollector { Flows = [] };
        Field<FlowTable<FlowState>>(benchmark, "_table").ForEachLive(ref collector);
        List<(FlowKey Forward, FlowKey Reply)> flows = collector.Flows;
        FlowKey[] keys = Field<FlowKey[]>(benchmark, "_keys");
        Write(Path.Combine(directory, FlowSet + ".flows"), flows.Count, 2 * FlowKeySize, (i, d) =>
        {
            WriteFlowKey(d, flows[i].Forward);
            WriteFlowKey(d.AsSpan(FlowKeySize), flows[i].Reply);
        });
        Write(Path.Combine(directory, FlowSet + ".keys"), keys.Length, FlowKeySize, (i, d) => WriteFlowKey(d, keys[i]));
        Console.WriteLine($"{FlowSet}: {flows.Count} flows ({2 * flows.Count} keys), {keys.Length} lookup keys");
    }

    private static void ExportAcl(string directory, string set, string classBench)
    {
        var benchmark = new ClassifierBenchmarks { Set = classBench };
        benchmark.Setup();
        ClassifierRule4[] rules = Field<ClassifierRule4[]>(benchmark, "_rules");
        FlowKey4[] keys = Field<FlowKey4[]>(benchmark, "_keys");
        for (int i = 0; i < rules.Length; i++)
        {
            if (rules[i].Priority != i || rules[i].Action != (uint)i)
            {
                throw new InvalidOperationException($"{classBench} rule {i} has priority {rules[i].Priority}: the files assume priority = index");
            }
        }
        Write(Path.Combine(directory, set + ".rules"), rules.Length, RuleSize, (i, d) => WriteRule(d, rules[i]));
        Write(Path.Combine(directory, set + ".trace"), keys.Length, TraceSize, (i, d) => WriteTraceKey(d, keys[i]));
        Console.WriteLine($"{set}: {rules.Length} rules, {keys.Length} trace headers");
    }

    /// <summary>A private field of a benchmark after its setup ran.</summary>
    private static T Field<T>(object benchmark, string name)
    {
        FieldInfo field = benchmark.GetType().GetField(name, BindingFlags.Instance | BindingFlags.NonPublic)
            ?? throw new InvalidOperationException($"{benchmark.GetType().Name} has no field {name}: update {nameof(DpdkCompareExport)}");
        return (T)field.GetValue(benchmark)!;
    }

    /// <summary>Collects flows in id order; the DPDK side numbers them by position, so ids must be 0, 1, 2, ...</summary>
    private struct FlowCollector : IFlowVisitor<FlowState>
    {
        public List<(FlowKey Forward, FlowKey Reply)> Flows;

        public readonly void Visit(int id, in FlowKey forward, in FlowKey reverse, ref FlowState value)
        {
            if (id != Flows.Count)
            {
                throw new InvalidOperationException($"flow ids are not dense: {id} after {Flows.Count} flows");
            }
            Flows.Add((forward, reverse));
        }
    }
}
