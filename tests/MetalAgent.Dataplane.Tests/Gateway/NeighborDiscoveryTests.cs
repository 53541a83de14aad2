using System.Buffers.Binary;
using System.Net;
using MetalAgent.Model.V1;
using MetalAgent.Packets;
using PacketDotNet;
using PacketDotNet.Ndp;
using static MetalAgent.Dataplane.Tests.Gateway.GatewayFrames;
using static MetalAgent.Dataplane.Tests.TestFrames;

namespace MetalAgent.Dataplane.Tests.Gateway;

/// <summary>The gateway's IPv6 neighbor discovery: NS for fe80::1 answered, RS answered with an RA
/// carrying M and O, MTU, source link-layer and RDNSS; RFC 4861 validity checks as named drops.</summary>
public class NeighborDiscoveryTests
{
    [Fact]
    public void Solicitation_for_the_gateway_gets_a_neighbor_advertisement_of_the_port_mac()
    {
        using var f = new PipelineFixture(learnA: false);
        byte[] reply = f.Expect("vm-a", NeighborSolicitation(VmMacA, LinkLocalA, GatewayIPv6), "vm-a");

        var eth = Parse(reply);
        Assert.Equal(VmMacA, eth.DestinationHardwareAddress);
        Assert.Equal(GatewayMac("vm-a"), eth.SourceHardwareAddress);
        var ip = (IPv6Packet)eth.PayloadPacket;
        Assert.Equal(IPAddress.Parse(GatewayIPv6), ip.SourceAddress);
        Assert.Equal(IPAddress.Parse(LinkLocalA), ip.DestinationAddress);
        Assert.Equal(255, ip.HopLimit);
        var icmp = (IcmpV6Packet)ip.PayloadPacket;
        Assert.Equal(IcmpV6Type.NeighborAdvertisement, icmp.Type);
        Assert.Equal(0, icmp.Code);
        Assert.Equal(0xFFFF, Icmp6Sum(reply.AsSpan(14)));
        var na = (NdpNeighborAdvertisementPacket)icmp.PayloadPacket;
        Assert.True(na.Router);
        Assert.True(na.Solicited);
        Assert.True(na.Override);
        Assert.Equal(IPAddress.Parse(GatewayIPv6), na.TargetAddress);
        var option = Assert.Single(na.OptionsCollection);
        Assert.Equal(OptionTypes.TargetLinkLayerAddress, option.Type);
        Assert.Equal(GatewayMac("vm-a"), ((NdpLinkLayerAddressOption)option).LinkLayerAddress);
        Assert.Equal(14 + 40 + 32, reply.Length);
    }

    [Fact]
    public void Solicitation_teaches_the_vm_mac()
    {
        using var f = new PipelineFixture(learnA: false);
        f.Expect("vm-a", NeighborSolicitation(VmMacA, LinkLocalA, GatewayIPv6), "vm-a");
        // Anti-spoofing now knows vm-a's MAC.
        f.ExpectDrop("vm-a", Eth(VmMacC, Any, Udp("10.0.0.1", "10.0.0.3", 1, 2)), "spoofed_mac");
        f.Expect("vm-a", Eth(VmMacA, Any, Udp("10.0.0.1", "10.0.0.3", 1, 2)), "uplink0");
    }

    [Fact]
    public void Unicast_solicitation_without_link_layer_option_is_answered_to_the_ethernet_source()
    {
        using var f = new PipelineFixture(learnA: false);
        byte[] reply = f.Expect("vm-a", NeighborSolicitation(VmMacA, LinkLocalA, GatewayIPv6, sourceLinkLayer: false, dst: GatewayIPv6), "vm-a");
        Assert.Equal(VmMacA, Parse(reply).DestinationHardwareAddress);
        Assert.Equal(IPAddress.Parse(LinkLocalA), ((IPv6Packet)Parse(reply).PayloadPacket).DestinationAddress);
    }

    [Fact]
    public void Solicitation_from_the_unspecified_address_is_answered_to_all_nodes_unsolicited()
    {
        using var f = new PipelineFixture(learnA: false);
        byte[] reply = f.Expect("vm-a", NeighborSolicitation(VmMacA, "::", GatewayIPv6, sourceLinkLayer: false), "vm-a");
        var eth = Parse(reply);
        Assert.Equal(AllNodesMac, eth.DestinationHardwareAddress);
        var ip = (IPv6Packet)eth.PayloadPacket;
        Assert.Equal(IPAddress.Parse("ff02::1"), ip.DestinationAddress);
        var na = (NdpNeighborAdvertisementPacket)((IcmpV6Packet)ip.PayloadPacket).PayloadPacket;
        Assert.False(na.Solicited);
        Assert.True(na.Router);
        Assert.Equal(0xFFFF, Icmp6Sum(reply.AsSpan(14)));
    }

    [Fact]
    public void Duplicate_address_detection_of_the_vm_own_address_is_not_answered() =>
        new PipelineFixture(learnA: false).ExpectDrop("vm-a", NeighborSolicitation(VmMacA, "::", "fd00::1", sourceLinkLayer: false), "nd_target_not_gateway");

    [Fact]
    public void Solicitation_for_another_address_is_dropped() =>
        new PipelineFixture(learnA: false).ExpectDrop("vm-a", NeighborSolicitation(VmMacA, LinkLocalA, "fe80::2"), "nd_target_not_gateway");

    [Fact]
    public void Solicitation_with_a_hop_limit_below_255_is_dropped() =>
        new PipelineFixture(learnA: false).ExpectDrop("vm-a", NeighborSolicitation(VmMacA, LinkLocalA, GatewayIPv6, hopLimit: 64), "nd_bad_hop_limit");

    [Fact]
    public void Solicitation_with_a_bad_checksum_is_dropped()
    {
        byte[] frame = NeighborSolicitation(VmMacA, LinkLocalA, GatewayIPv6);
        frame[14 + 40 + 2] ^= 0x55;
        new PipelineFixture(learnA: false).ExpectDrop("vm-a", frame, "gateway_bad_checksum");
    }

    [Fact]
    public void Solicitation_from_the_unspecified_address_with_a_link_layer_option_is_dropped() =>
        new PipelineFixture(learnA: false).ExpectDrop("vm-a", NeighborSolicitation(VmMacA, "::", GatewayIPv6, sourceLinkLayer: true), "nd_malformed");

    [Fact]
    public void Solicitation_with_a_nonzero_code_is_dropped()
    {
        byte[] body = [135, 1, 0, 0, 0, 0, 0, 0, .. IPAddress.Parse(GatewayIPv6).GetAddressBytes()];
        new PipelineFixture(learnA: false).ExpectDrop("vm-a", Icmp6(VmMacA, LinkLocalA, "ff02::1:ff00:1", body), "nd_malformed");
    }

    [Fact]
    public void Solicitation_with_a_zero_length_option_is_dropped()
    {
        byte[] body = [135, 0, 0, 0, 0, 0, 0, 0, .. IPAddress.Parse(GatewayIPv6).GetAddressBytes(), 1, 0, 0, 0, 0, 0, 0, 0];
        new PipelineFixture(learnA: false).ExpectDrop("vm-a", Icmp6(VmMacA, LinkLocalA, "ff02::1:ff00:1", body), "nd_malformed");
    }

    [Fact]
    public void Pinned_mac_is_enforced_on_solicitations()
    {
        using var f = new PipelineFixture(learnA: false);
        // vm-b's MAC is pinned to 52:54:00:00:00:0b.
        f.ExpectDrop("vm-b", NeighborSolicitation(VmMacA, LinkLocalB, GatewayIPv6), "spoofed_mac");
        f.Expect("vm-b", NeighborSolicitation(VmMacB, LinkLocalB, GatewayIPv6), "vm-b");
    }

    [Fact]
    public void Router_solicitation_gets_a_router_advertisement_with_m_and_o()
    {
        using var f = new PipelineFixture(learnA: false);
        byte[] reply = f.Expect("vm-a", RouterSolicitation(VmMacA, LinkLocalA), "vm-a");
        var eth = Parse(reply);
        Assert.Equal(VmMacA, eth.DestinationHardwareAddress);
        Assert.Equal(GatewayMac("vm-a"), eth.SourceHardwareAddress);
        var ip = (IPv6Packet)eth.PayloadPacket;
        Assert.Equal(IPAddress.Parse(GatewayIPv6), ip.SourceAddress);
        Assert.Equal(IPAddress.Parse(LinkLocalA), ip.DestinationAddress);
        AssertRouterAdvertisement(reply, "vm-a", dnsServers: []);
    }

    [Fact]
    public void Router_solicitation_from_the_unspecified_address_is_answered_to_all_nodes()
    {
        using var f = new PipelineFixture(learnA: false);
        byte[] reply = f.Expect("vm-a", RouterSolicitation(VmMacA, "::"), "vm-a");
        var eth = Parse(reply);
        Assert.Equal(AllNodesMac, eth.DestinationHardwareAddress);
        Assert.Equal(IPAddress.Parse("ff02::1"), ((IPv6Packet)eth.PayloadPacket).DestinationAddress);
        AssertRouterAdvertisement(reply, "vm-a", dnsServers: []);
    }

    [Fact]
    public void Router_advertisement_carries_the_ipv6_dns_servers()
    {
        HostSpec spec = TestHost.Spec();
        spec.Host.DnsServers.Add("2001:db8::53");
        spec.Host.DnsServers.Add("2001:db8::54");
        using var f = new PipelineFixture(spec, learnA: false);
        byte[] reply = f.Expect("vm-a", RouterSolicitation(VmMacA, LinkLocalA), "vm-a");
        AssertRouterAdvertisement(reply, "vm-a", dnsServers: ["2001:db8::53", "2001:db8::54"]);
    }

    [Fact]
    public void Router_solicitation_with_a_hop_limit_below_255_is_dropped() =>
        new PipelineFixture(learnA: false).ExpectDrop("vm-a", RouterSolicitation(VmMacA, LinkLocalA, hopLimit: 1), "nd_bad_hop_limit");

    [Fact]
    public void Router_advertisements_and_redirects_from_the_vm_are_dropped()
    {
        using var f = new PipelineFixture(learnA: false);
        f.ExpectDrop("vm-a", Icmp6(VmMacA, LinkLocalA, "ff02::1", [134, 0, 0, 0, 64, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), "unsupported_neighbor_discovery");
        f.ExpectDrop("vm-a", Icmp6(VmMacA, LinkLocalA, "ff02::1", [136, 0, 0, 0, 0x20, 0, 0, 0, .. IPAddress.Parse(LinkLocalA).GetAddressBytes()]), "unsupported_neighbor_discovery");
    }

    [Fact]
    public void Multicast_listener_reports_are_dropped() =>
        new PipelineFixture(learnA: false).ExpectDrop("vm-a", Icmp6(VmMacA, LinkLocalA, "ff02::16", [143, 0, 0, 0, 0, 0, 0, 0], hopLimit: 1), "multicast_listener_discovery");

    /// <summary>Checks an RA field by field: PacketDotNet for the header and the options it knows,
    /// our reader for the option list (RDNSS included) and the absence of prefix information.</summary>
    internal static void AssertRouterAdvertisement(byte[] frame, string port, string[] dnsServers)
    {
        var eth = Parse(frame);
        Assert.Equal(GatewayMac(port), eth.SourceHardwareAddress);
        var ip = (IPv6Packet)eth.PayloadPacket;
        Assert.Equal(IPAddress.Parse(GatewayIPv6), ip.SourceAddress);
        Assert.Equal(255, ip.HopLimit);
        var icmp = (IcmpV6Packet)ip.PayloadPacket;
        Assert.Equal(IcmpV6Type.RouterAdvertisement, icmp.Type);
        Assert.Equal(0xFFFF, Icmp6Sum(frame.AsSpan(14)));
        var ra = (NdpRouterAdvertisementPacket)icmp.PayloadPacket;
        Assert.Equal(64, ra.CurrentHopLimit);
        Assert.True(ra.ManagedAddressConfiguration);
        Assert.True(ra.OtherConfiguration);
        Assert.Equal(1800, ra.RouterLifetime);
        Assert.Equal(0u, ra.ReachableTime);
        Assert.Equal(0u, ra.RetransmitTimer);

        Assert.Equal(frame.Length - 54, ip.PayloadLength);
        byte[] message = frame[54..];
        Assert.Equal(NdError.None, NdMessage.TryParse(message, out NdMessage nd));
        var types = new List<byte>();
        foreach (NdOption option in nd.GetOptions())
        {
            types.Add(option.Type);
        }
        byte[] expectedTypes = dnsServers.Length > 0 ? [1, 5, 25] : [1, 5];
        Assert.Equal(expectedTypes, types);
        Assert.True(nd.TryGetSourceLinkLayerAddress(out ulong sourceMac));
        Assert.Equal(GatewayMac(port), Mac(sourceMac));
        Assert.True(nd.TryGetMtu(out uint mtu));
        Assert.Equal(1500u, mtu);
        NdpLinkLayerAddressOption sll = ra.OptionsCollection.OfType<NdpLinkLayerAddressOption>().Single();
        Assert.Equal(GatewayMac(port), sll.LinkLayerAddress);
        Assert.Equal(1500u, ra.OptionsCollection.OfType<NdpMtuOption>().Single().Mtu);
        if (dnsServers.Length > 0)
        {
            Assert.True(nd.TryGetOption(25, out ReadOnlySpan<byte> rdnss));
            Assert.Equal((8 + (16 * dnsServers.Length) - 2), rdnss.Length);
            Assert.Equal(0, BinaryPrimitives.ReadUInt16BigEndian(rdnss));
            Assert.Equal(1800u, BinaryPrimitives.ReadUInt32BigEndian(rdnss[2..]));
            for (int i = 0; i < dnsServers.Length; i++)
            {
                Assert.Equal(IPAddress.Parse(dnsServers[i]), new IPAddress(rdnss.Slice(6 + (16 * i), 16)));
            }
        }
    }
}
