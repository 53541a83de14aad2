using System.Buffers.Binary;
using System.Net;
using System.Net.NetworkInformation;
using PacketDotNet;

namespace MetalAgent.Dataplane.Tests;

/// <summary>Frames for dataplane tests, built with PacketDotNet (an implementation independent of
/// ours), plus the IP-in-IPv6 outer header written by hand.</summary>
internal static class TestFrames
{
    public static readonly PhysicalAddress VmMacA = PhysicalAddress.Parse("52-54-00-00-00-0A");
    public static readonly PhysicalAddress VmMacB = PhysicalAddress.Parse("52-54-00-00-00-0B");
    public static readonly PhysicalAddress VmMacC = PhysicalAddress.Parse("52-54-00-00-00-0C");
    public static readonly PhysicalAddress RouterMac = PhysicalAddress.Parse("02-00-00-00-FF-01");
    public static readonly PhysicalAddress Any = PhysicalAddress.Parse("02-00-00-00-00-99");

    public static byte[] ArpRequest(PhysicalAddress vmMac, string vmIp, string target = "169.254.0.1")
    {
        var arp = new ArpPacket(ArpOperation.Request, PhysicalAddress.Parse("00-00-00-00-00-00"), IPAddress.Parse(target), vmMac, IPAddress.Parse(vmIp));
        var eth = new EthernetPacket(vmMac, PhysicalAddress.Parse("FF-FF-FF-FF-FF-FF"), EthernetType.Arp) { PayloadPacket = arp };
        return eth.Bytes;
    }

    public static IPPacket Udp(string src, string dst, ushort sport, ushort dport, int payload = 16, int ttl = 64)
    {
        var udp = new UdpPacket(sport, dport) { PayloadData = Payload(payload) };
        IPPacket ip = Ip(src, dst, ttl);
        ip.PayloadPacket = udp;
        Finish(ip);
        return ip;
    }

    public static IPPacket Tcp(string src, string dst, ushort sport, ushort dport, bool syn = true, bool ack = false, int ttl = 64)
    {
        var tcp = new TcpPacket(sport, dport) { Synchronize = syn, Acknowledgment = ack, WindowSize = 1024, PayloadData = ack && !syn ? Payload(8) : [] };
        IPPacket ip = Ip(src, dst, ttl);
        ip.PayloadPacket = tcp;
        Finish(ip);
        return ip;
    }

    /// <summary>ICMP echo request (IPv4 type 8 / IPv6 type 128) with an identifier.</summary>
    public static IPPacket Echo(string src, string dst, ushort id, bool reply = false)
    {
        IPPacket ip = Ip(src, dst, 64);
        bool v4 = ip is IPv4Packet;
        byte[] body = new byte[16];
        body[0] = v4 ? (reply ? (byte)0 : (byte)8) : (reply ? (byte)129 : (byte)128);
        BinaryPrimitives.WriteUInt16BigEndian(body.AsSpan(4), id);
        BinaryPrimitives.WriteUInt16BigEndian(body.AsSpan(6), 1);
        if (v4)
        {
            var icmp = new IcmpV4Packet(new PacketDotNet.Utils.ByteArraySegment(body));
            ip.PayloadPacket = icmp;
            ((IPv4Packet)ip).Protocol = PacketDotNet.ProtocolType.Icmp;
            icmp.UpdateIcmpChecksum();
        }
        else
        {
            var icmp = new IcmpV6Packet(new PacketDotNet.Utils.ByteArraySegment(body));
            ip.PayloadPacket = icmp;
            ((IPv6Packet)ip).Protocol = PacketDotNet.ProtocolType.IcmpV6;
            icmp.UpdateIcmpChecksum();
        }
        Finish(ip);
        return ip;
    }

    private static IPPacket Ip(string src, string dst, int ttl)
    {
        IPAddress s = IPAddress.Parse(src), d = IPAddress.Parse(dst);
        return s.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork
            ? new IPv4Packet(s, d) { TimeToLive = ttl }
            : new IPv6Packet(s, d) { HopLimit = ttl };
    }

    private static void Finish(IPPacket ip)
    {
        ip.UpdateCalculatedValues();
        switch (ip.PayloadPacket)
        {
            case UdpPacket u:
                u.UpdateUdpChecksum();
                break;
            case TcpPacket t:
                t.UpdateTcpChecksum();
                break;
            case IcmpV6Packet i6:
                i6.UpdateIcmpChecksum();
                break;
        }
        if (ip is IPv4Packet v4)
        {
            v4.UpdateIPChecksum();
        }
    }

    private static byte[] Payload(int n)
    {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++)
        {
            b[i] = (byte)(i * 7);
        }
        return b;
    }

    /// <summary>An Ethernet frame carrying an IP packet.</summary>
    public static byte[] Eth(PhysicalAddress src, PhysicalAddress dst, IPPacket ip)
    {
        var eth = new EthernetPacket(src, dst, ip is IPv4Packet ? EthernetType.IPv4 : EthernetType.IPv6) { PayloadPacket = ip };
        return eth.Bytes;
    }

    /// <summary>An IP packet inside outer Ethernet + IPv6 (next header 4 or 41), as the underlay carries it.</summary>
    public static byte[] Underlay(string outerSrc, string outerDst, IPPacket inner, PhysicalAddress? dstMac = null)
    {
        byte[] ip = inner.Bytes;
        byte[] frame = new byte[14 + 40 + ip.Length];
        (dstMac ?? Any).GetAddressBytes().CopyTo(frame, 0);
        RouterMac.GetAddressBytes().CopyTo(frame, 6);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), 0x86DD);
        Span<byte> o = frame.AsSpan(14);
        BinaryPrimitives.WriteUInt32BigEndian(o, 6u << 28);
        BinaryPrimitives.WriteUInt16BigEndian(o[4..], (ushort)ip.Length);
        o[6] = inner is IPv4Packet ? (byte)4 : (byte)41;
        o[7] = 64;
        IPAddress.Parse(outerSrc).GetAddressBytes().CopyTo(o[8..]);
        IPAddress.Parse(outerDst).GetAddressBytes().CopyTo(o[24..]);
        ip.CopyTo(frame, 54);
        return frame;
    }

    /// <summary>Parses a frame with PacketDotNet.</summary>
    public static EthernetPacket Parse(byte[] frame) => (EthernetPacket)Packet.ParsePacket(LinkLayers.Ethernet, frame);

    /// <summary>The inner IP packet of an underlay frame (outer IPv6 without extension headers).</summary>
    public static IPPacket Inner(byte[] frame)
    {
        byte version = (byte)(frame[54] >> 4);
        byte[] inner = frame.AsSpan(54).ToArray();
        return version == 4 ? new IPv4Packet(new PacketDotNet.Utils.ByteArraySegment(inner)) : new IPv6Packet(new PacketDotNet.Utils.ByteArraySegment(inner));
    }

    public static string OuterSource(byte[] frame) => new IPAddress(frame.AsSpan(22, 16)).ToString();

    public static string OuterDestination(byte[] frame) => new IPAddress(frame.AsSpan(38, 16)).ToString();
}
