using CsCheck;
using MetalAgent.Tables.Classifier;

namespace MetalAgent.Tables.Tests.Classifier;

/// <summary>Shared inputs of the classifier tests: ClassBench files (loaded once) and keys derived from rules.</summary>
internal static class ClassifierTestData
{
    private static readonly Dictionary<string, ClassBenchRuleSet> s_rules = [];
    private static readonly Dictionary<string, ClassBenchTrace> s_traces = [];

    public static ClassBenchRuleSet Rules(string name)
    {
        lock (s_rules)
        {
            if (!s_rules.TryGetValue(name, out ClassBenchRuleSet? set))
            {
                set = ClassBenchData.LoadRules(name);
                s_rules.Add(name, set);
            }
            return set;
        }
    }

    public static ClassBenchTrace Trace(string name)
    {
        lock (s_traces)
        {
            if (!s_traces.TryGetValue(name, out ClassBenchTrace? trace))
            {
                trace = ClassBenchData.LoadTrace(name);
                s_traces.Add(name, trace);
            }
            return trace;
        }
    }

    /// <summary>Runs <paramref name="assert"/> on <paramref name="count"/> values drawn from fixed seeds, so a
    /// run is reproducible; CsCheck still shrinks a failing case.</summary>
    public static void SampleDeterministic<T>(Gen<T> gen, Action<T> assert, int count, uint stream)
    {
        for (int i = 0; i < count; i++)
        {
            string seed = new PCG(stream, (ulong)i * 0x9E3779B97F4A7C15UL).ToString();
            gen.Sample(assert, seed: seed, iter: 1, threads: 1);
        }
    }

    /// <summary>Keys inside and just outside each rule: corners of its ranges and a random interior point.</summary>
    public static FlowKey4[] KeysAround(ReadOnlySpan<ClassifierRule4> rules, int seed)
    {
        var random = new Random(seed);
        var keys = new List<FlowKey4>();
        foreach (ClassifierRule4 r in rules)
        {
            uint srcMask = r.SrcPrefixLength == 0 ? 0 : uint.MaxValue << (32 - r.SrcPrefixLength);
            uint dstMask = r.DstPrefixLength == 0 ? 0 : uint.MaxValue << (32 - r.DstPrefixLength);
            uint srcLo = r.SrcPrefix & srcMask;
            uint dstLo = r.DstPrefix & dstMask;
            byte protocol = (byte)((r.Protocol & r.ProtocolMask) | (random.Next(256) & ~r.ProtocolMask));
            keys.Add(new FlowKey4(srcLo | ((uint)random.NextInt64() & ~srcMask), dstLo | ((uint)random.NextInt64() & ~dstMask),
                (ushort)random.Next(r.SrcPortLo, r.SrcPortHi + 1), (ushort)random.Next(r.DstPortLo, r.DstPortHi + 1), protocol));
            keys.Add(new FlowKey4(srcLo, dstLo | ~dstMask, r.SrcPortLo, r.DstPortHi, protocol));
            keys.Add(new FlowKey4(srcLo | ~srcMask, dstLo, r.SrcPortHi, r.DstPortLo, protocol));
            keys.Add(new FlowKey4(srcLo - 1, dstLo + (~dstMask) + 1, (ushort)(r.SrcPortLo - 1), (ushort)(r.DstPortHi + 1), (byte)(protocol + 1)));
        }
        return [.. keys];
    }
}
