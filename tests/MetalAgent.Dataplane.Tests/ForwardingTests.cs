using System.Net;
using System.Net.NetworkInformation;
using MetalAgent.Compiler;
using PacketDotNet;
using static MetalAgent.Dataplane.Tests.TestFrames;

namespace MetalAgent.Dataplane.Tests;

/// <summary>Routing, underlay encapsulation and decapsulation, gateway ARP and anti-spoofing: a frame
/// in, the exact frame (or drop reason) out.</summary>
public class ForwardingTests
{
    [Fact]
    public void Arp_for_the_gateway_is_answered_with_the_port_gateway_mac()
    {
        using var f = new PipelineFixture(learnA: false);
        byte[] reply = f.Expect("vm-a", ArpRequest(VmMacA, "10.0.0.1"), "vm-a");
        var eth = Parse(reply);
        var arp = (ArpPacket)eth.PayloadPacket;
        string gateway = Packets.Addresses.FormatMac(HostCompiler.GatewayMac("vm-a"));
        Assert.Equal(ArpOperation.Response, arp.Operation);
        Assert.Equal(IPAddress.Parse("169.254.0.1"), arp.SenderProtocolAddress);
        Assert.Equal(gateway.Replace(":", "").ToUpperInvariant(), arp.SenderHardwareAddress.ToString());
        Assert.Equal(VmMacA, arp.TargetHardwareAddress);
        Assert.Equal(IPAddress.Parse("10.0.0.1"), arp.TargetProtocolAddress);
        Assert.Equal(VmMacA, eth.DestinationHardwareAddress);
        Assert.True(reply.Length >= 60);
    }

    [Fact]
    public void Replies_to_a_connection_from_an_lb_alias_address_return_to_the_vm_that_opened_it()
    {
        Model.V1.HostSpec spec = TestHost.Spec();
        spec.PolicyRules[0].Peers.Add(new Model.V1.PolicyPeerSpec { Cidr = "203.0.113.20/32" });
        using var f = new PipelineFixture(spec);
        // vm-a owns 203.0.113.20 as an LB alias and opens a connection from it to vm-b on this host.
        f.Expect("vm-a", Eth(VmMacA, Any, Tcp("203.0.113.20", "10.0.0.2", 33000, 5432)), "vm-b");
        byte[] reply = f.Expect("vm-b", Eth(VmMacB, Any, Tcp("10.0.0.2", "203.0.113.20", 5432, 33000, syn: true, ack: true)), "vm-a");
        var ip = (IPv4Packet)Parse(reply).PayloadPacket;
        Assert.Equal(IPAddress.Parse("203.0.113.20"), ip.DestinationAddress);
    }

    [Fact]
    public void Arp_for_another_address_is_dropped() =>
        new PipelineFixture(learnA: false).ExpectDrop("vm-a", ArpRequest(VmMacA, "10.0.0.1", target: "10.0.0.2"), "arp_not_for_gateway");

    [Fact]
    public void Local_delivery_rewrites_ethernet_and_decrements_ttl()
    {
        using var f = new PipelineFixture();
        // TCP 5432 from 10.0.0.1 is what vm-b's ingress policy allows.
        IPPacket sent = Tcp("10.0.0.1", "10.0.0.2", 5000, 5432);
        byte[] output = f.Expect("vm-a", Eth(VmMacA, Any, sent), "vm-b");
        var eth = Parse(output);
        Assert.Equal(VmMacB, eth.DestinationHardwareAddress);
        Assert.Equal(Packets.Addresses.FormatMac(HostCompiler.GatewayMac("vm-b")).Replace(":", "").ToUpperInvariant(), eth.SourceHardwareAddress.ToString());
        var ip = (IPv4Packet)eth.PayloadPacket;
        Assert.Equal(63, ip.TimeToLive);
        Assert.True(ip.ValidIPChecksum);
        Assert.True(((TcpPacket)ip.PayloadPacket).ValidTcpChecksum);
        Assert.Equal(sent.PayloadPacket.Bytes, ip.PayloadPacket.Bytes);
    }

    [Fact]
    public void Remote_destination_is_encapsulated_to_the_route_next_hop()
    {
        using var f = new PipelineFixture();
        IPPacket sent = Udp("10.0.0.1", "10.0.0.3", 5000, 53);
        byte[] output = f.Expect("vm-a", Eth(VmMacA, Any, sent), "uplink0");
        var eth = Parse(output);
        Assert.Equal(PhysicalAddress.Parse("02-00-00-00-FF-01"), eth.DestinationHardwareAddress);
        var outer = (IPv6Packet)eth.PayloadPacket;
        Assert.Equal("fc00:1:a::1", OuterSource(output));
        Assert.Equal("fc00:1:b::3", OuterDestination(output));
        Assert.Equal(64, outer.HopLimit);
        Assert.Equal(4, output[14 + 6]);
        Assert.NotEqual(0, outer.FlowLabel);
        var inner = (IPv4Packet)Inner(output);
        Assert.Equal(63, inner.TimeToLive);
        Assert.True(inner.ValidIPChecksum);
        Assert.Equal(sent.PayloadPacket.Bytes, inner.PayloadPacket.Bytes);
        Assert.Equal(output.Length, 54 + sent.Bytes.Length);
    }

    [Fact]
    public void Same_flow_gets_the_same_flow_label_and_other_flows_differ()
    {
        using var f = new PipelineFixture();
        int Label(ushort port) => ((IPv6Packet)Parse(f.Expect("vm-a", Eth(VmMacA, Any, Udp("10.0.0.1", "10.0.0.3", port, 53)), "uplink0")).PayloadPacket).FlowLabel;
        Assert.Equal(Label(1000), Label(1000));
        var labels = new HashSet<int>();
        for (ushort p = 2000; p < 2016; p++)
        {
            labels.Add(Label(p));
        }
        Assert.True(labels.Count > 8);
    }

    [Fact]
    public void Underlay_traffic_to_an_interface_is_decapsulated_and_delivered()
    {
        using var f = new PipelineFixture();
        IPPacket sent = Udp("10.0.0.3", "10.0.0.1", 53, 5000);
        byte[] output = f.Expect("uplink0", Underlay("fc00:1:b::3", "fc00:1:a::1", sent), "vm-a");
        var eth = Parse(output);
        Assert.Equal(VmMacA, eth.DestinationHardwareAddress);
        Assert.Equal(sent.Bytes, eth.PayloadPacket.Bytes);
    }

    [Fact]
    public void Underlay_traffic_to_an_unknown_128_is_dropped() =>
        new PipelineFixture().ExpectDrop("uplink0", Underlay("fc00:1:b::3", "fc00:1:a::99", Udp("10.0.0.3", "10.0.0.1", 53, 5000)), "unknown_underlay_destination");

    [Fact]
    public void Underlay_traffic_that_is_not_ip_in_ipv6_is_dropped() =>
        new PipelineFixture().ExpectDrop("uplink0", Eth(RouterMac, Any, Udp("fc00:1:b::3", "fc00:1:a::1", 1, 2)), "not_ip_in_ip");

    [Fact]
    public void Isolated_network_reaches_nobody_with_the_same_address()
    {
        using var f = new PipelineFixture();
        // vm-c (10.0.0.1 in VNI 200) has only the default route and no public address.
        f.ExpectDrop("vm-c", Eth(VmMacC, Any, Udp("10.0.0.1", "10.0.0.2", 1, 2)), "no_public_address");
        // Underlay traffic for vm-a's /128 reaches vm-a, not vm-c.
        f.Expect("uplink0", Underlay("fc00:1:b::3", "fc00:1:a::1", Udp("10.0.0.3", "10.0.0.1", 53, 5000)), "vm-a");
    }

    [Fact]
    public void Peered_network_is_reachable_on_the_same_host()
    {
        using var f = new PipelineFixture();
        byte[] output = f.Expect("vm-a", Eth(VmMacA, Any, Udp("10.0.0.1", "10.1.0.1", 1000, 2000)), "vm-d");
        Assert.Equal(PhysicalAddress.Parse("52-54-00-00-00-0D"), Parse(output).DestinationHardwareAddress);
        // And the reply comes back through the same flow.
        f.Expect("vm-d", Eth(PhysicalAddress.Parse("52-54-00-00-00-0D"), Any, Udp("10.1.0.1", "10.0.0.1", 2000, 1000)), "vm-a");
    }

    [Fact]
    public void Spoofed_source_address_is_dropped() =>
        new PipelineFixture().ExpectDrop("vm-a", Eth(VmMacA, Any, Udp("10.0.0.9", "10.0.0.3", 1, 2)), "spoofed_source");

    [Fact]
    public void Spoofed_source_mac_is_dropped_once_the_mac_is_known() =>
        new PipelineFixture().ExpectDrop("vm-a", Eth(VmMacC, Any, Udp("10.0.0.1", "10.0.0.3", 1, 2)), "spoofed_mac");

    [Fact]
    public void Lb_alias_prefix_is_an_allowed_source()
    {
        using var f = new PipelineFixture();
        byte[] output = f.Expect("vm-a", Eth(VmMacA, Any, Tcp("203.0.113.20", "198.51.100.7", 80, 40000, syn: true, ack: true)), "uplink0");
        // Direct server return: never translated, sent to the router.
        Assert.Equal(TestHost.Router, OuterDestination(output));
        Assert.Equal(IPAddress.Parse("203.0.113.20"), ((IPv4Packet)Inner(output)).SourceAddress);
    }

    [Fact]
    public void Ttl_expiry_is_answered_to_the_sender_not_forwarded() =>
        new PipelineFixture().Expect("vm-a", Eth(VmMacA, Any, Udp("10.0.0.1", "10.0.0.3", 1, 2, ttl: 1)), "vm-a");

    [Fact]
    public void Malformed_frames_are_dropped_with_a_parse_reason()
    {
        using var f = new PipelineFixture();
        byte[] frame = Eth(VmMacA, Any, Udp("10.0.0.1", "10.0.0.3", 1, 2));
        f.ExpectDrop("vm-a", frame[..20], "parse_truncated_ipv4");
        frame[14] = 0x44; // IHL 4
        f.ExpectDrop("vm-a", frame, "parse_bad_ipv4_header_length");
    }
}
