using System.Net;
using PacketDotNet;
using static MetalAgent.Dataplane.Tests.TestFrames;

namespace MetalAgent.Dataplane.Tests;

/// <summary>VirtualIP, NAT gateway, neighbor NAT, load balancer and ICMP echo to host-owned
/// addresses: a frame in, the exact frame (or drop reason) out.</summary>
public class TranslationTests
{
    [Fact]
    public void VirtualIp_translates_outbound_and_back()
    {
        using var f = new PipelineFixture();
        byte[] output = f.Expect("vm-a", Eth(VmMacA, Any, Tcp("10.0.0.1", "198.51.100.7", 40000, 443)), "uplink0");
        Assert.Equal("fc00:1:a::10", OuterSource(output));
        Assert.Equal(TestHost.Router, OuterDestination(output));
        var inner = (IPv4Packet)Inner(output);
        Assert.Equal(IPAddress.Parse("203.0.113.10"), inner.SourceAddress);
        Assert.True(inner.ValidIPChecksum);
        var tcp = (TcpPacket)inner.PayloadPacket;
        Assert.Equal(40000, tcp.SourcePort);
        Assert.True(tcp.ValidTcpChecksum);

        byte[] reply = f.Expect("uplink0", Underlay(TestHost.Router, "fc00:1:a::10", Tcp("198.51.100.7", "203.0.113.10", 443, 40000, syn: true, ack: true)), "vm-a");
        var back = (IPv4Packet)Parse(reply).PayloadPacket;
        Assert.Equal(IPAddress.Parse("10.0.0.1"), back.DestinationAddress);
        Assert.True(back.ValidIPChecksum);
        Assert.True(((TcpPacket)back.PayloadPacket).ValidTcpChecksum);
    }

    [Fact]
    public void VirtualIp_accepts_new_inbound_flows_and_translates_the_replies()
    {
        using var f = new PipelineFixture();
        byte[] delivered = f.Expect("uplink0", Underlay(TestHost.Router, "fc00:1:a::10", Tcp("198.51.100.7", "203.0.113.10", 50000, 22)), "vm-a");
        var ip = (IPv4Packet)Parse(delivered).PayloadPacket;
        Assert.Equal(IPAddress.Parse("10.0.0.1"), ip.DestinationAddress);
        Assert.True(((TcpPacket)ip.PayloadPacket).ValidTcpChecksum);

        byte[] reply = f.Expect("vm-a", Eth(VmMacA, Any, Tcp("10.0.0.1", "198.51.100.7", 22, 50000, syn: true, ack: true)), "uplink0");
        var inner = (IPv4Packet)Inner(reply);
        Assert.Equal(IPAddress.Parse("203.0.113.10"), inner.SourceAddress);
        Assert.Equal("fc00:1:a::10", OuterSource(reply));
    }

    [Fact]
    public void Nat_gateway_translates_into_the_slice_and_back_and_counts_exhaustion()
    {
        using var f = new PipelineFixture();
        var ports = new List<ushort>();
        for (ushort p = 1; p <= 2; p++)
        {
            byte[] output = f.Expect("vm-b", Eth(VmMacB, Any, Udp("10.0.0.2", "198.51.100.7", (ushort)(3000 + p), 53)), "uplink0");
            Assert.Equal("fc00:1:a::30", OuterSource(output));
            var inner = (IPv4Packet)Inner(output);
            Assert.Equal(IPAddress.Parse("203.0.113.30"), inner.SourceAddress);
            var udp = (UdpPacket)inner.PayloadPacket;
            Assert.True(udp.ValidUdpChecksum);
            ports.Add(udp.SourcePort);
        }
        Assert.Equal(new ushort[] { 1024, 1025 }, ports.Order().ToArray());

        // Same destination, a third flow: the two-port slice is exhausted.
        f.ExpectDrop("vm-b", Eth(VmMacB, Any, Udp("10.0.0.2", "198.51.100.7", 3003, 53)), "nat_ports_exhausted");
        Assert.Equal(1, f.Runner.Dataplane.Sum(c => c.NatExhaustedOf(f.Compiled.Snapshot.FindInterface("vm-b"))));
        // A different destination may reuse a port (endpoint-dependent mapping).
        f.Expect("vm-b", Eth(VmMacB, Any, Udp("10.0.0.2", "198.51.100.8", 3003, 53)), "uplink0");

        // Existing flows are untouched: the reply to the first port comes back to vm-b.
        ushort port = ports[0];
        byte[] reply = f.Expect("uplink0", Underlay(TestHost.Router, "fc00:1:a::30", Udp("198.51.100.7", "203.0.113.30", 53, port)), "vm-b");
        var back = (IPv4Packet)Parse(reply).PayloadPacket;
        Assert.Equal(IPAddress.Parse("10.0.0.2"), back.DestinationAddress);
        var backUdp = (UdpPacket)back.PayloadPacket;
        Assert.True(backUdp.ValidUdpChecksum);
        Assert.True(backUdp.DestinationPort is 3001 or 3002);
    }

    [Fact]
    public void Nat_gateway_translates_icmp_echo_identifiers()
    {
        using var f = new PipelineFixture();
        byte[] output = f.Expect("vm-b", Eth(VmMacB, Any, Echo("10.0.0.2", "198.51.100.7", id: 77)), "uplink0");
        var inner = (IPv4Packet)Inner(output);
        var icmp = (IcmpV4Packet)inner.PayloadPacket;
        Assert.True(icmp.Id is 1024 or 1025);
        Assert.True(Packets.Checksums.VerifyIcmpV4(icmp.Bytes));
        byte[] reply = f.Expect("uplink0", Underlay(TestHost.Router, "fc00:1:a::30", Echo("198.51.100.7", "203.0.113.30", icmp.Id, reply: true)), "vm-b");
        var back = (IcmpV4Packet)((IPv4Packet)Parse(reply).PayloadPacket).PayloadPacket;
        Assert.Equal(77, back.Id);
        Assert.True(Packets.Checksums.VerifyIcmpV4(back.Bytes));
    }

    [Fact]
    public void Nat66_translates_ipv6_into_the_slice_and_back()
    {
        Model.V1.HostSpec spec = TestHost.Spec();
        spec.Interfaces[1].Ipv6 = "fd00::2";
        spec.Interfaces[1].NatIpv6 = new Model.V1.NatSliceSpec { PublicIp = "2001:db8:ffff::30", FirstPort = 2048, LastPort = 2049, UnderlayAddress = "fc00:1:a::36" };
        using var f = new PipelineFixture(spec);
        byte[] output = f.Expect("vm-b", Eth(VmMacB, Any, Udp("fd00::2", "2001:db8:1::7", 5000, 53)), "uplink0");
        Assert.Equal("fc00:1:a::36", OuterSource(output));
        Assert.Equal(TestHost.Router, OuterDestination(output));
        var inner = (IPv6Packet)Inner(output);
        Assert.Equal(IPAddress.Parse("2001:db8:ffff::30"), inner.SourceAddress);
        Assert.Equal(63, inner.HopLimit);
        var udp = (UdpPacket)inner.PayloadPacket;
        Assert.True(udp.SourcePort is 2048 or 2049);
        Assert.True(udp.ValidUdpChecksum);

        byte[] reply = f.Expect("uplink0", Underlay(TestHost.Router, "fc00:1:a::36", Udp("2001:db8:1::7", "2001:db8:ffff::30", 53, udp.SourcePort)), "vm-b");
        var back = (IPv6Packet)Parse(reply).PayloadPacket;
        Assert.Equal(IPAddress.Parse("fd00::2"), back.DestinationAddress);
        var backUdp = (UdpPacket)back.PayloadPacket;
        Assert.Equal(5000, backUdp.DestinationPort);
        Assert.True(backUdp.ValidUdpChecksum);

        // The IPv4 slice is untouched by IPv6 flows: both IPv6 ports taken, a third IPv6 flow is refused.
        f.Expect("vm-b", Eth(VmMacB, Any, Udp("fd00::2", "2001:db8:1::7", 5001, 53)), "uplink0");
        f.ExpectDrop("vm-b", Eth(VmMacB, Any, Udp("fd00::2", "2001:db8:1::7", 5002, 53)), "nat_ports_exhausted");
        f.Expect("vm-b", Eth(VmMacB, Any, Udp("10.0.0.2", "198.51.100.7", 3001, 53)), "uplink0");
    }

    [Fact]
    public void Return_traffic_for_a_neighbor_slice_is_relayed_unchanged()
    {
        using var f = new PipelineFixture();
        IPPacket inner = Udp("198.51.100.7", "203.0.113.30", 53, 1026);
        byte[] output = f.Expect("uplink0", Underlay(TestHost.Router, "fc00:1:a::30", inner), "uplink0");
        Assert.Equal("fc00:1:b::30", OuterDestination(output));
        Assert.Equal(inner.Bytes, Inner(output).Bytes);
    }

    [Fact]
    public void Unknown_nat_return_traffic_is_dropped() =>
        new PipelineFixture().ExpectDrop("uplink0", Underlay(TestHost.Router, "fc00:1:a::30", Udp("198.51.100.7", "203.0.113.30", 53, 1024)), "nat_no_flow");

    [Fact]
    public void Echo_to_a_nat_ip_is_answered()
    {
        using var f = new PipelineFixture();
        byte[] output = f.Expect("uplink0", Underlay(TestHost.Router, "fc00:1:a::30", Echo("198.51.100.7", "203.0.113.30", id: 9)), "uplink0");
        Assert.Equal("fc00:1:a::30", OuterSource(output));
        Assert.Equal(TestHost.Router, OuterDestination(output));
        var ip = (IPv4Packet)Inner(output);
        Assert.Equal(IPAddress.Parse("203.0.113.30"), ip.SourceAddress);
        Assert.Equal(IPAddress.Parse("198.51.100.7"), ip.DestinationAddress);
        Assert.True(ip.ValidIPChecksum);
        var icmp = (IcmpV4Packet)ip.PayloadPacket;
        Assert.Equal(IcmpV4TypeCode.EchoReply, icmp.TypeCode);
        Assert.True(Packets.Checksums.VerifyIcmpV4(icmp.Bytes));
    }

    [Fact]
    public void Load_balancer_spreads_flows_over_local_and_remote_targets_and_keeps_them()
    {
        using var f = new PipelineFixture();
        var seen = new HashSet<string>();
        for (ushort p = 0; p < 64; p++)
        {
            IPPacket syn = Tcp("198.51.100.9", "203.0.113.20", (ushort)(20000 + p), 80);
            var v = f.Inject("uplink0", Underlay(TestHost.Router, "fc00:1:a::20", syn));
            Assert.Single(v.OutPorts);
            string where = v.OutPorts[0];
            byte[] output = f.Take(where);
            if (where == "vm-a")
            {
                // Direct server return: the target gets the packet unchanged.
                Assert.Equal(syn.Bytes, Parse(output).PayloadPacket.Bytes);
                seen.Add("local");
            }
            else
            {
                Assert.Equal("fc00:1:a::20", OuterSource(output));
                Assert.Equal("fc00:1:b::21", OuterDestination(output));
                Assert.Equal(syn.Bytes, Inner(output).Bytes);
                seen.Add("remote");
            }
            // The next packet of the flow goes to the same place.
            var again = f.Inject("uplink0", Underlay(TestHost.Router, "fc00:1:a::20", Tcp("198.51.100.9", "203.0.113.20", (ushort)(20000 + p), 80, syn: false, ack: true)));
            Assert.Equal(where, Assert.Single(again.OutPorts));
            f.Take(where);
        }
        Assert.Equal(2, seen.Count);
    }

    [Fact]
    public void Load_balancer_refuses_ports_it_does_not_list() =>
        new PipelineFixture().ExpectDrop("uplink0", Underlay(TestHost.Router, "fc00:1:a::20", Tcp("198.51.100.9", "203.0.113.20", 20000, 81)), "load_balancer_port_not_allowed");

    [Fact]
    public void Load_balancer_is_used_from_inside_the_vni()
    {
        using var f = new PipelineFixture();
        var v = f.Inject("vm-b", Eth(VmMacB, Any, Tcp("10.0.0.2", "203.0.113.20", 41000, 80)));
        Assert.Single(v.OutPorts);
    }

    [Fact]
    public void Echo_to_a_load_balancer_ip_is_answered()
    {
        using var f = new PipelineFixture();
        byte[] output = f.Expect("uplink0", Underlay(TestHost.Router, "fc00:1:a::20", Echo("198.51.100.9", "203.0.113.20", id: 5)), "uplink0");
        Assert.Equal(IPAddress.Parse("203.0.113.20"), ((IPv4Packet)Inner(output)).SourceAddress);
    }
}
