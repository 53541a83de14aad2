using System.Buffers.Binary;
using System.Net;
using PacketDotNet;
using static MetalAgent.Dataplane.Tests.TestFrames;

namespace MetalAgent.Dataplane.Tests;

/// <summary>ICMP errors: generated for the VM (time exceeded, too big) and translated back when they
/// arrive about a translated flow.</summary>
public class IcmpErrorTests
{
    [Fact]
    public void Ttl_expiry_answers_time_exceeded_from_the_gateway()
    {
        using var f = new PipelineFixture();
        IPPacket sent = Udp("10.0.0.1", "10.0.0.3", 1, 2, ttl: 1);
        byte[] output = f.Expect("vm-a", Eth(VmMacA, Any, sent), "vm-a");
        var eth = Parse(output);
        Assert.Equal(VmMacA, eth.DestinationHardwareAddress);
        var ip = (IPv4Packet)eth.PayloadPacket;
        Assert.Equal(IPAddress.Parse("169.254.0.1"), ip.SourceAddress);
        Assert.Equal(IPAddress.Parse("10.0.0.1"), ip.DestinationAddress);
        Assert.True(ip.ValidIPChecksum);
        byte[] icmp = ip.PayloadPacket.Bytes;
        Assert.Equal(11, icmp[0]);
        Assert.True(Packets.Checksums.VerifyIcmpV4(icmp));
        Assert.Equal(sent.Bytes, icmp[8..]);
        Assert.Equal(1, f.Runner.Dataplane.Sum(c => c.Drops(DropReason.TtlExpired)));
    }

    [Fact]
    public void Hop_limit_expiry_answers_icmpv6_time_exceeded()
    {
        using var f = new PipelineFixture();
        byte[] output = f.Expect("vm-a", Eth(VmMacA, Any, Udp("fd00::1", "fd00::9", 1, 2, ttl: 1)), "vm-a");
        var ip = (IPv6Packet)Parse(output).PayloadPacket;
        Assert.Equal(IPAddress.Parse("fe80::1"), ip.SourceAddress);
        var icmp = (IcmpV6Packet)ip.PayloadPacket;
        Assert.Equal(3, icmp.Bytes[0]);
        Assert.True(icmp.ValidIcmpChecksum);
    }

    [Fact]
    public void Oversized_packet_with_df_gets_fragmentation_needed_with_the_mtu()
    {
        using var f = new PipelineFixture();
        var big = (IPv4Packet)Udp("10.0.0.1", "10.0.0.3", 1, 2, payload: 1600);
        big.FragmentFlags = 2; // DF
        big.UpdateIPChecksum();
        byte[] output = f.Expect("vm-a", Eth(VmMacA, Any, big), "vm-a");
        var ip = (IPv4Packet)Parse(output).PayloadPacket;
        byte[] icmp = ip.PayloadPacket.Bytes;
        Assert.Equal(3, icmp[0]);
        Assert.Equal(4, icmp[1]);
        Assert.Equal(1500, BinaryPrimitives.ReadUInt16BigEndian(icmp.AsSpan(6)));
        Assert.True(Packets.Checksums.VerifyIcmpV4(icmp));
        Assert.True(output.Length <= 14 + 576);
    }

    [Fact]
    public void Oversized_packet_without_df_is_dropped_and_counted()
    {
        using var f = new PipelineFixture();
        f.ExpectDrop("vm-a", Eth(VmMacA, Any, Udp("10.0.0.1", "10.0.0.3", 1, 2, payload: 1600)), "frame_too_large");
    }

    [Fact]
    public void Icmp_error_about_a_nat_flow_is_translated_back_to_the_vm()
    {
        using var f = new PipelineFixture();
        byte[] sent = f.Expect("vm-b", Eth(VmMacB, Any, Udp("10.0.0.2", "198.51.100.7", 3001, 53)), "uplink0");
        byte[] quotedPacket = Inner(sent).Bytes; // as it left: 203.0.113.30:port -> 198.51.100.7:53
        // A router on the way answers "port unreachable" to the public address.
        byte[] body = new byte[8 + 28];
        body[0] = 3;
        body[1] = 3;
        quotedPacket.AsSpan(0, 28).CopyTo(body.AsSpan(8));
        BinaryPrimitives.WriteUInt16BigEndian(body.AsSpan(2), Packets.Checksums.ComputeIcmpV4(body));
        var error = new IPv4Packet(IPAddress.Parse("198.51.100.7"), IPAddress.Parse("203.0.113.30"))
        {
            PayloadPacket = new IcmpV4Packet(new PacketDotNet.Utils.ByteArraySegment(body)),
            Protocol = PacketDotNet.ProtocolType.Icmp,
            TimeToLive = 60,
        };
        error.UpdateCalculatedValues();
        error.UpdateIPChecksum();
        byte[] delivered = f.Expect("uplink0", Underlay(TestHost.Router, "fc00:1:a::30", error), "vm-b");
        var ip = (IPv4Packet)Parse(delivered).PayloadPacket;
        Assert.Equal(IPAddress.Parse("10.0.0.2"), ip.DestinationAddress);
        Assert.True(ip.ValidIPChecksum);
        byte[] icmp = ip.PayloadPacket.Bytes;
        Assert.True(Packets.Checksums.VerifyIcmpV4(icmp));
        // The quoted packet is the VM's original: private source address and port.
        var quoted = icmp.AsSpan(8);
        Assert.Equal(new byte[] { 10, 0, 0, 2 }, quoted.Slice(12, 4).ToArray());
        Assert.Equal(3001, BinaryPrimitives.ReadUInt16BigEndian(quoted[20..]));
        Assert.True(Packets.Checksums.VerifyIPv4Header(quoted[..20]));
    }

    [Fact]
    public void Icmp_error_about_no_known_flow_is_dropped()
    {
        using var f = new PipelineFixture();
        byte[] body = new byte[8 + 28];
        body[0] = 3;
        body[1] = 3;
        byte[] quoted = Udp("203.0.113.30", "198.51.100.7", 1024, 53).Bytes;
        quoted.AsSpan(0, 28).CopyTo(body.AsSpan(8));
        BinaryPrimitives.WriteUInt16BigEndian(body.AsSpan(2), Packets.Checksums.ComputeIcmpV4(body));
        var error = new IPv4Packet(IPAddress.Parse("198.51.100.7"), IPAddress.Parse("203.0.113.30"))
        {
            PayloadPacket = new IcmpV4Packet(new PacketDotNet.Utils.ByteArraySegment(body)),
            Protocol = PacketDotNet.ProtocolType.Icmp,
        };
        error.UpdateCalculatedValues();
        error.UpdateIPChecksum();
        f.ExpectDrop("uplink0", Underlay(TestHost.Router, "fc00:1:a::30", error), "icmp_error_unrelated");
    }
}
