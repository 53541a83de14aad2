using System.Net;
using System.Net.NetworkInformation;
using PacketDotNet;

namespace MetalAgent.Agent.Tests;

/// <summary>Frames built with PacketDotNet (independent of the agent's parser).</summary>
internal static class Frames
{
    public static readonly PhysicalAddress VmMac = PhysicalAddress.Parse("52-54-00-00-00-0A");

    public const ulong VmMacValue = 0x5254_0000_000AUL;

    /// <summary>A MAC held in the low 48 bits of a number, as the dataplane keeps it.</summary>
    public static PhysicalAddress Mac(ulong value)
    {
        byte[] bytes = new byte[6];
        for (int i = 0; i < 6; i++)
        {
            bytes[i] = (byte)(value >> (40 - (8 * i)));
        }
        return new PhysicalAddress(bytes);
    }

    public static byte[] ArpRequest(PhysicalAddress vmMac, string vmIp, string target = "169.254.0.1")
    {
        var arp = new ArpPacket(ArpOperation.Request, PhysicalAddress.Parse("00-00-00-00-00-00"), IPAddress.Parse(target), vmMac, IPAddress.Parse(vmIp));
        var eth = new EthernetPacket(vmMac, PhysicalAddress.Parse("FF-FF-FF-FF-FF-FF"), EthernetType.Arp) { PayloadPacket = arp };
        return eth.Bytes;
    }

    public static byte[] Udp(PhysicalAddress src, PhysicalAddress dst, string srcIp, string dstIp)
    {
        var udp = new UdpPacket(40000, 53) { PayloadData = new byte[16] };
        var ip = new IPv4Packet(IPAddress.Parse(srcIp), IPAddress.Parse(dstIp)) { TimeToLive = 64, PayloadPacket = udp };
        udp.UpdateUdpChecksum();
        ip.UpdateIPChecksum();
        var eth = new EthernetPacket(src, dst, EthernetType.IPv4) { PayloadPacket = ip };
        return eth.Bytes;
    }

    public static EthernetPacket Parse(byte[] frame) => (EthernetPacket)Packet.ParsePacket(LinkLayers.Ethernet, frame);

    public static string OuterDestination(byte[] frame) => new IPAddress(frame.AsSpan(38, 16)).ToString();
}
