using MetalAgent.Agent.Router;
using static MetalAgent.Agent.Tests.Router.RouterFixture;
using static MetalAgent.Agent.Tests.Router.TestRouterFrames;

namespace MetalAgent.Agent.Tests.Router;

/// <summary>The router's packet path allocates nothing: decapsulation, encapsulation (VirtualIP, load
/// balancer, NAT), ARP and ND answers, waiting for and releasing a next hop, and timers.</summary>
public class RouterAllocationTests
{
    [Fact]
    public void Forwarding_answering_and_resolving_allocate_nothing()
    {
        using var r = new RouterFixture();
        r.LearnNeighbors();
        const int U = RouterPipeline.UnderlayPort, I = RouterPipeline.InternetPort;
        var waitingMac = System.Net.NetworkInformation.PhysicalAddress.Parse("02-00-00-00-77-08");
        // Every round the clock jumps past the neighbor lifetime, so every forwarded frame waits for its
        // next hop and is released by the neighbor traffic at the end of the round.
        (int Port, byte[] Frame)[] frames =
        [
            (U, Underlay(UnderlayGatewayMac, r.UnderlayMac, "fc00:1:a::10", UnderlayAddress, Udp("203.0.113.10", Server4, 40000, 53).Bytes)),
            (U, Underlay(UnderlayGatewayMac, r.UnderlayMac, "fc00:1:a::11", UnderlayAddress, Tcp("2001:db8:ffff::10", Server6, 40000, 443).Bytes)),
            (U, Underlay(UnderlayGatewayMac, r.UnderlayMac, "fc00:1:a::10", UnderlayAddress, Udp("203.0.113.10", "198.51.100.8", 40000, 53).Bytes)),
            (I, Eth(ServerMac, r.InternetMac, Udp(Server4, "203.0.113.10", 53, 40000).Bytes)),
            (I, Eth(ServerMac, r.InternetMac, Tcp(Server4, "203.0.113.20", 30000, 80).Bytes)),
            (I, Eth(ServerMac, r.InternetMac, Udp(Server4, "203.0.113.30", 53, 2100).Bytes)),
            (I, Eth(ServerMac, r.InternetMac, Udp(Server6, "2001:db8:ffff::10", 53, 40000).Bytes)),
            (I, Eth(ServerMac, r.InternetMac, Udp(Server4, "203.0.113.99", 53, 1).Bytes)),
            (I, Arp(2, waitingMac, "198.51.100.8", r.InternetMac, Internet4)),
            (I, Arp(1, ServerMac, Server4, Frames.Mac(0), Internet4)),
            (I, Solicitation(ServerMac, Server6, Internet6)),
        ];
        byte[] gatewaySolicitation = Solicitation(UnderlayGatewayMac, UnderlayGateway, UnderlayAddress);

        void Round()
        {
            r.Clock.Advance(NeighborState.ExpireAfter + 1);
            foreach ((int port, byte[] frame) in frames)
            {
                (port == U ? r.Underlay : r.Internet).Inject(frame);
            }
            r.Worker.PollOnce();
            r.Underlay.Inject(gatewaySolicitation);
            r.Worker.PollOnce();
            r.Worker.RunTimers();
            r.Underlay.DiscardSent();
            r.Internet.DiscardSent();
        }

        for (int i = 0; i < 100; i++)
        {
            Round();
        }
        var perWindow = new List<long>();
        for (int w = 0; w < 8 && (perWindow.Count < 2 || perWindow[^1] != 0); w++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 50; i++)
            {
                Round();
            }
            perWindow.Add(GC.GetAllocatedBytesForCurrentThread() - before);
        }
        Assert.True(perWindow[^1] == 0, $"bytes allocated per window of 50 rounds: {string.Join(", ", perWindow)}");
        long rounds = 100 + (50L * perWindow.Count);
        Assert.Equal(3 * rounds, r.Counters.DecapsulatedPackets);
        Assert.Equal(4 * rounds, r.Counters.EncapsulatedPackets);
        Assert.Equal(rounds, r.Counters.Drops(RouterDropReason.UnknownPublicIp));
        Assert.Equal(0, r.Pipeline.PendingCount);
        Assert.Equal(0, r.Counters.Drops(RouterDropReason.NeighborTimeout) + r.Counters.Drops(RouterDropReason.PendingFull));
        Assert.True(r.Counters.Solicitations >= 4 * rounds);
    }
}
