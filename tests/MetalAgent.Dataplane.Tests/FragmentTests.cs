using System.Net;
using PacketDotNet;
using static MetalAgent.Dataplane.Tests.TestFrames;

namespace MetalAgent.Dataplane.Tests;

/// <summary>Fragments: the first is decided like a whole packet; later ones follow its flow (and its
/// translation); a later fragment without a known first fragment is dropped and counted.</summary>
public class FragmentTests
{
    private static (IPv4Packet First, IPv4Packet Second) Fragments(string src, string dst, ushort sport, ushort dport, ushort id)
    {
        var whole = (IPv4Packet)Udp(src, dst, sport, dport, payload: 40);
        byte[] l4 = whole.PayloadPacket.Bytes; // 8-byte UDP header + 40 bytes
        IPv4Packet Fragment(byte[] data, int offsetUnits, bool more)
        {
            var p = new IPv4Packet(IPAddress.Parse(src), IPAddress.Parse(dst))
            {
                PayloadData = data,
                Protocol = PacketDotNet.ProtocolType.Udp,
                Id = id,
                FragmentFlags = more ? 1 : 0,
                FragmentOffset = offsetUnits,
                TimeToLive = 64,
            };
            p.UpdateCalculatedValues();
            p.UpdateIPChecksum();
            return p;
        }
        return (Fragment(l4[..24], 0, more: true), Fragment(l4[24..], 3, more: false));
    }

    [Fact]
    public void Later_fragments_follow_the_nat_translation_of_the_first()
    {
        using var f = new PipelineFixture();
        (IPv4Packet first, IPv4Packet second) = Fragments("10.0.0.2", "198.51.100.7", 4000, 53, id: 0x4242);
        byte[] out1 = f.Expect("vm-b", Eth(VmMacB, Any, first), "uplink0");
        byte[] out2 = f.Expect("vm-b", Eth(VmMacB, Any, second), "uplink0");
        var inner1 = (IPv4Packet)Inner(out1);
        var inner2 = (IPv4Packet)Inner(out2);
        Assert.Equal(IPAddress.Parse("203.0.113.30"), inner1.SourceAddress);
        Assert.Equal(IPAddress.Parse("203.0.113.30"), inner2.SourceAddress);
        Assert.True(inner2.ValidIPChecksum);
        Assert.Equal(0x4242, inner2.Id);
        Assert.Equal(3, inner2.FragmentOffset);
        Assert.Equal(second.PayloadData, inner2.PayloadData);
    }

    [Fact]
    public void A_later_fragment_without_its_first_is_dropped_and_counted()
    {
        using var f = new PipelineFixture();
        (_, IPv4Packet second) = Fragments("10.0.0.2", "198.51.100.7", 4000, 53, id: 7);
        f.ExpectDrop("vm-b", Eth(VmMacB, Any, second), "fragment_without_flow");
    }

    [Fact]
    public void Fragments_to_a_virtual_ip_are_translated_together()
    {
        using var f = new PipelineFixture();
        (IPv4Packet first, IPv4Packet second) = Fragments("198.51.100.7", "203.0.113.10", 5353, 9999, id: 99);
        byte[] d1 = f.Expect("uplink0", Underlay(TestHost.Router, "fc00:1:a::10", first), "vm-a");
        byte[] d2 = f.Expect("uplink0", Underlay(TestHost.Router, "fc00:1:a::10", second), "vm-a");
        Assert.Equal(IPAddress.Parse("10.0.0.1"), ((IPv4Packet)Parse(d1).PayloadPacket).DestinationAddress);
        var ip2 = (IPv4Packet)Parse(d2).PayloadPacket;
        Assert.Equal(IPAddress.Parse("10.0.0.1"), ip2.DestinationAddress);
        Assert.True(ip2.ValidIPChecksum);
    }
}
