using MetalAgent.Tables.Classifier;
using MetalAgent.Tests.Shared;

namespace MetalAgent.Tables.Tests.Classifier;

/// <summary>Lookups allocate nothing.</summary>
public sealed class ClassifierAllocationTests
{
    [Fact]
    public void IPv4_lookups_do_not_allocate()
    {
        var table = Classifier4Table.Build(ClassifierTestData.Rules("acl1_1000").Rules);
        FlowKey4[] keys = ClassifierTestData.Trace("acl1_1000_trace").Keys;
        var results = new int[keys.Length];
        table.Classify(keys, results); // warm up
        int sum = 0;
        int round = 0;
        AllocationProbe.AssertNone(() =>
        {
            table.Classify(keys, results);
            sum += table.Classify(in keys[round++ % keys.Length]);
        }, roundsPerWindow: 20, warmUp: 5);
        Assert.NotEqual(0, sum + results[^1] + 1); // keep the results alive
    }

    [Fact]
    public void IPv6_lookups_do_not_allocate()
    {
        ClassifierRule4[] rules = ClassifierTestData.Rules("fw1_1000").Rules;
        var rules6 = new ClassifierRule6[rules.Length];
        for (int i = 0; i < rules.Length; i++)
        {
            ClassifierRule4 r = rules[i];
            rules6[i] = new ClassifierRule6((UInt128)r.SrcPrefix << 96, r.SrcPrefixLength, (UInt128)r.DstPrefix << 96, r.DstPrefixLength,
                r.SrcPortLo, r.SrcPortHi, r.DstPortLo, r.DstPortHi, r.Protocol, r.ProtocolMask, r.Priority, r.Action);
        }
        var table = Classifier6Table.Build(rules6);
        FlowKey4[] keys4 = ClassifierTestData.KeysAround(rules, 5);
        var keys = new FlowKey6[keys4.Length];
        for (int i = 0; i < keys.Length; i++)
        {
            keys[i] = new FlowKey6((UInt128)keys4[i].Src << 96, (UInt128)keys4[i].Dst << 96, keys4[i].SrcPort, keys4[i].DstPort, keys4[i].Protocol);
        }
        var results = new int[keys.Length];
        table.Classify(keys, results);
        int sum = 0;
        int round = 0;
        AllocationProbe.AssertNone(() =>
        {
            table.Classify(keys, results);
            sum += table.Classify(in keys[round++ % keys.Length]);
        }, roundsPerWindow: 20, warmUp: 5);
        Assert.NotEqual(0, sum + results[^1] + 1);
    }
}
