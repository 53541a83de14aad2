using CsCheck;
using MetalAgent.Compiler;
using MetalAgent.Model.V1;
using MetalAgent.Tables.Snapshot;

namespace MetalAgent.Model.Tests.Compiler;

public class PolicyCompilerTests
{
    /// <summary>CIDR-minus-excepts becomes disjoint prefixes covering exactly the allowed addresses.</summary>
    [Fact]
    public void Except_blocks_are_subtracted_exactly()
    {
        Gen.Select(Gen.UInt, Gen.Byte[0, 24], Gen.Select(Gen.UInt, Gen.Byte[1, 32]).Array[0, 4], Gen.UInt.Array[64])
            .Sample((net, len, rawExcepts, probes) =>
            {
                uint mask = len == 0 ? 0 : uint.MaxValue << (32 - len);
                var whole = new SourcePrefix { IpVersion = 4, Network = net & mask, Length = len };
                var excepts = rawExcepts
                    .Where(e => e.Item2 > len)
                    .Select(e =>
                    {
                        uint m = uint.MaxValue << (32 - e.Item2);
                        // Put the except inside the whole block.
                        uint inside = ((uint)whole.Network & mask) | (e.Item1 & ~mask);
                        return new SourcePrefix { IpVersion = 4, Network = inside & m, Length = e.Item2 };
                    }).ToList();
                List<SourcePrefix> result = PolicyCompilerAccess.Subtract(whole, excepts);
                IEnumerable<uint> addresses = probes.Concat(excepts.Select(e => (uint)e.Network)).Concat([(uint)whole.Network]);
                foreach (uint a in addresses)
                {
                    bool expected = whole.Contains(4, a) && !excepts.Any(e => e.Contains(4, a));
                    int hits = result.Count(p => p.Contains(4, a));
                    Assert.Equal(expected ? 1 : 0, hits);
                }
            }, iter: 2000);
    }

    [Fact]
    public void Rules_compile_to_classifiers_per_interface_and_direction()
    {
        HostSpec spec = CompilerTests.ManyInterfaces(3, networks: 1, rulesPerInterface: 2);
        spec.PolicyRules[0].Peers[0].Except.Add("172.16.0.128/25");
        DataplaneSnapshot s = HostCompiler.Compile(spec).Snapshot;
        InterfacePolicy p = s.Policies[s.FindInterface("if-00000")];
        Assert.NotNull(p.Ingress4);
        Assert.Null(p.Egress4);
        Assert.Null(p.Ingress6);
        // 172.16.0.0/24 minus 172.16.0.128/25 is one /25 rule, plus the second rule.
        Assert.Equal(2, p.Ingress4!.Count);
        Assert.True(p.Ingress4.Classify(new Tables.Classifier.FlowKey4(0xAC100001, 0x0A000000, 1, 1000, 6)) >= 0);
        Assert.True(p.Ingress4.Classify(new Tables.Classifier.FlowKey4(0xAC100081, 0x0A000000, 1, 1000, 6)) < 0);
    }
}

internal static class PolicyCompilerAccess
{
    public static List<SourcePrefix> Subtract(SourcePrefix whole, List<SourcePrefix> excepts) => PolicyCompiler.Subtract(whole, excepts);
}
