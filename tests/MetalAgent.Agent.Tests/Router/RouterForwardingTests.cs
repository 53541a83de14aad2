using MetalAgent.Agent.Router;
using MetalAgent.ControlPlane.V1;
using PacketDotNet;
using static MetalAgent.Agent.Tests.Router.RouterFixture;
using static MetalAgent.Agent.Tests.Router.TestRouterFrames;

namespace MetalAgent.Agent.Tests.Router;

/// <summary>Decapsulation towards the internet and encapsulation towards the owners of public IPs,
/// packet in, exact packet out.</summary>
public class RouterForwardingTests
{
    private const int U = RouterPipeline.UnderlayPort;
    private const int I = RouterPipeline.InternetPort;

    [Fact]
    public void Ip_in_ipv6_to_the_router_leaves_on_the_internet_link_with_ttl_decremented()
    {
        using var r = new RouterFixture();
        r.LearnNeighbors();
        byte[] inner = Udp("203.0.113.10", Server4, 40000, 53).Bytes;
        var (underlay, internet) = r.Inject(U, Underlay(UnderlayGatewayMac, r.UnderlayMac, "fc00:1:a::10", UnderlayAddress, inner, flowLabel: 0x12345));
        Assert.Empty(underlay);
        Assert.Equal(Eth(r.InternetMac, ServerMac, Decremented(inner)), Assert.Single(internet));

        byte[] inner6 = Tcp("2001:db8:ffff::10", Server6, 40000, 443).Bytes;
        internet = r.Inject(U, Underlay(UnderlayGatewayMac, r.UnderlayMac, "fc00:1:a::11", UnderlayAddress, inner6)).Internet;
        Assert.Equal(Eth(r.InternetMac, ServerMac, Decremented(inner6)), Assert.Single(internet));
        Assert.Equal(2, r.Counters.DecapsulatedPackets);
    }

    [Fact]
    public void Decapsulated_packet_waits_for_arp_and_leaves_when_the_server_answers()
    {
        using var r = new RouterFixture();
        byte[] inner = Udp("203.0.113.10", "198.51.100.8", 40000, 53).Bytes;
        var (_, internet) = r.Inject(U, Underlay(UnderlayGatewayMac, r.UnderlayMac, "fc00:1:a::10", UnderlayAddress, inner));
        Assert.Equal(Arp(1, r.InternetMac, Internet4, Frames.Mac(0), "198.51.100.8"), Assert.Single(internet));
        Assert.Equal(1, r.Pipeline.PendingCount);

        var serverMac = System.Net.NetworkInformation.PhysicalAddress.Parse("02-00-00-00-77-08");
        internet = r.Inject(I, Arp(2, serverMac, "198.51.100.8", r.InternetMac, Internet4)).Internet;
        Assert.Equal(Eth(r.InternetMac, serverMac, Decremented(inner)), Assert.Single(internet));
        Assert.Equal(0, r.Pipeline.PendingCount);
    }

    [Fact]
    public void Waiting_packets_are_dropped_when_the_next_hop_never_answers()
    {
        using var r = new RouterFixture();
        int free = r.Worker.FreeBuffers;
        r.Inject(U, Underlay(UnderlayGatewayMac, r.UnderlayMac, "fc00:1:a::10", UnderlayAddress, Udp("203.0.113.10", "198.51.100.8", 1, 2).Bytes));
        for (int s = 1; s <= 4; s++)
        {
            r.Clock.Advance(1);
            r.Worker.RunTimers();
        }
        Assert.Equal(1, r.Counters.Drops(RouterDropReason.NeighborTimeout));
        Assert.Equal(free, r.Worker.FreeBuffers);
        // Asked again every second while the packet waited.
        Assert.True(r.Take().Internet.Count >= 3);
    }

    [Theory]
    [InlineData("10.0.0.1", "fc00:1:a::10", UnderlayAddress, 64, RouterDropReason.SourceNotPublic)]
    [InlineData("203.0.113.10", "fc00:1:a::10", "fc00:ffff::2", 64, RouterDropReason.UnknownUnderlayDestination)]
    [InlineData("203.0.113.10", "fc00:1:a::10", UnderlayAddress, 1, RouterDropReason.TtlExpired)]
    public void Decapsulation_refuses(string innerSource, string outerSource, string outerDestination, int ttl, RouterDropReason reason)
    {
        using var r = new RouterFixture();
        r.LearnNeighbors();
        var (underlay, internet) = r.Inject(U, Underlay(UnderlayGatewayMac, r.UnderlayMac, outerSource, outerDestination, Udp(innerSource, Server4, 1, 2, ttl).Bytes));
        Assert.Empty(underlay);
        Assert.Empty(internet);
        Assert.Equal(1, r.Counters.Drops(reason));
    }

    [Fact]
    public void Decapsulated_packet_off_the_internet_link_needs_a_gateway()
    {
        using var r = new RouterFixture();
        r.LearnNeighbors();
        r.Inject(U, Underlay(UnderlayGatewayMac, r.UnderlayMac, "fc00:1:a::10", UnderlayAddress, Udp("203.0.113.10", "192.0.2.1", 1, 2).Bytes));
        Assert.Equal(1, r.Counters.Drops(RouterDropReason.NoInternetRoute));

        var errors = new List<string>();
        RouterSpec spec = RouterSpec.Parse(UnderlayAddress, UnderlayGateway, null, [Internet4 + "/24"], ["198.51.100.1"], 0, errors);
        using var g = new RouterFixture(spec);
        var gatewayMac = System.Net.NetworkInformation.PhysicalAddress.Parse("02-00-00-00-77-01");
        g.Inject(I, Arp(2, gatewayMac, "198.51.100.1", g.InternetMac, Internet4));
        byte[] inner = Udp("203.0.113.10", "192.0.2.1", 1, 2).Bytes;
        byte[] output = Assert.Single(g.Inject(U, Underlay(UnderlayGatewayMac, g.UnderlayMac, "fc00:1:a::10", UnderlayAddress, inner)).Internet);
        Assert.Equal(Eth(g.InternetMac, gatewayMac, Decremented(inner)), output);
    }

    [Fact]
    public void Packet_to_a_virtual_ip_is_encapsulated_to_its_owner()
    {
        using var r = new RouterFixture();
        r.LearnNeighbors();
        byte[] inner = Udp(Server4, "203.0.113.10", 53, 40000).Bytes;
        var (underlay, internet) = r.Inject(I, Eth(ServerMac, r.InternetMac, inner));
        Assert.Empty(internet);
        byte[] output = Assert.Single(underlay);
        uint label = FlowLabel(output);
        Assert.NotEqual(0u, label);
        Assert.Equal(Underlay(r.UnderlayMac, UnderlayGatewayMac, UnderlayAddress, "fc00:1:a::10", Decremented(inner), label), output);

        // The same flow gets the same label; IPv6 goes as next header 41.
        Assert.Equal(label, FlowLabel(Assert.Single(r.Inject(I, Eth(ServerMac, r.InternetMac, inner)).Underlay)));
        byte[] inner6 = Udp(Server6, "2001:db8:ffff::10", 53, 40000).Bytes;
        byte[] output6 = Assert.Single(r.Inject(I, Eth(ServerMac, r.InternetMac, inner6)).Underlay);
        Assert.Equal(Underlay(r.UnderlayMac, UnderlayGatewayMac, UnderlayAddress, "fc00:1:a::11", Decremented(inner6), FlowLabel(output6)), output6);
        Assert.Equal(3, r.Counters.EncapsulatedPackets);
    }

    [Fact]
    public void Encapsulated_packet_waits_for_the_underlay_gateway()
    {
        using var r = new RouterFixture();
        byte[] inner = Udp(Server4, "203.0.113.10", 53, 40000).Bytes;
        var (underlay, _) = r.Inject(I, Eth(ServerMac, r.InternetMac, inner));
        byte[] solicitation = Assert.Single(underlay);
        Assert.Equal(135, solicitation[54]);
        underlay = r.Inject(U, Advertisement(UnderlayGatewayMac, r.UnderlayMac, UnderlayGateway, UnderlayAddress, router: true)).Underlay;
        byte[] output = Assert.Single(underlay);
        Assert.Equal(Underlay(r.UnderlayMac, UnderlayGatewayMac, UnderlayAddress, "fc00:1:a::10", Decremented(inner), FlowLabel(output)), output);
    }

    [Fact]
    public void Load_balancer_flows_spread_over_owners_and_stick()
    {
        using var r = new RouterFixture();
        r.LearnNeighbors();
        var owners = new Dictionary<ushort, string>();
        for (ushort port = 30000; port < 30064; port++)
        {
            byte[] frame = Eth(ServerMac, r.InternetMac, Tcp(Server4, "203.0.113.20", port, 80).Bytes);
            owners[port] = OuterDestination(Assert.Single(r.Inject(I, frame).Underlay));
            Assert.Equal(owners[port], OuterDestination(Assert.Single(r.Inject(I, frame).Underlay)));
        }
        Assert.Equal(["fc00:1:a::20", "fc00:1:b::20"], owners.Values.Distinct().Order(StringComparer.Ordinal));

        // A third owner takes some flows; every other flow stays where it was.
        RouterViewUpdate view = View();
        view.Routes[1].Owners.Add(new PublicIpOwner { UnderlayAddress = "fc00:1:c::20", Host = "host-c" });
        r.SetView(view);
        int moved = 0;
        foreach ((ushort port, string before) in owners)
        {
            string after = OuterDestination(Assert.Single(r.Inject(I, Eth(ServerMac, r.InternetMac, Tcp(Server4, "203.0.113.20", port, 80).Bytes)).Underlay));
            Assert.True(after == before || after == "fc00:1:c::20", $"port {port} moved from {before} to {after}");
            moved += after == before ? 0 : 1;
        }
        Assert.InRange(moved, 1, 63);
    }

    [Theory]
    [InlineData((ushort)1024, "fc00:1:a::30")]
    [InlineData((ushort)2047, "fc00:1:a::30")]
    [InlineData((ushort)2048, "fc00:1:b::30")]
    [InlineData((ushort)3071, "fc00:1:b::30")]
    public void Nat_ip_goes_to_the_owner_of_the_port_slice(ushort port, string owner)
    {
        using var r = new RouterFixture();
        r.LearnNeighbors();
        byte[] output = Assert.Single(r.Inject(I, Eth(ServerMac, r.InternetMac, Udp(Server4, "203.0.113.30", 53, port).Bytes)).Underlay);
        Assert.Equal(owner, OuterDestination(output));
        // Echo replies by their identifier.
        output = Assert.Single(r.Inject(I, Eth(ServerMac, r.InternetMac, Echo4(Server4, "203.0.113.30", port, reply: true))).Underlay);
        Assert.Equal(owner, OuterDestination(output));
    }

    [Fact]
    public void Icmp_error_to_a_nat_ip_goes_to_the_owner_of_the_quoted_source_port()
    {
        using var r = new RouterFixture();
        r.LearnNeighbors();
        byte[] quoted = Udp("203.0.113.30", Server4, 2100, 53).Bytes;
        byte[] icmp = new byte[8 + quoted.Length];
        icmp[0] = 3;
        icmp[1] = 3;
        quoted.CopyTo(icmp, 8);
        byte[] error = Icmp4Packet(Server4, "203.0.113.30", icmp);
        Assert.Equal("fc00:1:b::30", OuterDestination(Assert.Single(r.Inject(I, Eth(ServerMac, r.InternetMac, error)).Underlay)));
    }

    [Fact]
    public void Internet_packets_nobody_owns_are_dropped_and_counted()
    {
        using var r = new RouterFixture();
        r.LearnNeighbors();
        Assert.Empty(r.Inject(I, Eth(ServerMac, r.InternetMac, Udp(Server4, "203.0.113.99", 53, 1024).Bytes)).Underlay);
        Assert.Empty(r.Inject(I, Eth(ServerMac, r.InternetMac, Udp(Server4, "203.0.113.40", 53, 1024).Bytes)).Underlay);
        Assert.Empty(r.Inject(I, Eth(ServerMac, r.InternetMac, Udp(Server4, "203.0.113.30", 53, 5000).Bytes)).Underlay);
        Assert.Empty(r.Inject(I, Eth(ServerMac, r.InternetMac, Udp(Server4, "203.0.113.10", 53, 1024, ttl: 1).Bytes)).Underlay);
        Assert.Equal(1, r.Counters.Drops(RouterDropReason.UnknownPublicIp));
        Assert.Equal(2, r.Counters.Drops(RouterDropReason.NoOwner));
        Assert.Equal(1, r.Counters.Drops(RouterDropReason.TtlExpired));
    }

    [Fact]
    public void Later_fragments_to_a_nat_ip_are_dropped()
    {
        using var r = new RouterFixture();
        r.LearnNeighbors();
        // Offset 16 * 8 bytes: this fragment carries no UDP header.
        byte[] fragment = Ip4Packet(Server4, "203.0.113.30", 17, [1, 2, 3, 4, 5, 6, 7, 8], flagsAndOffset: 16);
        Assert.Empty(r.Inject(I, Eth(ServerMac, r.InternetMac, fragment)).Underlay);
        Assert.Equal(1, r.Counters.Drops(RouterDropReason.NatFragment));
    }

    [Fact]
    public void Underlay_mtu_is_enforced_when_set()
    {
        var errors = new List<string>();
        RouterSpec spec = RouterSpec.Parse(UnderlayAddress, UnderlayGateway, "02:00:00:00:fe:01", [Internet4 + "/24"], [], 100, errors);
        using var r = new RouterFixture(spec);
        Assert.Single(r.Inject(I, Eth(ServerMac, r.InternetMac, Udp(Server4, "203.0.113.10", 53, 1024).Bytes)).Underlay); // 36 + 40 fits
        Assert.Equal(0, r.Counters.Drops(RouterDropReason.TooBigForUnderlay));
        var big = new UdpPacket(53, 1024) { PayloadData = new byte[100] };
        var ip = new IPv4Packet(System.Net.IPAddress.Parse(Server4), System.Net.IPAddress.Parse("203.0.113.10")) { TimeToLive = 64, PayloadPacket = big };
        ip.UpdateCalculatedValues();
        ip.UpdateIPChecksum();
        Assert.Empty(r.Inject(I, Eth(ServerMac, r.InternetMac, ip.Bytes)).Underlay);
        Assert.Equal(1, r.Counters.Drops(RouterDropReason.TooBigForUnderlay));
    }
}
