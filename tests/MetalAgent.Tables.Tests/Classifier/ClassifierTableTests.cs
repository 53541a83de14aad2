using MetalAgent.Tables.Classifier;

namespace MetalAgent.Tables.Tests.Classifier;

/// <summary>Semantics and edge cases of <see cref="Classifier4Table"/> and <see cref="Classifier6Table"/>.</summary>
public sealed class ClassifierTableTests
{
    private static ClassifierRule4 Rule(uint src, byte srcLength, uint dst, byte dstLength, int priority,
        ushort dportLo = 0, ushort dportHi = ushort.MaxValue, byte protocol = 0, byte protocolMask = 0) =>
        new(src, srcLength, dst, dstLength, 0, ushort.MaxValue, dportLo, dportHi, protocol, protocolMask, priority, 0);

    private static void AssertAgrees(ClassifierRule4[] rules, FlowKey4[] keys)
    {
        var table = Classifier4Table.Build(rules);
        var batched = new int[keys.Length];
        table.Classify(keys, batched);
        for (int i = 0; i < keys.Length; i++)
        {
            int expected = LinearClassifier.Classify(rules, in keys[i]);
            Assert.True(expected == table.Classify(in keys[i]), $"key {keys[i]}: linear {expected}, table {table.Classify(in keys[i])}");
            Assert.Equal(expected, batched[i]);
        }
    }

    [Fact]
    public void Empty_table_matches_nothing()
    {
        var table = Classifier4Table.Build([]);
        Assert.Equal(-1, table.Classify(new FlowKey4(1, 2, 3, 4, 6)));
        var results = new int[3];
        table.Classify([new FlowKey4(1, 2, 3, 4, 6), default, new FlowKey4(uint.MaxValue, uint.MaxValue, 65535, 65535, 255)], results);
        Assert.Equal([-1, -1, -1], results);
        Assert.Equal(-1, Classifier6Table.Build([]).Classify(new FlowKey6(1, 2, 3, 4, 6)));
    }

    [Fact]
    public void Invalid_rules_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => Classifier4Table.Build([Rule(0, 33, 0, 0, 0)]));
        Assert.Throws<ArgumentException>(() => Classifier4Table.Build([Rule(0, 0, 0, 0, 0, dportLo: 10, dportHi: 9)]));
        Assert.Throws<ArgumentException>(() => Classifier6Table.Build([new ClassifierRule6(0, 129, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0)]));
    }

    [Fact]
    public void Lower_priority_number_wins_and_ties_go_to_the_lower_index()
    {
        ClassifierRule4[] rules =
        [
            Rule(0x0A000000, 8, 0, 0, priority: 5),
            Rule(0x0A010000, 16, 0, 0, priority: 5),
            Rule(0x0A010100, 24, 0, 0, priority: -1),
            ClassifierRule4.Any(7, 99),
        ];
        var table = Classifier4Table.Build(rules);
        Assert.Equal(2, table.Classify(new FlowKey4(0x0A010101, 0, 1, 1, 6)));
        Assert.Equal(0, table.Classify(new FlowKey4(0x0A010201, 0, 1, 1, 6)));
        Assert.Equal(3, table.Classify(new FlowKey4(0x0B000000, 0, 1, 1, 6)));
        Assert.Equal(99u, table.Rules[3].Action);
    }

    [Fact]
    public void Prefix_host_bits_are_ignored()
    {
        var table = Classifier4Table.Build([Rule(0x0A0B0C0D, 8, 0xC0A80101, 24, 0)]);
        Assert.Equal(0, table.Classify(new FlowKey4(0x0A090909, 0xC0A801FE, 1, 1, 17)));
        Assert.Equal(-1, table.Classify(new FlowKey4(0x0B090909, 0xC0A801FE, 1, 1, 17)));
    }

    [Fact]
    public void Protocol_value_and_mask_follow_the_mask_bits()
    {
        // Mask 0x01 value 1: every odd protocol; mask 0xF0 value 0x10: protocols 16..31; mask 0: any.
        ClassifierRule4[] rules =
        [
            Rule(0, 0, 0, 0, 0, protocol: 1, protocolMask: 0x01),
            Rule(0, 0, 0, 0, 1, protocol: 0x1F, protocolMask: 0xF0),
            Rule(0, 0, 0, 0, 2, protocol: 6, protocolMask: 0xFF),
        ];
        var table = Classifier4Table.Build(rules);
        for (int p = 0; p < 256; p++)
        {
            var key = new FlowKey4(1, 2, 3, 4, (byte)p);
            int expected = (p & 1) == 1 ? 0 : p is >= 16 and < 32 ? 1 : p == 6 ? 2 : -1;
            Assert.Equal(expected, table.Classify(in key));
        }
    }

    [Fact]
    public void Port_range_ends_are_inclusive()
    {
        ClassifierRule4[] rules = [Rule(0, 0, 0, 0, 0, dportLo: 1024, dportHi: 2047), Rule(0, 0, 0, 0, 1, dportLo: 80, dportHi: 80)];
        var table = Classifier4Table.Build(rules);
        Assert.Equal(-1, table.Classify(new FlowKey4(0, 0, 0, 1023, 6)));
        Assert.Equal(0, table.Classify(new FlowKey4(0, 0, 0, 1024, 6)));
        Assert.Equal(0, table.Classify(new FlowKey4(0, 0, 0, 2047, 6)));
        Assert.Equal(-1, table.Classify(new FlowKey4(0, 0, 0, 2048, 6)));
        Assert.Equal(1, table.Classify(new FlowKey4(0, 0, 0, 80, 6)));
        Assert.Equal(-1, table.Classify(new FlowKey4(0, 0, 0, 81, 6)));
    }

    [Fact]
    public void Many_overlapping_rules_that_no_cut_separates_form_one_long_leaf()
    {
        // 9,000 nested destination port ranges, narrowest first: none covers a later one and all contain
        // port 30000, so they end up in one leaf longer than the node reference can count.
        var rules = new ClassifierRule4[9000];
        for (int i = 0; i < rules.Length; i++)
        {
            rules[i] = Rule(0, 0, 0, 0, i, dportLo: (ushort)(9000 - i), dportHi: (ushort)(56535 + i));
        }
        var keys = new List<FlowKey4>();
        foreach (int port in (int[])[0, 1, 2, 500, 4500, 8999, 9000, 9001, 30000, 56535, 56536, 60000, 65533, 65534, 65535])
        {
            keys.Add(new FlowKey4(7, 7, 7, (ushort)port, 6));
        }
        AssertAgrees(rules, [.. keys]);
    }

    [Fact]
    public void Rules_that_replicate_into_each_others_cuts_are_split_into_separate_trees()
    {
        // Exact source ports crossed with exact destination ports, all with wildcard addresses: one tree over
        // both would replicate every rule of one kind into every cut of the other.
        var random = new Random(7);
        var rules = new ClassifierRule4[6000];
        for (int i = 0; i < rules.Length; i++)
        {
            ushort port = (ushort)random.Next(65536);
            rules[i] = i % 2 == 0
                ? new ClassifierRule4(0, 0, 0, 0, port, port, 0, ushort.MaxValue, 6, 0xFF, i, 0)
                : new ClassifierRule4(0, 0, 0, 0, 0, ushort.MaxValue, port, port, 6, 0xFF, i, 0);
        }
        var keys = new List<FlowKey4>();
        for (int i = 0; i < 3000; i++)
        {
            ClassifierRule4 a = rules[random.Next(rules.Length)];
            ClassifierRule4 b = rules[random.Next(rules.Length)];
            keys.Add(new FlowKey4(1, 2, a.SrcPortLo, b.DstPortLo, 6));
            keys.Add(new FlowKey4(1, 2, (ushort)random.Next(65536), (ushort)random.Next(65536), 6));
        }
        var table = Classifier4Table.Build(rules);
        Assert.True(table.TreeCount >= 2, $"{table.TreeCount} trees");
        AssertAgrees(rules, [.. keys]);
    }

    [Fact]
    public void Build_is_deterministic()
    {
        ClassifierRule4[] rules = ClassifierTestData.Rules("fw1_1000").Rules;
        Assert.Equal(Classifier4Table.Build(rules).Fingerprint(), Classifier4Table.Build(rules).Fingerprint());
        var rules6 = new ClassifierRule6[rules.Length];
        for (int i = 0; i < rules.Length; i++)
        {
            ClassifierRule4 r = rules[i];
            rules6[i] = new ClassifierRule6((UInt128)r.SrcPrefix << 96, r.SrcPrefixLength, (UInt128)r.DstPrefix << 96, r.DstPrefixLength,
                r.SrcPortLo, r.SrcPortHi, r.DstPortLo, r.DstPortHi, r.Protocol, r.ProtocolMask, r.Priority, r.Action);
        }
        Assert.Equal(Classifier6Table.Build(rules6).Fingerprint(), Classifier6Table.Build(rules6).Fingerprint());
    }

    [Fact]
    public void IPv6_table_agrees_with_IPv4_table_on_embedded_addresses()
    {
        // The same rule set with addresses in the top 32 bits of IPv6: the answers must be identical.
        ClassifierRule4[] rules = ClassifierTestData.Rules("ipc1_1000").Rules;
        var rules6 = new ClassifierRule6[rules.Length];
        for (int i = 0; i < rules.Length; i++)
        {
            ClassifierRule4 r = rules[i];
            rules6[i] = new ClassifierRule6((UInt128)r.SrcPrefix << 96, r.SrcPrefixLength, (UInt128)r.DstPrefix << 96, r.DstPrefixLength,
                r.SrcPortLo, r.SrcPortHi, r.DstPortLo, r.DstPortHi, r.Protocol, r.ProtocolMask, r.Priority, r.Action);
        }
        var table4 = Classifier4Table.Build(rules);
        var table6 = Classifier6Table.Build(rules6);
        FlowKey4[] keys = ClassifierTestData.KeysAround(rules, 3);
        var keys6 = new FlowKey6[keys.Length];
        for (int i = 0; i < keys.Length; i++)
        {
            keys6[i] = new FlowKey6(((UInt128)keys[i].Src << 96) | (uint)i, ((UInt128)keys[i].Dst << 96) | 5, keys[i].SrcPort, keys[i].DstPort, keys[i].Protocol);
        }
        var results4 = new int[keys.Length];
        var results6 = new int[keys.Length];
        table4.Classify(keys, results4);
        table6.Classify(keys6, results6);
        Assert.Equal(results4, results6);
    }

    [Fact]
    public void Concurrent_readers_get_the_same_answers()
    {
        ClassifierRule4[] rules = ClassifierTestData.Rules("acl1_1000").Rules;
        FlowKey4[] keys = ClassifierTestData.Trace("acl1_1000_trace").Keys;
        var table = Classifier4Table.Build(rules);
        var expected = new int[keys.Length];
        table.Classify(keys, expected);
        var mismatches = 0;
        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, worker =>
        {
            var results = new int[keys.Length];
            for (int round = 0; round < 3; round++)
            {
                table.Classify(keys, results);
                for (int i = worker; i < keys.Length; i += 4)
                {
                    if (results[i] != expected[i] || table.Classify(in keys[i]) != expected[i])
                    {
                        Interlocked.Increment(ref mismatches);
                    }
                }
            }
        });
        Assert.Equal(0, mismatches);
    }
}
