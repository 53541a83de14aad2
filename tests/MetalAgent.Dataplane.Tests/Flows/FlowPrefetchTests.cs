using MetalAgent.Dataplane.Flows;
using MetalAgent.Dataplane.Runtime;
using static MetalAgent.Dataplane.Tests.TestFrames;

namespace MetalAgent.Dataplane.Tests.Flows;

/// <summary>The burst prefetch derives each packet's flow key apart from the stages; if the two ever
/// disagree, lookups stay correct but lose their prefetch. Every path that looks up a flow is checked:
/// the key the prefetch hashed must be a key of the flow the packet created or hit.</summary>
public class FlowPrefetchTests
{
    public static TheoryData<string, string> Paths => new()
    {
        { "vm-a", "local delivery" },
        { "vm-a", "remote" },
        { "vm-a", "virtual ip out" },
        { "vm-b", "nat out" },
        { "uplink0", "to an interface" },
        { "uplink0", "virtual ip in" },
        { "uplink0", "load balancer" },
    };

    private static byte[] Frame(string path) => path switch
    {
        "local delivery" => Eth(VmMacA, Any, Tcp("10.0.0.1", "10.0.0.2", 33000, 5432)),
        "remote" => Eth(VmMacA, Any, Udp("10.0.0.1", "10.0.0.3", 1000, 2000)),
        "virtual ip out" => Eth(VmMacA, Any, Tcp("10.0.0.1", "198.51.100.7", 40000, 443)),
        "nat out" => Eth(VmMacB, Any, Udp("10.0.0.2", "198.51.100.7", 3001, 53)),
        "to an interface" => Underlay("fc00:1:b::3", "fc00:1:a::1", Udp("10.0.0.3", "10.0.0.1", 53, 1000)),
        "virtual ip in" => Underlay(TestHost.Router, "fc00:1:a::10", Tcp("198.51.100.9", "203.0.113.10", 20000, 22)),
        "load balancer" => Underlay(TestHost.Router, "fc00:1:a::20", Tcp("198.51.100.9", "203.0.113.20", 20000, 80)),
        _ => throw new ArgumentException(path),
    };

    [Theory]
    [MemberData(nameof(Paths))]
    public void The_prefetched_key_is_the_key_the_stages_use(string port, string path)
    {
        using var h = new DataplaneHarness(TestHost.Spec(), workers: 1);
        byte[] frame = Frame(path);
        ulong hash = FlowPrefetch.KeyHash(h.Snapshot, frame, h.Snapshot.FindPort(port));
        Assert.NotEqual(0UL, hash);
        h.Inject(port, frame);
        var finder = new HashFinder { Hash = hash };
        h.Dataplane.Conntrack.Table.ForEachLive(ref finder);
        Assert.True(h.Dataplane.Conntrack.Table.Count >= 1, "the packet made a flow");
        Assert.True(finder.Found, $"{path}: no flow holds the prefetched key");
    }

    [Fact]
    public void Packets_without_a_flow_key_are_not_prefetched()
    {
        using var h = new DataplaneHarness(TestHost.Spec(), workers: 1);
        Assert.Equal(0UL, FlowPrefetch.KeyHash(h.Snapshot, ArpRequest(VmMacA, "10.0.0.1"), h.Snapshot.FindPort("vm-a")));
        Assert.Equal(0UL, FlowPrefetch.KeyHash(h.Snapshot, Underlay(TestHost.Router, "fc00:1:a::99", Udp("1.2.3.4", "5.6.7.8", 1, 2)), h.Snapshot.FindPort("uplink0")));
        Assert.Equal(0UL, FlowPrefetch.KeyHash(h.Snapshot, new byte[10], h.Snapshot.FindPort("vm-a")));
    }

    private struct HashFinder : IFlowVisitor<FlowState>
    {
        public ulong Hash;
        public bool Found;

        public void Visit(int id, in FlowKey forward, in FlowKey reverse, ref FlowState value) =>
            Found |= forward.Hash() == Hash || reverse.Hash() == Hash;
    }
}
