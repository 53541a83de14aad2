using static MetalAgent.Dataplane.Tests.Gateway.GatewayFrames;
using static MetalAgent.Dataplane.Tests.TestFrames;

namespace MetalAgent.Dataplane.Tests.Gateway;

/// <summary>Gateway answers are written into the request's pool buffer: a worker round answering
/// ARP, ping, ND and DHCP, and the timer round sending advertisements, allocate nothing.</summary>
public class GatewayAllocationTests
{
    [Fact]
    public void Answering_gateway_requests_allocates_nothing()
    {
        using var d = new MemoryDataplane();
        byte[][] requests =
        [
            ArpRequest(VmMacA, "10.0.0.1"),
            NeighborSolicitation(VmMacA, LinkLocalA, GatewayIPv6),
            RouterSolicitation(VmMacA, LinkLocalA),
            Eth(VmMacA, GatewayMac("vm-a"), Echo("10.0.0.1", "169.254.0.1", id: 5)),
            Dhcp4Frame(VmMacA, Dhcp4(VmMacA, Type4(1), RequestList())),
            Dhcp4Frame(VmMacA, Dhcp4(VmMacA, Type4(3), Ip4Option(50, "10.0.0.1"), Ip4Option(54, "169.254.0.1"))),
            Dhcp4Frame(VmMacA, Dhcp4(VmMacA, Type4(3), Ip4Option(50, "10.0.0.9"))),
            Dhcp6Frame(VmMacA, LinkLocalA, Dhcp6(1, ClientId6(VmMacA), ElapsedTime6(), IaNa(), OptionRequest6())),
            Dhcp6Frame(VmMacA, LinkLocalA, Dhcp6(3, ClientId6(VmMacA), ServerId6(GatewayMac("vm-a")), IaNa("fd00::1"))),
            Dhcp6Frame(VmMacB, LinkLocalB, Dhcp6(1, ClientId6(VmMacB), Option6(14), IaNa())),
        ];
        int[] ports = requests.Select((_, i) => i == requests.Length - 1 ? 1 : 0).ToArray();

        void Round()
        {
            for (int i = 0; i < requests.Length; i++)
            {
                d.Port(ports[i] == 0 ? "vm-a" : "vm-b").Inject(requests[i]);
            }
        }

        // Warm up (tiered JIT, first attach, first advertisements).
        for (int i = 0; i < 3; i++)
        {
            Round();
            d.Dataplane.Drain();
            d.Dataplane.RunTimers();
        }
        d.TakeAll();

        const int Rounds = 50;
        long allocated = 0;
        for (int i = 0; i < Rounds; i++)
        {
            Round();
            d.Dataplane.Clock.Advance(60);
            long before = GC.GetAllocatedBytesForCurrentThread();
            d.Dataplane.Drain();
            d.Dataplane.RunTimers();
            allocated += GC.GetAllocatedBytesForCurrentThread() - before;
        }

        Assert.Equal(0, allocated);
        Dictionary<string, List<byte[]>> sent = d.TakeAll();
        // Every request answered, plus one advertisement per VM port per round.
        Assert.Equal((Rounds * (requests.Length - 1)) + Rounds, sent["vm-a"].Count);
        Assert.Equal(Rounds + Rounds, sent["vm-b"].Count);
        Assert.Equal(Rounds, sent["vm-c"].Count);
    }
}
