using MetalAgent.Agent.Router;
using static MetalAgent.Agent.Tests.Router.RouterFixture;
using static MetalAgent.Agent.Tests.Router.TestRouterFrames;

namespace MetalAgent.Agent.Tests.Router;

/// <summary>The router owns its addresses on both links: ARP, neighbor solicitations and echo for them
/// are answered byte for byte as built here; its next hops are resolved by its own requests.</summary>
public class RouterNeighborTests
{
    private const int U = RouterPipeline.UnderlayPort;
    private const int I = RouterPipeline.InternetPort;

    [Fact]
    public void Solicitation_for_the_underlay_address_is_answered()
    {
        using var r = new RouterFixture();
        var (underlay, internet) = r.Inject(U, Solicitation(UnderlayGatewayMac, UnderlayGateway, UnderlayAddress));
        Assert.Empty(internet);
        byte[] expected = Icmp6(r.UnderlayMac, UnderlayGatewayMac, UnderlayAddress, UnderlayGateway, NdBody(136, 0xE0, UnderlayAddress, r.UnderlayMac));
        Assert.Equal(expected, Assert.Single(underlay));
        // The solicitation taught the router its next hop.
        Assert.Equal(Frames.Mac(0x0200_0000_FE01), Mac(r.Pipeline.NeighborMac(U, 6, Ip6(UnderlayGateway), 1000)));
    }

    [Fact]
    public void Solicitations_for_other_addresses_and_malformed_ones_are_dropped()
    {
        using var r = new RouterFixture();
        Assert.Empty(r.Inject(U, Solicitation(UnderlayGatewayMac, UnderlayGateway, "fc00:ffff::2")).Underlay);
        Assert.Empty(r.Inject(U, Solicitation(UnderlayGatewayMac, UnderlayGateway, Internet6)).Underlay);
        byte[] routed = Icmp6(UnderlayGatewayMac, MulticastMac(SolicitedNode(UnderlayAddress)), UnderlayGateway, SolicitedNode(UnderlayAddress),
            NdBody(135, 0, UnderlayAddress, UnderlayGatewayMac), hopLimit: 64);
        Assert.Empty(r.Inject(U, routed).Underlay);
        Assert.Equal(2, r.Counters.Drops(RouterDropReason.NeighborTargetNotLocal));
        Assert.Equal(1, r.Counters.Drops(RouterDropReason.NeighborMalformed));
    }

    [Fact]
    public void Arp_for_the_internet_address_is_answered_and_other_arp_is_not()
    {
        using var r = new RouterFixture();
        var (underlay, internet) = r.Inject(I, Arp(1, ServerMac, Server4, Frames.Mac(0), Internet4));
        Assert.Empty(underlay);
        Assert.Equal(Arp(2, r.InternetMac, Internet4, ServerMac, Server4), Assert.Single(internet));
        Assert.Empty(r.Inject(I, Arp(1, ServerMac, Server4, Frames.Mac(0), "198.51.100.9")).Internet);
        Assert.Equal(1, r.Counters.Drops(RouterDropReason.NeighborTargetNotLocal));
        // The request taught the router the server's MAC.
        Assert.Equal(ServerMac, Mac(r.Pipeline.NeighborMac(I, 4, Ip4(Server4), 1000)));
    }

    [Fact]
    public void Solicitation_for_the_internet_ipv6_address_is_answered()
    {
        using var r = new RouterFixture();
        byte[] answer = Assert.Single(r.Inject(I, Solicitation(ServerMac, Server6, Internet6)).Internet);
        Assert.Equal(Icmp6(r.InternetMac, ServerMac, Internet6, Server6, NdBody(136, 0xE0, Internet6, r.InternetMac)), answer);
    }

    [Fact]
    public void Echo_to_the_routers_addresses_is_answered()
    {
        using var r = new RouterFixture();
        byte[] reply4 = Assert.Single(r.Inject(I, Eth(ServerMac, r.InternetMac, Echo4(Server4, Internet4, id: 9, ttl: 60))).Internet);
        Assert.Equal(Eth(r.InternetMac, ServerMac, Echo4(Internet4, Server4, id: 9, reply: true)), reply4);

        byte[] request = [128, 0, 0, 0, 0, 9, 0, 1, 5, 5, 5, 5];
        byte[] answer = [129, 0, 0, 0, 0, 9, 0, 1, 5, 5, 5, 5];
        byte[] reply6 = Assert.Single(r.Inject(U, Icmp6(UnderlayGatewayMac, r.UnderlayMac, "fc00:1:a::1", UnderlayAddress, request, hopLimit: 63)).Underlay);
        Assert.Equal(Icmp6(r.UnderlayMac, UnderlayGatewayMac, UnderlayAddress, "fc00:1:a::1", answer, hopLimit: 64), reply6);
        Assert.Equal(2, r.Counters.AnsweredPackets);
    }

    [Fact]
    public void The_underlay_gateway_is_solicited_at_start_until_it_answers_then_every_30_seconds()
    {
        using var r = new RouterFixture();
        byte[] expected = Icmp6(r.UnderlayMac, MulticastMac(SolicitedNode(UnderlayGateway)), UnderlayAddress, SolicitedNode(UnderlayGateway),
            NdBody(135, 0, UnderlayGateway, r.UnderlayMac));

        r.Worker.RunTimers();
        Assert.Equal(expected, Assert.Single(r.Take().Underlay));
        r.Worker.RunTimers();
        Assert.Empty(r.Take().Underlay);
        r.Clock.Advance(1);
        r.Worker.RunTimers();
        Assert.Equal(expected, Assert.Single(r.Take().Underlay));

        r.Inject(U, Advertisement(UnderlayGatewayMac, r.UnderlayMac, UnderlayGateway, UnderlayAddress, router: true));
        for (int s = 0; s < 29; s++)
        {
            r.Clock.Advance(1);
            r.Worker.RunTimers();
        }
        Assert.Empty(r.Take().Underlay);
        r.Clock.Advance(1);
        r.Worker.RunTimers();
        Assert.Equal(expected, Assert.Single(r.Take().Underlay));
        Assert.Empty(r.Take().Internet);
    }

    [Fact]
    public void A_pinned_underlay_gateway_is_never_solicited()
    {
        var errors = new List<string>();
        RouterSpec spec = RouterSpec.Parse(UnderlayAddress, UnderlayGateway, "02:00:00:00:fe:01", [Internet4 + "/24"], [], 0, errors);
        using var r = new RouterFixture(spec);
        r.Worker.RunTimers();
        Assert.Empty(r.Take().Underlay);
        Assert.Equal(UnderlayGatewayMac, Mac(r.Pipeline.NeighborMac(U, 6, Ip6(UnderlayGateway), 1000)));
    }

    [Fact]
    public void A_configured_internet_gateway_is_resolved_by_arp()
    {
        var errors = new List<string>();
        RouterSpec spec = RouterSpec.Parse(UnderlayAddress, UnderlayGateway, "02:00:00:00:fe:01", [Internet4 + "/24"], ["198.51.100.1"], 0, errors);
        Assert.Empty(errors);
        using var r = new RouterFixture(spec);
        r.Worker.RunTimers();
        byte[] request = Assert.Single(r.Take().Internet);
        Assert.Equal(Arp(1, r.InternetMac, Internet4, Frames.Mac(0), "198.51.100.1"), request);
    }

    internal static UInt128 Ip6(string ip) => MetalAgent.Packets.Addresses.ToUInt128(System.Net.IPAddress.Parse(ip));

    internal static UInt128 Ip4(string ip) => MetalAgent.Packets.Addresses.ToUInt32(System.Net.IPAddress.Parse(ip));
}
