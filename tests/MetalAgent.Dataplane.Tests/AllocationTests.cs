using static MetalAgent.Dataplane.Tests.TestFrames;
using MetalAgent.Tests.Shared;

namespace MetalAgent.Dataplane.Tests;

/// <summary>Nothing on the packet path allocates: new and established flows on every main path
/// (local, remote, VirtualIP, NAT, load balancer, decapsulation) and the uplink's own neighbor
/// discovery and echo, measured on the worker's thread.</summary>
public class AllocationTests
{
    [Fact]
    public void The_packet_path_allocates_nothing()
    {
        using var h = new DataplaneHarness(TestHost.Spec(), workers: 1);
        h.Inject("vm-a", ArpRequest(VmMacA, "10.0.0.1"));
        byte[][] frames =
        [
            Eth(VmMacA, Any, Tcp("10.0.0.1", "10.0.0.2", 33000, 5432)),
            Eth(VmMacA, Any, Udp("10.0.0.1", "10.0.0.3", 1000, 53)),
            Eth(VmMacA, Any, Tcp("10.0.0.1", "198.51.100.7", 40000, 443)),
            Eth(VmMacB, Any, Udp("10.0.0.2", "198.51.100.7", 3001, 53)),
            Underlay(TestHost.Router, "fc00:1:a::20", Tcp("198.51.100.9", "203.0.113.20", 20000, 80)),
            Underlay("fc00:1:b::3", "fc00:1:a::1", Udp("10.0.0.3", "10.0.0.1", 53, 1000)),
            Eth(VmMacA, Any, Udp("10.0.0.9", "10.0.0.3", 1, 2)), // dropped: spoofed
            Gateway.GatewayFrames.NeighborSolicitation(RouterMac, "fe80::1", "fc00:1:a::1"), // answered from the uplink
            Eth(RouterMac, Any, Echo(TestHost.Router, "fc00:1:a::2", id: 7)), // echo to a local /128
        ];
        string[] ports = ["vm-a", "vm-a", "vm-a", "vm-b", "uplink0", "uplink0", "vm-a", "uplink0", "uplink0"];

        void Round()
        {
            for (int i = 0; i < frames.Length; i++)
            {
                h.Ports[ports[i]].Inject(frames[i]);
            }
            h.Dataplane.Drain();
            foreach (var port in h.Ports.Values)
            {
                port.DiscardSent();
            }
        }

        // Creates the flows and warms up past tiered compilation's call counting, then measures.
        AllocationProbe.AssertNone(Round, roundsPerWindow: 50, warmUp: 100);
        // Remote, VirtualIP and NAT leave by the uplink every round (the LB flow may pick the local target).
        Assert.True(h.Dataplane.Sum(c => c.TxPackets(h.Snapshot.FindPort("uplink0"))) >= 100 * 3);
        Assert.True(h.Dataplane.Sum(c => c.Drops(DropReason.SpoofedSource)) >= 100);
        // The solicitation and the echo request are answered every round.
        Assert.Equal(0, h.Dataplane.Sum(c => c.Drops(DropReason.UplinkNdTargetNotLocal) + c.Drops(DropReason.UplinkNdMalformed) + c.Drops(DropReason.UplinkIcmpV6Unsupported)));
    }
}
