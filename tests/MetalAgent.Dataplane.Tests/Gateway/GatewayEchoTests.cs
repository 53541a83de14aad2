using System.Net;
using PacketDotNet;
using static MetalAgent.Dataplane.Tests.Gateway.GatewayFrames;
using static MetalAgent.Dataplane.Tests.TestFrames;

namespace MetalAgent.Dataplane.Tests.Gateway;

/// <summary>Pinging the gateway: answered in place from the port's gateway MAC, policy or not.</summary>
public class GatewayEchoTests
{
    [Fact]
    public void Ping_of_169_254_0_1_is_answered()
    {
        using var f = new PipelineFixture();
        IPPacket request = Echo("10.0.0.1", "169.254.0.1", id: 77);
        byte[] reply = f.Expect("vm-a", Eth(VmMacA, GatewayMac("vm-a"), request), "vm-a");
        var eth = Parse(reply);
        Assert.Equal(VmMacA, eth.DestinationHardwareAddress);
        Assert.Equal(GatewayMac("vm-a"), eth.SourceHardwareAddress);
        var ip = (IPv4Packet)eth.PayloadPacket;
        Assert.True(ip.ValidIPChecksum);
        Assert.Equal(IPAddress.Parse("169.254.0.1"), ip.SourceAddress);
        Assert.Equal(IPAddress.Parse("10.0.0.1"), ip.DestinationAddress);
        var icmp = (IcmpV4Packet)ip.PayloadPacket;
        Assert.Equal(IcmpV4TypeCode.EchoReply, icmp.TypeCode);
        Assert.True(icmp.ValidIcmpChecksum);
        Assert.Equal(77, icmp.Id);
        Assert.Equal(request.PayloadPacket.Bytes[4..], icmp.Bytes[4..]);
    }

    [Fact]
    public void Ping_of_fe80_1_is_answered()
    {
        using var f = new PipelineFixture();
        byte[] request = Icmp6(VmMacA, LinkLocalA, GatewayIPv6, [128, 0, 0, 0, 0, 78, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8], hopLimit: 64);
        byte[] reply = f.Expect("vm-a", request, "vm-a");
        var eth = Parse(reply);
        Assert.Equal(VmMacA, eth.DestinationHardwareAddress);
        var ip = (IPv6Packet)eth.PayloadPacket;
        Assert.Equal(IPAddress.Parse(GatewayIPv6), ip.SourceAddress);
        Assert.Equal(IPAddress.Parse(LinkLocalA), ip.DestinationAddress);
        Assert.Equal(129, reply[54]);
        Assert.Equal(0xFFFF, Icmp6Sum(reply.AsSpan(14)));
        Assert.Equal(request[58..], reply[58..]);
    }

    [Fact]
    public void Ping_with_a_bad_checksum_or_from_another_mac_is_dropped()
    {
        using var f = new PipelineFixture();
        byte[] frame = Eth(VmMacA, GatewayMac("vm-a"), Echo("10.0.0.1", "169.254.0.1", id: 1));
        frame[14 + 20 + 2] ^= 0x40;
        f.ExpectDrop("vm-a", frame, "gateway_bad_checksum");
        f.ExpectDrop("vm-a", Eth(VmMacC, GatewayMac("vm-a"), Echo("10.0.0.1", "169.254.0.1", id: 1)), "spoofed_mac");
    }
}
