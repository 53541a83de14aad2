using System.Buffers.Binary;
using System.Net;
using System.Net.NetworkInformation;
using PacketDotNet;

namespace MetalAgent.Agent.Tests.Router;

/// <summary>Frames for the router tests, built byte by byte or with PacketDotNet (IP, UDP, TCP), with
/// checksums computed here: independent of the router's own writers.</summary>
internal static class TestRouterFrames
{
    public static readonly PhysicalAddress UnderlayGatewayMac = PhysicalAddress.Parse("02-00-00-00-FE-01");
    public static readonly PhysicalAddress ServerMac = PhysicalAddress.Parse("02-00-00-00-77-07");
    public static readonly PhysicalAddress Broadcast = PhysicalAddress.Parse("FF-FF-FF-FF-FF-FF");

    public static PhysicalAddress Mac(ulong value) => Frames.Mac(value);

    public static byte[] Bytes(string ip) => IPAddress.Parse(ip).GetAddressBytes();

    /// <summary>ICMPv6 in IPv6 in Ethernet with the checksum computed here.</summary>
    public static byte[] Icmp6(PhysicalAddress srcMac, PhysicalAddress dstMac, string src, string dst, byte[] body, int hopLimit = 255)
    {
        byte[] frame = new byte[14 + 40 + body.Length];
        dstMac.GetAddressBytes().CopyTo(frame, 0);
        srcMac.GetAddressBytes().CopyTo(frame, 6);
        frame[12] = 0x86;
        frame[13] = 0xDD;
        frame[14] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(18), (ushort)body.Length);
        frame[20] = 58;
        frame[21] = (byte)hopLimit;
        Bytes(src).CopyTo(frame, 22);
        Bytes(dst).CopyTo(frame, 38);
        body.CopyTo(frame, 54);
        frame[56] = 0;
        frame[57] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(56), (ushort)~Sum(frame.AsSpan(22, 32), 58, frame.AsSpan(54)));
        return frame;
    }

    /// <summary>NS (135) or NA (136) body with one link-layer option (1 source, 2 target) when given.</summary>
    public static byte[] NdBody(byte type, byte flags, string target, PhysicalAddress? mac)
    {
        var body = new List<byte> { type, 0, 0, 0, flags, 0, 0, 0 };
        body.AddRange(Bytes(target));
        if (mac is not null)
        {
            body.AddRange([type == 135 ? (byte)1 : (byte)2, 1]);
            body.AddRange(mac.GetAddressBytes());
        }
        return [.. body];
    }

    /// <summary>ff02::1:ffXX:XXXX of an address.</summary>
    public static string SolicitedNode(string target)
    {
        byte[] t = Bytes(target);
        return $"ff02::1:ff{t[13]:x2}:{t[14]:x2}{t[15]:x2}";
    }

    public static PhysicalAddress MulticastMac(string group)
    {
        byte[] a = Bytes(group);
        return new PhysicalAddress([0x33, 0x33, a[12], a[13], a[14], a[15]]);
    }

    /// <summary>A multicast solicitation as a neighbor sends it.</summary>
    public static byte[] Solicitation(PhysicalAddress mac, string src, string target) =>
        Icmp6(mac, MulticastMac(SolicitedNode(target)), src, SolicitedNode(target), NdBody(135, 0, target, mac));

    /// <summary>A solicited advertisement (S and O set) answering <paramref name="to"/>.</summary>
    public static byte[] Advertisement(PhysicalAddress mac, PhysicalAddress toMac, string target, string to, bool router = false) =>
        Icmp6(mac, toMac, target, to, NdBody(136, (byte)(0x60 | (router ? 0x80 : 0)), target, mac));

    /// <summary>An ARP frame padded to 60 bytes.</summary>
    public static byte[] Arp(ushort op, PhysicalAddress senderMac, string senderIp, PhysicalAddress targetMac, string targetIp, PhysicalAddress? ethDst = null)
    {
        byte[] frame = new byte[60];
        (ethDst ?? (op == 1 ? Broadcast : targetMac)).GetAddressBytes().CopyTo(frame, 0);
        senderMac.GetAddressBytes().CopyTo(frame, 6);
        frame[12] = 0x08;
        frame[13] = 0x06;
        byte[] arp = [0, 1, 8, 0, 6, 4, 0, (byte)op];
        arp.CopyTo(frame, 14);
        senderMac.GetAddressBytes().CopyTo(frame, 22);
        Bytes(senderIp).CopyTo(frame, 28);
        targetMac.GetAddressBytes().CopyTo(frame, 32);
        Bytes(targetIp).CopyTo(frame, 38);
        return frame;
    }

    public static IPPacket Udp(string src, string dst, ushort sport, ushort dport, int ttl = 64)
    {
        var udp = new UdpPacket(sport, dport) { PayloadData = [1, 2, 3, 4, 5, 6, 7, 8] };
        IPPacket ip = Ip(src, dst, ttl);
        ip.PayloadPacket = udp;
        ip.UpdateCalculatedValues();
        udp.UpdateUdpChecksum();
        if (ip is IPv4Packet v4)
        {
            v4.UpdateIPChecksum();
        }
        return ip;
    }

    public static IPPacket Tcp(string src, string dst, ushort sport, ushort dport, int ttl = 64)
    {
        var tcp = new TcpPacket(sport, dport) { Synchronize = true, WindowSize = 1024 };
        IPPacket ip = Ip(src, dst, ttl);
        ip.PayloadPacket = tcp;
        ip.UpdateCalculatedValues();
        tcp.UpdateTcpChecksum();
        if (ip is IPv4Packet v4)
        {
            v4.UpdateIPChecksum();
        }
        return ip;
    }

    /// <summary>An IPv4 packet (no options) with its header checksum computed here.</summary>
    public static byte[] Ip4Packet(string src, string dst, byte protocol, byte[] payload, ushort flagsAndOffset = 0, int ttl = 64)
    {
        byte[] ip = new byte[20 + payload.Length];
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip.AsSpan(2), (ushort)ip.Length);
        BinaryPrimitives.WriteUInt16BigEndian(ip.AsSpan(6), flagsAndOffset);
        ip[8] = (byte)ttl;
        ip[9] = protocol;
        Bytes(src).CopyTo(ip, 12);
        Bytes(dst).CopyTo(ip, 16);
        BinaryPrimitives.WriteUInt16BigEndian(ip.AsSpan(10), (ushort)~Sum(ip.AsSpan(0, 20), 0, default));
        payload.CopyTo(ip, 20);
        return ip;
    }

    /// <summary>An IPv4 packet whose payload is <paramref name="icmp"/> (type, code, rest, data), checksum computed here.</summary>
    public static byte[] Icmp4Packet(string src, string dst, byte[] icmp, int ttl = 64)
    {
        byte[] message = (byte[])icmp.Clone();
        message[2] = 0;
        message[3] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(2), (ushort)~Sum(message, 0, default));
        return Ip4Packet(src, dst, 1, message, ttl: ttl);
    }

    public static byte[] Echo4(string src, string dst, ushort id, bool reply = false, int ttl = 64) =>
        Icmp4Packet(src, dst, [reply ? (byte)0 : (byte)8, 0, 0, 0, (byte)(id >> 8), (byte)id, 0, 1, 9, 9, 9, 9], ttl);

    private static IPPacket Ip(string src, string dst, int ttl)
    {
        IPAddress s = IPAddress.Parse(src), d = IPAddress.Parse(dst);
        return s.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork
            ? new IPv4Packet(s, d) { TimeToLive = ttl }
            : new IPv6Packet(s, d) { HopLimit = ttl };
    }

    public static byte[] Eth(PhysicalAddress src, PhysicalAddress dst, byte[] ip)
    {
        byte[] frame = new byte[14 + ip.Length];
        dst.GetAddressBytes().CopyTo(frame, 0);
        src.GetAddressBytes().CopyTo(frame, 6);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), (ip[0] >> 4) == 4 ? (ushort)0x0800 : (ushort)0x86DD);
        ip.CopyTo(frame, 14);
        return frame;
    }

    /// <summary>An IP packet inside outer Ethernet + IPv6 (next header 4 or 41, hop limit 64, the given flow label).</summary>
    public static byte[] Underlay(PhysicalAddress src, PhysicalAddress dst, string outerSrc, string outerDst, byte[] inner, uint flowLabel = 0)
    {
        byte[] frame = new byte[54 + inner.Length];
        dst.GetAddressBytes().CopyTo(frame, 0);
        src.GetAddressBytes().CopyTo(frame, 6);
        frame[12] = 0x86;
        frame[13] = 0xDD;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(14), (6u << 28) | flowLabel);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(18), (ushort)inner.Length);
        frame[20] = (inner[0] >> 4) == 4 ? (byte)4 : (byte)41;
        frame[21] = 64;
        Bytes(outerSrc).CopyTo(frame, 22);
        Bytes(outerDst).CopyTo(frame, 38);
        inner.CopyTo(frame, 54);
        return frame;
    }

    /// <summary>The same IP packet with TTL / hop limit one less (IPv4 header checksum recomputed).</summary>
    public static byte[] Decremented(byte[] ip)
    {
        byte[] copy = (byte[])ip.Clone();
        if ((copy[0] >> 4) == 4)
        {
            copy[8]--;
            copy[10] = 0;
            copy[11] = 0;
            int headerLength = (copy[0] & 0xF) * 4;
            BinaryPrimitives.WriteUInt16BigEndian(copy.AsSpan(10), (ushort)~Sum(copy.AsSpan(0, headerLength), 0, default));
        }
        else
        {
            copy[7]--;
        }
        return copy;
    }

    public static uint FlowLabel(byte[] underlayFrame) => BinaryPrimitives.ReadUInt32BigEndian(underlayFrame.AsSpan(14)) & 0xFFFFF;

    public static string OuterSource(byte[] frame) => new IPAddress(frame.AsSpan(22, 16)).ToString();

    public static string OuterDestination(byte[] frame) => new IPAddress(frame.AsSpan(38, 16)).ToString();

    /// <summary>RFC 1071 sum over a pseudo-header (the 32 address bytes, the protocol and the length) and
    /// data; without addresses it is the plain sum of <paramref name="data"/>.</summary>
    private static ushort Sum(ReadOnlySpan<byte> addressesOrData, byte protocol, ReadOnlySpan<byte> data)
    {
        ulong sum = 0;
        ReadOnlySpan<byte> first = addressesOrData;
        for (int i = 0; i < first.Length; i += 2)
        {
            sum += i + 1 < first.Length ? BinaryPrimitives.ReadUInt16BigEndian(first[i..]) : (ulong)first[i] << 8;
        }
        if (protocol != 0)
        {
            sum += protocol + (ulong)data.Length;
            for (int i = 0; i < data.Length; i += 2)
            {
                sum += i + 1 < data.Length ? BinaryPrimitives.ReadUInt16BigEndian(data[i..]) : (ulong)data[i] << 8;
            }
        }
        while (sum > 0xFFFF)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }
        return (ushort)sum;
    }
}
