using System.Buffers.Binary;
using System.Net;
using System.Net.NetworkInformation;
using MetalAgent.Compiler;
using PacketDotNet;
using PacketDotNet.Utils;

namespace MetalAgent.Dataplane.Tests.Gateway;

/// <summary>Gateway requests as a VM sends them: ND built byte by byte inside PacketDotNet's IPv6
/// and ICMPv6 (which compute lengths and checksums), DHCP payloads byte by byte inside PacketDotNet's
/// UDP, so the tests do not share code with the implementation under test.</summary>
internal static class GatewayFrames
{
    public const string GatewayIPv6 = "fe80::1";
    public const string LinkLocalA = "fe80::5054:ff:fe00:a";
    public const string LinkLocalB = "fe80::5054:ff:fe00:b";
    public const uint Xid = 0x3903F326;

    public static readonly PhysicalAddress Broadcast = PhysicalAddress.Parse("FF-FF-FF-FF-FF-FF");
    public static readonly PhysicalAddress AllNodesMac = PhysicalAddress.Parse("33-33-00-00-00-01");
    public static readonly PhysicalAddress AllRoutersMac = PhysicalAddress.Parse("33-33-00-00-00-02");
    public static readonly PhysicalAddress DhcpServersMac = PhysicalAddress.Parse("33-33-00-01-00-02");

    /// <summary>The gateway MAC the compiler gives a port.</summary>
    public static PhysicalAddress GatewayMac(string port) => Mac(HostCompiler.GatewayMac(port));

    /// <summary>A MAC held as a number (low 48 bits).</summary>
    public static PhysicalAddress Mac(ulong mac)
    {
        byte[] b = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(b, mac);
        return new PhysicalAddress(b[2..]);
    }

    public static byte[] MacBytes(PhysicalAddress mac) => mac.GetAddressBytes();

    // ---- ND ----

    /// <summary>ICMPv6 type 135 for <paramref name="target"/>, to its solicited-node group, with a source link-layer option.</summary>
    public static byte[] NeighborSolicitation(PhysicalAddress mac, string src, string target, bool sourceLinkLayer = true, int hopLimit = 255, string? dst = null)
    {
        byte[] t = IPAddress.Parse(target).GetAddressBytes();
        dst ??= "ff02::1:ff" + $"{t[13]:x2}:{t[14]:x2}{t[15]:x2}";
        var body = new List<byte> { 135, 0, 0, 0, 0, 0, 0, 0 };
        body.AddRange(t);
        if (sourceLinkLayer)
        {
            body.AddRange([1, 1]);
            body.AddRange(MacBytes(mac));
        }
        return Icmp6(mac, src, dst, body.ToArray(), hopLimit);
    }

    /// <summary>ICMPv6 type 133 to ff02::2, with a source link-layer option unless sent from ::.</summary>
    public static byte[] RouterSolicitation(PhysicalAddress mac, string src, int hopLimit = 255)
    {
        var body = new List<byte> { 133, 0, 0, 0, 0, 0, 0, 0 };
        if (src != "::")
        {
            body.AddRange([1, 1]);
            body.AddRange(MacBytes(mac));
        }
        return Icmp6(mac, src, "ff02::2", body.ToArray(), hopLimit);
    }

    /// <summary>An ICMPv6 message in IPv6 in Ethernet, checksum computed here (PacketDotNet 1.4.8
    /// serializes ND messages with their first four bytes twice, so only its parser is used for ND).</summary>
    public static byte[] Icmp6(PhysicalAddress mac, string src, string dst, byte[] body, int hopLimit = 255)
    {
        byte[] frame = new byte[14 + 40 + body.Length];
        MulticastMac(dst).GetAddressBytes().CopyTo(frame, 0);
        MacBytes(mac).CopyTo(frame, 6);
        frame[12] = 0x86;
        frame[13] = 0xDD;
        frame[14] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(18), (ushort)body.Length);
        frame[20] = 58;
        frame[21] = (byte)hopLimit;
        IPAddress.Parse(src).GetAddressBytes().CopyTo(frame, 22);
        IPAddress.Parse(dst).GetAddressBytes().CopyTo(frame, 38);
        body.CopyTo(frame, 54);
        if (body.Length >= 4)
        {
            frame[56] = 0;
            frame[57] = 0;
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(56), (ushort)~Icmp6Sum(frame.AsSpan(14)));
        }
        return frame;
    }

    /// <summary>The ones'-complement sum (RFC 1071) of an ICMPv6 message with its IPv6 pseudo-header,
    /// over an IPv6 packet without extension headers: 0xFFFF when the stored checksum is right.</summary>
    public static ushort Icmp6Sum(ReadOnlySpan<byte> ipv6)
    {
        int length = BinaryPrimitives.ReadUInt16BigEndian(ipv6[4..]);
        ulong sum = 58 + (ulong)length;
        for (int i = 8; i < 40; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(ipv6[i..]);
        }
        ReadOnlySpan<byte> message = ipv6.Slice(40, length);
        for (int i = 0; i < message.Length; i += 2)
        {
            sum += i + 1 < message.Length ? BinaryPrimitives.ReadUInt16BigEndian(message[i..]) : (ulong)message[i] << 8;
        }
        while (sum > 0xFFFF)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }
        return (ushort)sum;
    }

    private static PhysicalAddress MulticastMac(string ipv6)
    {
        byte[] a = IPAddress.Parse(ipv6).GetAddressBytes();
        return a[0] == 0xFF ? new PhysicalAddress([0x33, 0x33, a[12], a[13], a[14], a[15]]) : PhysicalAddress.Parse("02-00-00-00-00-99");
    }

    // ---- DHCPv4 ----

    /// <summary>A BOOTREQUEST: fixed header, magic cookie, the options in order, end, zero padding to 300 bytes.</summary>
    public static byte[] Dhcp4(PhysicalAddress chaddr, params (byte Code, byte[] Value)[] options) => Dhcp4(chaddr, 0, false, options);

    public static byte[] Dhcp4(PhysicalAddress chaddr, uint ciaddr, bool broadcast, params (byte Code, byte[] Value)[] options)
    {
        byte[] header = new byte[236];
        header[0] = 1; // BOOTREQUEST
        header[1] = 1; // Ethernet
        header[2] = 6;
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4), Xid);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(8), 3); // secs
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(10), broadcast ? (ushort)0x8000 : (ushort)0);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(12), ciaddr);
        MacBytes(chaddr).CopyTo(header, 28);
        var result = new List<byte>(header) { 0x63, 0x82, 0x53, 0x63 };
        foreach ((byte code, byte[] value) in options)
        {
            result.Add(code);
            result.Add((byte)value.Length);
            result.AddRange(value);
        }
        result.Add(255);
        while (result.Count < 300)
        {
            result.Add(0);
        }
        return result.ToArray();
    }

    public static (byte, byte[]) Type4(byte messageType) => (53, [messageType]);

    public static (byte, byte[]) Ip4Option(byte code, string ip) => (code, IPAddress.Parse(ip).GetAddressBytes());

    /// <summary>The parameter request list dhclient sends (1, 3, 6, 12, 15, 26, 28, 121).</summary>
    public static (byte, byte[]) RequestList() => (55, [1, 3, 6, 12, 15, 26, 28, 121]);

    public static byte[] Dhcp4Frame(PhysicalAddress mac, byte[] payload, string src = "0.0.0.0", string dst = "255.255.255.255", bool breakChecksum = false)
    {
        var udp = new UdpPacket(68, 67) { PayloadData = payload };
        var ip = new IPv4Packet(IPAddress.Parse(src), IPAddress.Parse(dst)) { TimeToLive = 64, PayloadPacket = udp };
        ip.UpdateCalculatedValues();
        udp.UpdateUdpChecksum();
        ip.UpdateIPChecksum();
        if (breakChecksum)
        {
            udp.Checksum ^= 0x0101;
        }
        PhysicalAddress dstMac = dst == "255.255.255.255" ? Broadcast : PhysicalAddress.Parse("02-00-00-00-00-99");
        return new EthernetPacket(mac, dstMac, EthernetType.IPv4) { PayloadPacket = ip }.Bytes;
    }

    // ---- DHCPv6 ----

    /// <summary>A DUID-LL of <paramref name="mac"/> as a client id option value.</summary>
    public static byte[] ClientDuid(PhysicalAddress mac) => [0, 3, 0, 1, .. MacBytes(mac)];

    public static (ushort, byte[]) Option6(ushort code, params byte[] value) => (code, value);

    public static (ushort, byte[]) ClientId6(PhysicalAddress mac) => (1, ClientDuid(mac));

    public static (ushort, byte[]) ServerId6(PhysicalAddress gatewayMac) => (2, [0, 3, 0, 1, .. MacBytes(gatewayMac)]);

    /// <summary>IA_NA with IAID 0x0A0B0C0D, T1 = T2 = 0, and the addresses given (lifetimes 0).</summary>
    public static (ushort, byte[]) IaNa(params string[] addresses)
    {
        var v = new List<byte> { 0x0A, 0x0B, 0x0C, 0x0D, 0, 0, 0, 0, 0, 0, 0, 0 };
        foreach (string a in addresses)
        {
            v.AddRange([0, 5, 0, 24]);
            v.AddRange(IPAddress.Parse(a).GetAddressBytes());
            v.AddRange(new byte[8]);
        }
        return (3, v.ToArray());
    }

    public static (ushort, byte[]) OptionRequest6() => (6, [0, 23, 0, 24]);

    public static (ushort, byte[]) ElapsedTime6() => (8, [0, 0]);

    public static byte[] Dhcp6(byte type, params (ushort Code, byte[] Value)[] options)
    {
        var m = new List<byte> { type, 0x12, 0x34, 0x56 };
        foreach ((ushort code, byte[] value) in options)
        {
            m.AddRange([(byte)(code >> 8), (byte)code, (byte)(value.Length >> 8), (byte)value.Length]);
            m.AddRange(value);
        }
        return m.ToArray();
    }

    public static byte[] Dhcp6Frame(PhysicalAddress mac, string src, byte[] payload, string dst = "ff02::1:2", bool breakChecksum = false)
    {
        var udp = new UdpPacket(546, 547) { PayloadData = payload };
        var ip = new IPv6Packet(IPAddress.Parse(src), IPAddress.Parse(dst)) { HopLimit = 1, PayloadPacket = udp };
        ip.UpdateCalculatedValues();
        udp.UpdateUdpChecksum();
        if (breakChecksum)
        {
            udp.Checksum ^= 0x0101;
        }
        return new EthernetPacket(mac, MulticastMac(dst), EthernetType.IPv6) { PayloadPacket = ip }.Bytes;
    }
}
