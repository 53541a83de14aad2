using System.Net;
using PacketDotNet;
using static MetalAgent.Dataplane.Tests.TestFrames;

namespace MetalAgent.Dataplane.Tests;

/// <summary>NAT64: a dual-stack VM with an IPv4 NAT slice reaches IPv4 destinations through 64:ff9b::/96.</summary>
public class Nat64Tests
{
    private static PipelineFixture DualStackNatFixture()
    {
        Model.V1.HostSpec spec = TestHost.Spec();
        spec.Interfaces[1].Ipv6 = "fd00::2";
        return new PipelineFixture(spec);
    }

    [Fact]
    public void Ipv6_to_64_ff9b_is_translated_to_ipv4_from_the_slice_and_back()
    {
        using var f = DualStackNatFixture();
        byte[] output = f.Expect("vm-b", Eth(VmMacB, Any, Tcp("fd00::2", "64:ff9b::c633:6407", 45000, 80)), "uplink0");
        Assert.Equal("fc00:1:a::30", OuterSource(output));
        Assert.Equal(4, output[14 + 6]);
        var v4 = (IPv4Packet)Inner(output);
        Assert.Equal(IPAddress.Parse("203.0.113.30"), v4.SourceAddress);
        Assert.Equal(IPAddress.Parse("198.51.100.7"), v4.DestinationAddress);
        Assert.Equal(63, v4.TimeToLive);
        Assert.True(v4.ValidIPChecksum);
        var tcp = (TcpPacket)v4.PayloadPacket;
        Assert.True(tcp.ValidTcpChecksum);
        Assert.InRange(tcp.SourcePort, 1024, 1025);

        byte[] reply = f.Expect("uplink0", Underlay(TestHost.Router, "fc00:1:a::30", Tcp("198.51.100.7", "203.0.113.30", 80, tcp.SourcePort, syn: true, ack: true)), "vm-b");
        var v6 = (IPv6Packet)Parse(reply).PayloadPacket;
        Assert.Equal(IPAddress.Parse("64:ff9b::c633:6407"), v6.SourceAddress);
        Assert.Equal(IPAddress.Parse("fd00::2"), v6.DestinationAddress);
        var back = (TcpPacket)v6.PayloadPacket;
        Assert.Equal(45000, back.DestinationPort);
        Assert.True(back.ValidTcpChecksum);
        Assert.Equal(reply.Length, 14 + 40 + back.Bytes.Length);
    }

    [Fact]
    public void Icmpv6_echo_becomes_icmp_echo_and_back()
    {
        using var f = DualStackNatFixture();
        byte[] output = f.Expect("vm-b", Eth(VmMacB, Any, Echo("fd00::2", "64:ff9b::c633:6407", id: 321)), "uplink0");
        var v4 = (IPv4Packet)Inner(output);
        var icmp = (IcmpV4Packet)v4.PayloadPacket;
        Assert.Equal(IcmpV4TypeCode.EchoRequest, icmp.TypeCode);
        Assert.True(Packets.Checksums.VerifyIcmpV4(icmp.Bytes));
        byte[] reply = f.Expect("uplink0", Underlay(TestHost.Router, "fc00:1:a::30", Echo("198.51.100.7", "203.0.113.30", icmp.Id, reply: true)), "vm-b");
        var v6 = (IPv6Packet)Parse(reply).PayloadPacket;
        var echo = (IcmpV6Packet)v6.PayloadPacket;
        Assert.Equal(129, echo.Bytes[0]);
        Assert.Equal(321, System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(echo.Bytes.AsSpan(4)));
        Assert.True(echo.ValidIcmpChecksum);
    }

    [Fact]
    public void Without_an_ipv4_slice_64_ff9b_has_no_public_address()
    {
        using var f = new PipelineFixture();
        // vm-a has a VirtualIP but no NAT slice: NAT64 is a NAT gateway feature.
        f.ExpectDrop("vm-a", Eth(VmMacA, Any, Tcp("fd00::1", "64:ff9b::c633:6407", 45000, 80)), "no_public_address");
    }
}
