using System.Buffers.Binary;

namespace MetalAgent.Packets;

/// <summary>
/// Allocation-free writers for Ethernet, VLAN, ARP, IPv4, IPv6 (+ extension headers), TCP, UDP,
/// SCTP, ICMP, ICMPv6 and the IronCore IP-in-IPv6 underlay header. Each writes one header at the
/// start of <c>dst</c> and returns the number of bytes it wrote (L4 writers: header plus payload).
/// <para>Convention: a frame is built inside out. The L4 payload is placed first, right after the
/// space its header needs; the L4 writer then writes the header and the checksum over header and
/// payload (it needs only the IP addresses, not the IP header); then the IP header (its lengths come
/// from <c>payloadLength</c>, its checksum is computed) and the Ethernet header. Header sizes are
/// the constants below, so offsets are known up front.</para>
/// Writers throw ArgumentException on invalid arguments and ArgumentOutOfRangeException when
/// <c>dst</c> is too small: they are for building replies, where either is a programming error.
/// </summary>
public static class PacketWriter
{
    public const int EthernetHeaderLength = 14;
    public const int VlanTagLength = 4;
    public const int ArpLength = 28;
    public const int IPv4HeaderLength = 20;
    public const int IPv6HeaderLength = 40;
    public const int IPv6FragmentHeaderLength = 8;
    public const int TcpHeaderLength = 20;
    public const int UdpHeaderLength = 8;
    public const int SctpHeaderLength = 12;
    public const int IcmpHeaderLength = 8;
    /// <summary>Outer Ethernet + IPv6 of the IronCore underlay.</summary>
    public const int IPinIPv6HeaderLength = EthernetHeaderLength + IPv6HeaderLength;
    /// <summary>Hop limit of the outer IPv6 header on the underlay.</summary>
    public const byte UnderlayHopLimit = 64;

    // ---- L2 ----

    public static int WriteEthernet(Span<byte> dst, ulong dstMac, ulong srcMac, ushort etherType)
    {
        Addresses.WriteMac(dst[..6], dstMac);
        Addresses.WriteMac(dst.Slice(6, 6), srcMac);
        BinaryPrimitives.WriteUInt16BigEndian(dst.Slice(12, 2), etherType);
        return EthernetHeaderLength;
    }

    /// <summary>Ethernet with one 802.1Q tag (TPID 0x8100).</summary>
    public static int WriteEthernetVlan(Span<byte> dst, ulong dstMac, ulong srcMac, ushort vlanId, ushort etherType, byte priority = 0)
    {
        WriteEthernet(dst, dstMac, srcMac, EtherTypes.Vlan);
        WriteTag(dst[14..], vlanId, priority, etherType);
        return EthernetHeaderLength + VlanTagLength;
    }

    /// <summary>Ethernet with an 802.1ad service tag (TPID 0x88A8) and an 802.1Q customer tag.</summary>
    public static int WriteEthernetQinQ(Span<byte> dst, ulong dstMac, ulong srcMac, ushort outerVlanId, ushort innerVlanId, ushort etherType)
    {
        WriteEthernet(dst, dstMac, srcMac, EtherTypes.QinQ);
        WriteTag(dst[14..], outerVlanId, 0, EtherTypes.Vlan);
        WriteTag(dst[18..], innerVlanId, 0, etherType);
        return EthernetHeaderLength + (2 * VlanTagLength);
    }

    /// <summary>An Ethernet/IPv4 ARP packet (operation 1 request, 2 reply), without Ethernet padding.</summary>
    public static int WriteArp(Span<byte> dst, ushort operation, ulong senderMac, uint senderIp, ulong targetMac, uint targetIp)
    {
        Span<byte> arp = dst[..ArpLength];
        BinaryPrimitives.WriteUInt16BigEndian(arp, 1);
        BinaryPrimitives.WriteUInt16BigEndian(arp[2..], EtherTypes.IPv4);
        arp[4] = 6;
        arp[5] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(arp[6..], operation);
        Addresses.WriteMac(arp[8..], senderMac);
        BinaryPrimitives.WriteUInt32BigEndian(arp[14..], senderIp);
        Addresses.WriteMac(arp[18..], targetMac);
        BinaryPrimitives.WriteUInt32BigEndian(arp[24..], targetIp);
        return ArpLength;
    }

    // ---- L3 ----

    /// <summary>An IPv4 header (with header checksum) for <paramref name="payloadLength"/> bytes of
    /// payload. <paramref name="options"/> must be a multiple of 4 bytes, at most 40. Returns the
    /// header length.</summary>
    public static int WriteIPv4(
        Span<byte> dst,
        uint srcIp,
        uint dstIp,
        byte protocol,
        int payloadLength,
        byte ttl = 64,
        byte tos = 0,
        ushort identification = 0,
        bool dontFragment = false,
        bool moreFragments = false,
        ushort fragmentOffset = 0,
        ReadOnlySpan<byte> options = default)
    {
        if (options.Length % 4 != 0 || options.Length > 40)
        {
            throw new ArgumentException("IPv4 options must be a multiple of 4 bytes, at most 40", nameof(options));
        }
        ArgumentOutOfRangeException.ThrowIfGreaterThan(fragmentOffset, 0x1FFF);
        int headerLength = IPv4HeaderLength + options.Length;
        int totalLength = headerLength + payloadLength;
        if (payloadLength < 0 || totalLength > ushort.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(payloadLength));
        }
        Span<byte> h = dst[..headerLength];
        h[0] = (byte)(0x40 | (headerLength / 4));
        h[1] = tos;
        BinaryPrimitives.WriteUInt16BigEndian(h[2..], (ushort)totalLength);
        BinaryPrimitives.WriteUInt16BigEndian(h[4..], identification);
        int flags = (dontFragment ? 0x4000 : 0) | (moreFragments ? 0x2000 : 0) | fragmentOffset;
        BinaryPrimitives.WriteUInt16BigEndian(h[6..], (ushort)flags);
        h[8] = ttl;
        h[9] = protocol;
        BinaryPrimitives.WriteUInt16BigEndian(h[10..], 0);
        BinaryPrimitives.WriteUInt32BigEndian(h[12..], srcIp);
        BinaryPrimitives.WriteUInt32BigEndian(h[16..], dstIp);
        options.CopyTo(h[IPv4HeaderLength..]);
        BinaryPrimitives.WriteUInt16BigEndian(h[10..], Checksums.ComputeIPv4Header(h));
        return headerLength;
    }

    /// <summary>An IPv6 header; <paramref name="payloadLength"/> counts extension headers too.</summary>
    public static int WriteIPv6(
        Span<byte> dst,
        UInt128 srcIp,
        UInt128 dstIp,
        byte nextHeader,
        int payloadLength,
        byte hopLimit = 64,
        byte trafficClass = 0,
        uint flowLabel = 0)
    {
        if ((uint)payloadLength > ushort.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(payloadLength));
        }
        ArgumentOutOfRangeException.ThrowIfGreaterThan(flowLabel, 0xFFFFFu);
        Span<byte> h = dst[..IPv6HeaderLength];
        BinaryPrimitives.WriteUInt32BigEndian(h, (6u << 28) | ((uint)trafficClass << 20) | flowLabel);
        BinaryPrimitives.WriteUInt16BigEndian(h[4..], (ushort)payloadLength);
        h[6] = nextHeader;
        h[7] = hopLimit;
        BinaryPrimitives.WriteUInt128BigEndian(h[8..], srcIp);
        BinaryPrimitives.WriteUInt128BigEndian(h[24..], dstIp);
        return IPv6HeaderLength;
    }

    /// <summary>A hop-by-hop (0) or destination options (60) header carrying the TLV-encoded
    /// <paramref name="options"/>, padded with Pad1/PadN to a multiple of 8 bytes. Returns its length.</summary>
    public static int WriteIPv6OptionsHeader(Span<byte> dst, byte nextHeader, ReadOnlySpan<byte> options)
    {
        int length = (options.Length + 2 + 7) & ~7;
        if (length > 2048)
        {
            throw new ArgumentException("options header longer than 2048 bytes", nameof(options));
        }
        Span<byte> h = dst[..length];
        h[0] = nextHeader;
        h[1] = (byte)((length / 8) - 1);
        options.CopyTo(h[2..]);
        int padding = length - 2 - options.Length;
        Span<byte> pad = h[(2 + options.Length)..];
        if (padding == 1)
        {
            pad[0] = 0; // Pad1
        }
        else if (padding > 1)
        {
            pad[0] = 1; // PadN
            pad[1] = (byte)(padding - 2);
            pad[2..].Clear();
        }
        return length;
    }

    /// <summary>A routing header (43). 4 + <paramref name="typeSpecificData"/> must be a multiple of 8.</summary>
    public static int WriteIPv6RoutingHeader(Span<byte> dst, byte nextHeader, byte routingType, byte segmentsLeft, ReadOnlySpan<byte> typeSpecificData)
    {
        int length = 4 + typeSpecificData.Length;
        if (length % 8 != 0 || length > 2048)
        {
            throw new ArgumentException("routing header length must be a multiple of 8, at most 2048", nameof(typeSpecificData));
        }
        Span<byte> h = dst[..length];
        h[0] = nextHeader;
        h[1] = (byte)((length / 8) - 1);
        h[2] = routingType;
        h[3] = segmentsLeft;
        typeSpecificData.CopyTo(h[4..]);
        return length;
    }

    /// <summary>A fragment header (44); <paramref name="fragmentOffset"/> is in 8-byte units.</summary>
    public static int WriteIPv6FragmentHeader(Span<byte> dst, byte nextHeader, ushort fragmentOffset, bool moreFragments, uint identification)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(fragmentOffset, 0x1FFF);
        Span<byte> h = dst[..IPv6FragmentHeaderLength];
        h[0] = nextHeader;
        h[1] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(h[2..], (ushort)((fragmentOffset << 3) | (moreFragments ? 1 : 0)));
        BinaryPrimitives.WriteUInt32BigEndian(h[4..], identification);
        return IPv6FragmentHeaderLength;
    }

    /// <summary>Outer Ethernet + IPv6 of the IronCore underlay in front of an inner IPv4
    /// (<paramref name="innerProtocol"/> 4) or IPv6 (41) packet of <paramref name="innerLength"/>
    /// bytes, hop limit 64. Returns 54.</summary>
    public static int WriteIPinIPv6(Span<byte> dst, ulong dstMac, ulong srcMac, UInt128 srcIp, UInt128 dstIp, byte innerProtocol, int innerLength, uint flowLabel)
    {
        if (innerProtocol is not (IpProtocols.IPv4InIp or IpProtocols.IPv6InIp))
        {
            throw new ArgumentOutOfRangeException(nameof(innerProtocol), innerProtocol, "must be 4 or 41");
        }
        WriteEthernet(dst, dstMac, srcMac, EtherTypes.IPv6);
        WriteIPv6(dst[EthernetHeaderLength..], srcIp, dstIp, innerProtocol, innerLength, UnderlayHopLimit, 0, flowLabel);
        return IPinIPv6HeaderLength;
    }

    /// <summary>A non-zero 20-bit flow label from a flow hash (RFC 6437 asks for non-zero labels).</summary>
    public static uint FlowLabelFromHash(uint flowHash)
    {
        uint label = (flowHash ^ (flowHash >> 20)) & 0xFFFFF;
        return label == 0 ? 1u : label;
    }

    // ---- L4 (payload already in place after the header) ----

    /// <summary>UDP header plus checksum over the <paramref name="payloadLength"/> bytes already at
    /// <c>dst[8..]</c>. Returns 8 + payloadLength.</summary>
    public static int WriteUdp(Span<byte> dst, in IpAddressPair ip, ushort srcPort, ushort dstPort, int payloadLength)
    {
        int length = UdpHeaderLength + payloadLength;
        if (payloadLength < 0 || length > ushort.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(payloadLength));
        }
        Span<byte> segment = dst[..length];
        BinaryPrimitives.WriteUInt16BigEndian(segment, srcPort);
        BinaryPrimitives.WriteUInt16BigEndian(segment[2..], dstPort);
        BinaryPrimitives.WriteUInt16BigEndian(segment[4..], (ushort)length);
        BinaryPrimitives.WriteUInt16BigEndian(segment[6..], Checksums.ComputeTransport(ip, IpProtocols.Udp, segment));
        return length;
    }

    /// <summary>TCP header (with <paramref name="options"/>, a multiple of 4 bytes, at most 40) plus
    /// checksum over the payload already at <c>dst[(20 + options.Length)..]</c>. Returns header + payload length.</summary>
    public static int WriteTcp(
        Span<byte> dst,
        in IpAddressPair ip,
        ushort srcPort,
        ushort dstPort,
        uint sequence,
        uint acknowledgment,
        byte flags,
        ushort window,
        int payloadLength,
        ReadOnlySpan<byte> options = default,
        ushort urgentPointer = 0)
    {
        if (options.Length % 4 != 0 || options.Length > 40)
        {
            throw new ArgumentException("TCP options must be a multiple of 4 bytes, at most 40", nameof(options));
        }
        int headerLength = TcpHeaderLength + options.Length;
        ArgumentOutOfRangeException.ThrowIfNegative(payloadLength);
        Span<byte> segment = dst[..(headerLength + payloadLength)];
        BinaryPrimitives.WriteUInt16BigEndian(segment, srcPort);
        BinaryPrimitives.WriteUInt16BigEndian(segment[2..], dstPort);
        BinaryPrimitives.WriteUInt32BigEndian(segment[4..], sequence);
        BinaryPrimitives.WriteUInt32BigEndian(segment[8..], acknowledgment);
        segment[12] = (byte)((headerLength / 4) << 4);
        segment[13] = flags;
        BinaryPrimitives.WriteUInt16BigEndian(segment[14..], window);
        BinaryPrimitives.WriteUInt16BigEndian(segment[18..], urgentPointer);
        options.CopyTo(segment[TcpHeaderLength..]);
        BinaryPrimitives.WriteUInt16BigEndian(segment[16..], Checksums.ComputeTransport(ip, IpProtocols.Tcp, segment));
        return segment.Length;
    }

    /// <summary>SCTP common header plus CRC-32C over the <paramref name="chunksLength"/> bytes of
    /// chunks already at <c>dst[12..]</c> (see <see cref="WriteSctpChunk"/>).</summary>
    public static int WriteSctp(Span<byte> dst, ushort srcPort, ushort dstPort, uint verificationTag, int chunksLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(chunksLength);
        Span<byte> packet = dst[..(SctpHeaderLength + chunksLength)];
        BinaryPrimitives.WriteUInt16BigEndian(packet, srcPort);
        BinaryPrimitives.WriteUInt16BigEndian(packet[2..], dstPort);
        BinaryPrimitives.WriteUInt32BigEndian(packet[4..], verificationTag);
        Checksums.WriteSctpChecksum(packet);
        return packet.Length;
    }

    /// <summary>One SCTP chunk (type, flags, length, value) zero-padded to 4 bytes; returns the padded length.</summary>
    public static int WriteSctpChunk(Span<byte> dst, byte type, byte flags, ReadOnlySpan<byte> value)
    {
        int length = 4 + value.Length;
        if (length > ushort.MaxValue)
        {
            throw new ArgumentException("chunk too long", nameof(value));
        }
        int padded = (length + 3) & ~3;
        Span<byte> chunk = dst[..padded];
        chunk[0] = type;
        chunk[1] = flags;
        BinaryPrimitives.WriteUInt16BigEndian(chunk[2..], (ushort)length);
        value.CopyTo(chunk[4..]);
        chunk[length..].Clear();
        return padded;
    }

    /// <summary>ICMPv4 header (type, code, 4 bytes rest-of-header) plus checksum over the payload
    /// already at <c>dst[8..]</c>. Returns 8 + payloadLength.</summary>
    public static int WriteIcmp(Span<byte> dst, byte type, byte code, uint restOfHeader, int payloadLength)
    {
        Span<byte> message = WriteIcmpHeader(dst, type, code, restOfHeader, payloadLength);
        BinaryPrimitives.WriteUInt16BigEndian(message[2..], Checksums.ComputeIcmpV4(message));
        return message.Length;
    }

    public static int WriteIcmpEcho(Span<byte> dst, bool reply, ushort identifier, ushort sequence, int payloadLength) =>
        WriteIcmp(dst, reply ? IcmpTypes.EchoReply : IcmpTypes.EchoRequest, 0, ((uint)identifier << 16) | sequence, payloadLength);

    /// <summary>ICMPv6 header plus checksum (with the IPv6 pseudo-header) over the payload already at
    /// <c>dst[8..]</c>. Returns 8 + payloadLength.</summary>
    public static int WriteIcmpV6(Span<byte> dst, UInt128 srcIp, UInt128 dstIp, byte type, byte code, uint restOfHeader, int payloadLength)
    {
        Span<byte> message = WriteIcmpHeader(dst, type, code, restOfHeader, payloadLength);
        BinaryPrimitives.WriteUInt16BigEndian(message[2..], Checksums.ComputeIPv6Transport(srcIp, dstIp, IpProtocols.IcmpV6, message));
        return message.Length;
    }

    public static int WriteIcmpV6Echo(Span<byte> dst, UInt128 srcIp, UInt128 dstIp, bool reply, ushort identifier, ushort sequence, int payloadLength) =>
        WriteIcmpV6(dst, srcIp, dstIp, reply ? IcmpTypes.V6EchoReply : IcmpTypes.V6EchoRequest, 0, ((uint)identifier << 16) | sequence, payloadLength);

    private static Span<byte> WriteIcmpHeader(Span<byte> dst, byte type, byte code, uint restOfHeader, int payloadLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(payloadLength);
        Span<byte> message = dst[..(IcmpHeaderLength + payloadLength)];
        message[0] = type;
        message[1] = code;
        BinaryPrimitives.WriteUInt16BigEndian(message[2..], 0);
        BinaryPrimitives.WriteUInt32BigEndian(message[4..], restOfHeader);
        return message;
    }

    private static void WriteTag(Span<byte> dst, ushort vlanId, byte priority, ushort nextType)
    {
        if (vlanId > 0xFFF || priority > 7)
        {
            throw new ArgumentOutOfRangeException(nameof(vlanId), "VLAN id is 12 bits, priority 3 bits");
        }
        BinaryPrimitives.WriteUInt16BigEndian(dst, (ushort)((priority << 13) | vlanId));
        BinaryPrimitives.WriteUInt16BigEndian(dst[2..], nextType);
    }
}
