using System.Buffers.Binary;

namespace MetalAgent.Packets;

/// <summary>
/// Zero-allocation, bounds-checked parser filling a <see cref="PacketHeaders"/> from a frame.
/// Every malformed input returns a named <see cref="ParseError"/>; nothing here throws or reads
/// outside the span. Offsets it reports are always within the buffer; on success they are ordered
/// L3Offset &lt;= L4Offset &lt;= PayloadOffset &lt;= L3End &lt;= buffer length.
/// </summary>
public static class PacketParser
{
    public const int EthernetHeaderLength = 14;
    public const int MaxVlanTags = 2;
    /// <summary>Longest IPv6 extension-header chain walked before giving up.</summary>
    public const int MaxIPv6ExtensionHeaders = 8;

    /// <summary>Parses Ethernet (up to <see cref="MaxVlanTags"/> 802.1Q/802.1ad tags), then ARP,
    /// IPv4 or IPv6 and their L4 header. <paramref name="h"/> is fully overwritten.</summary>
    public static ParseError ParseEthernet(ReadOnlySpan<byte> frame, ref PacketHeaders h)
    {
        h = default;
        if (frame.Length > ushort.MaxValue)
        {
            return ParseError.FrameTooLong;
        }
        if (frame.Length < EthernetHeaderLength)
        {
            return ParseError.TruncatedEthernet;
        }
        h.DstMac = Addresses.ReadMac(frame);
        h.SrcMac = Addresses.ReadMac(frame[6..]);

        // typeOffset points at the 2-byte TPID/EtherType field currently being decoded.
        int typeOffset = 12;
        ushort etherType = ReadUInt16(frame, typeOffset);
        int tags = 0;
        while (etherType is EtherTypes.Vlan or EtherTypes.QinQ or EtherTypes.QinQLegacy)
        {
            if (tags == MaxVlanTags)
            {
                return ParseError.TooManyVlanTags;
            }
            if (frame.Length < typeOffset + 6)
            {
                return ParseError.TruncatedVlan;
            }
            if (tags == 0)
            {
                h.VlanId = (ushort)(ReadUInt16(frame, typeOffset + 2) & 0x0FFF);
                h.Flags |= PacketFlags.Vlan;
            }
            tags++;
            typeOffset += 4;
            etherType = ReadUInt16(frame, typeOffset);
        }

        h.EtherType = etherType;
        int l3 = typeOffset + 2;
        return etherType switch
        {
            EtherTypes.IPv4 => ParseIPv4<WholePacket>(frame, l3, ref h),
            EtherTypes.IPv6 => ParseIPv6<WholePacket>(frame, l3, ref h),
            EtherTypes.Arp => ParseArp(frame, l3, ref h),
            _ => ParseError.UnsupportedEtherType,
        };
    }

    /// <summary>Parses a raw IPv4 or IPv6 packet starting at <paramref name="offset"/> (for example the
    /// inner packet of IP-in-IPv6, at the outer header's L4Offset). The L2 fields of
    /// <paramref name="h"/> (MACs, VlanId, the Vlan flag) are kept; everything else is overwritten and
    /// EtherType is set from the IP version. All offsets are relative to the start of
    /// <paramref name="packet"/>. The packet ends at the end of the span (or earlier by its own
    /// length field), so pass the outer packet sliced to its L3End.</summary>
    public static ParseError ParseIp(ReadOnlySpan<byte> packet, int offset, ref PacketHeaders h) =>
        ParseIp<WholePacket>(packet, offset, ref h);

    /// <summary>Parses the IP packet quoted in an ICMP or ICMPv6 error (at the error's
    /// <c>L4Offset + 8</c>; pass the outer packet sliced to its L3End). Quotes are usually cut short,
    /// so a total/payload length beyond the buffer is accepted and L3End is clamped to the buffer;
    /// L4 needs only the first 8 bytes (ports, ICMP type/code/echo id) and PayloadOffset stays at
    /// L4Offset. Sets <see cref="PacketFlags.Quoted"/>; otherwise as <see cref="ParseIp"/>.</summary>
    public static ParseError ParseQuotedIp(ReadOnlySpan<byte> packet, int offset, ref PacketHeaders h) =>
        ParseIp<QuotedPacket>(packet, offset, ref h);

    private static ParseError ParseIp<TMode>(ReadOnlySpan<byte> packet, int offset, ref PacketHeaders h)
        where TMode : struct, IParseMode
    {
        ulong dstMac = h.DstMac;
        ulong srcMac = h.SrcMac;
        ushort vlanId = h.VlanId;
        PacketFlags vlanFlag = h.Flags & PacketFlags.Vlan;
        h = default;
        h.DstMac = dstMac;
        h.SrcMac = srcMac;
        h.VlanId = vlanId;
        h.Flags = vlanFlag | (TMode.Quoted ? PacketFlags.Quoted : PacketFlags.None);
        if (packet.Length > ushort.MaxValue)
        {
            return ParseError.FrameTooLong;
        }
        if ((uint)offset >= (uint)packet.Length)
        {
            return ParseError.TruncatedIp;
        }
        switch (packet[offset] >> 4)
        {
            case 4:
                h.EtherType = EtherTypes.IPv4;
                return ParseIPv4<TMode>(packet, offset, ref h);
            case 6:
                h.EtherType = EtherTypes.IPv6;
                return ParseIPv6<TMode>(packet, offset, ref h);
            default:
                return ParseError.UnsupportedIpVersion;
        }
    }

    private static ParseError ParseArp(ReadOnlySpan<byte> frame, int o, ref PacketHeaders h)
    {
        const int ArpLength = 28;
        if (frame.Length - o < ArpLength)
        {
            return ParseError.TruncatedArp;
        }
        ReadOnlySpan<byte> arp = frame.Slice(o, ArpLength);
        ushort op = ReadUInt16(arp, 6);
        // Only Ethernet/IPv4 ARP requests and replies.
        if (ReadUInt16(arp, 0) != 1 || ReadUInt16(arp, 2) != EtherTypes.IPv4 || arp[4] != 6 || arp[5] != 4 || op is not (1 or 2))
        {
            return ParseError.BadArp;
        }
        h.ArpOp = op;
        h.ArpSenderMac = Addresses.ReadMac(arp[8..]);
        h.SrcIp = ReadUInt32(arp, 14);
        h.DstIp = ReadUInt32(arp, 24);
        h.L3Offset = (ushort)o;
        h.L3End = (ushort)(o + ArpLength);
        h.L4Offset = h.L3End;
        h.PayloadOffset = h.L3End;
        return ParseError.None;
    }

    private static ParseError ParseIPv4<TMode>(ReadOnlySpan<byte> frame, int o, ref PacketHeaders h)
        where TMode : struct, IParseMode
    {
        int available = frame.Length - o;
        if (available < 20)
        {
            return ParseError.TruncatedIPv4;
        }
        byte versionIhl = frame[o];
        if (versionIhl >> 4 != 4)
        {
            return ParseError.BadIPv4Version;
        }
        int headerLength = (versionIhl & 0x0F) * 4;
        if (headerLength < 20)
        {
            return ParseError.BadIPv4HeaderLength;
        }
        if (headerLength > available)
        {
            return ParseError.TruncatedIPv4;
        }
        int totalLength = ReadUInt16(frame, o + 2);
        if (totalLength < headerLength || (totalLength > available && !TMode.Quoted))
        {
            return ParseError.BadIPv4TotalLength;
        }

        h.IpVersion = 4;
        h.Tos = frame[o + 1];
        h.FragmentId = ReadUInt16(frame, o + 4);
        ushort flagsOffset = ReadUInt16(frame, o + 6);
        h.Ttl = frame[o + 8];
        h.Protocol = frame[o + 9];
        h.SrcIp = ReadUInt32(frame, o + 12);
        h.DstIp = ReadUInt32(frame, o + 16);
        h.L3Offset = (ushort)o;
        h.L3End = (ushort)(o + Math.Min(totalLength, available));
        h.L4Offset = (ushort)(o + headerLength);
        h.PayloadOffset = h.L4Offset;
        if (headerLength > 20)
        {
            h.Flags |= PacketFlags.IPv4Options;
        }
        if ((flagsOffset & 0x4000) != 0)
        {
            h.Flags |= PacketFlags.DontFragment;
        }

        int fragmentOffset = flagsOffset & 0x1FFF;
        bool moreFragments = (flagsOffset & 0x2000) != 0;
        h.FragmentOffset = (ushort)fragmentOffset;
        if (moreFragments || fragmentOffset != 0)
        {
            // Reassembly past 65535 bytes ("ping of death") is never legitimate.
            if ((fragmentOffset * 8) + totalLength - headerLength > ushort.MaxValue)
            {
                return ParseError.BadIPv4Fragment;
            }
            h.Flags |= PacketFlags.Fragment;
            if (moreFragments)
            {
                h.Flags |= PacketFlags.MoreFragments;
            }
            if (fragmentOffset != 0)
            {
                return ParseError.None;
            }
            h.Flags |= PacketFlags.FirstFragment;
        }
        return ParseL4<TMode>(frame, ref h);
    }

    private static ParseError ParseIPv6<TMode>(ReadOnlySpan<byte> frame, int o, ref PacketHeaders h)
        where TMode : struct, IParseMode
    {
        int available = frame.Length - o;
        if (available < 40)
        {
            return ParseError.TruncatedIPv6;
        }
        uint versionClassFlow = ReadUInt32(frame, o);
        if (versionClassFlow >> 28 != 6)
        {
            return ParseError.BadIPv6Version;
        }
        int payloadLength = ReadUInt16(frame, o + 4);
        byte next = frame[o + 6];
        // Payload length 0 followed by hop-by-hop options marks a jumbogram (RFC 2675): not supported.
        // An empty payload otherwise is legal; L4 parsing reports it as truncated where it matters.
        if ((payloadLength == 0 && next == IpProtocols.HopByHop) || (40 + payloadLength > available && !TMode.Quoted))
        {
            return ParseError.BadIPv6PayloadLength;
        }

        h.IpVersion = 6;
        h.Tos = (byte)(versionClassFlow >> 20);
        h.FlowLabel = versionClassFlow & 0xFFFFF;
        h.Ttl = frame[o + 7];
        h.SrcIp = BinaryPrimitives.ReadUInt128BigEndian(frame.Slice(o + 8, 16));
        h.DstIp = BinaryPrimitives.ReadUInt128BigEndian(frame.Slice(o + 24, 16));
        h.L3Offset = (ushort)o;
        int end = o + 40 + Math.Min(payloadLength, available - 40);
        h.L3End = (ushort)end;

        int pos = o + 40;
        int count = 0;
        while (true)
        {
            if (next is not (IpProtocols.HopByHop or IpProtocols.Routing or IpProtocols.Fragment or IpProtocols.DestinationOptions))
            {
                break;
            }
            if (count == MaxIPv6ExtensionHeaders)
            {
                return ParseError.TooManyIPv6ExtensionHeaders;
            }
            if (next == IpProtocols.HopByHop && count != 0)
            {
                return ParseError.MisplacedIPv6HopByHop;
            }
            if (end - pos < 8)
            {
                return ParseError.TruncatedIPv6ExtensionHeader;
            }
            count++;
            h.Flags |= PacketFlags.IPv6ExtensionHeaders;
            byte headerNext = frame[pos];
            if (next == IpProtocols.Fragment)
            {
                ParseError error = ParseIPv6Fragment<TMode>(frame, pos, end, ref h);
                if (error != ParseError.None)
                {
                    return error;
                }
                pos += 8;
                next = headerNext;
                if (h.FragmentOffset != 0)
                {
                    // A non-first fragment's data is opaque: stop walking.
                    h.Protocol = next;
                    h.L4Offset = (ushort)pos;
                    h.PayloadOffset = (ushort)pos;
                    return ParseError.None;
                }
                continue;
            }
            int headerLength = (frame[pos + 1] + 1) * 8;
            if (end - pos < headerLength)
            {
                return ParseError.TruncatedIPv6ExtensionHeader;
            }
            pos += headerLength;
            next = headerNext;
        }

        h.Protocol = next;
        h.L4Offset = (ushort)pos;
        h.PayloadOffset = (ushort)pos;
        return ParseL4<TMode>(frame, ref h);
    }

    private static ParseError ParseIPv6Fragment<TMode>(ReadOnlySpan<byte> frame, int pos, int end, ref PacketHeaders h)
        where TMode : struct, IParseMode
    {
        if ((h.Flags & PacketFlags.Fragment) != 0)
        {
            return ParseError.BadIPv6Fragment;
        }
        ushort offsetFlags = ReadUInt16(frame, pos + 2);
        int fragmentOffset = offsetFlags >> 3;
        bool moreFragments = (offsetFlags & 1) != 0;
        int fragmentLength = end - pos - 8;
        // A quote is cut short, so its length says nothing about the fragment's.
        if (!TMode.Quoted && ((moreFragments && (fragmentLength & 7) != 0) || (fragmentOffset * 8) + fragmentLength > ushort.MaxValue))
        {
            return ParseError.BadIPv6Fragment;
        }
        h.FragmentOffset = (ushort)fragmentOffset;
        h.FragmentId = ReadUInt32(frame, pos + 4);
        h.Flags |= PacketFlags.Fragment;
        if (moreFragments)
        {
            h.Flags |= PacketFlags.MoreFragments;
        }
        if (fragmentOffset == 0)
        {
            h.Flags |= PacketFlags.FirstFragment;
        }
        return ParseError.None;
    }

    private static ParseError ParseL4<TMode>(ReadOnlySpan<byte> frame, ref PacketHeaders h)
        where TMode : struct, IParseMode
    {
        int o = h.L4Offset;
        int available = h.L3End - o;
        if (TMode.Quoted)
        {
            return ParseQuotedL4(frame, o, available, ref h);
        }
        switch (h.Protocol)
        {
            case IpProtocols.Tcp:
                {
                    if (available < 20)
                    {
                        return ParseError.TruncatedTcp;
                    }
                    int dataOffset = (frame[o + 12] >> 4) * 4;
                    if (dataOffset < 20 || dataOffset > available)
                    {
                        return ParseError.BadTcpDataOffset;
                    }
                    h.SrcPort = ReadUInt16(frame, o);
                    h.DstPort = ReadUInt16(frame, o + 2);
                    h.TcpFlags = frame[o + 13];
                    h.PayloadOffset = (ushort)(o + dataOffset);
                    break;
                }
            case IpProtocols.Udp:
                {
                    if (available < 8)
                    {
                        return ParseError.TruncatedUdp;
                    }
                    int udpLength = ReadUInt16(frame, o + 4);
                    // A first fragment carries only part of the datagram the length describes.
                    if (udpLength < 8 || (udpLength > available && (h.Flags & PacketFlags.Fragment) == 0))
                    {
                        return ParseError.BadUdpLength;
                    }
                    h.SrcPort = ReadUInt16(frame, o);
                    h.DstPort = ReadUInt16(frame, o + 2);
                    h.PayloadOffset = (ushort)(o + 8);
                    break;
                }
            case IpProtocols.Sctp:
                if (available < 12)
                {
                    return ParseError.TruncatedSctp;
                }
                h.SrcPort = ReadUInt16(frame, o);
                h.DstPort = ReadUInt16(frame, o + 2);
                h.PayloadOffset = (ushort)(o + 12);
                break;
            case IpProtocols.Icmp:
                if (available < 8)
                {
                    return ParseError.TruncatedIcmp;
                }
                ParseIcmpFields(frame, o, IcmpTypes.EchoRequest, IcmpTypes.EchoReply, ref h);
                break;
            case IpProtocols.IcmpV6:
                if (available < 8)
                {
                    return ParseError.TruncatedIcmpV6;
                }
                ParseIcmpFields(frame, o, IcmpTypes.V6EchoRequest, IcmpTypes.V6EchoReply, ref h);
                break;
            default:
                // IP-in-IP (4, 41) and anything else: L4Offset marks the payload, no L4 fields.
                return ParseError.None;
        }
        h.Flags |= PacketFlags.HasL4;
        return ParseError.None;
    }

    /// <summary>L4 of a quoted packet: only the 8 bytes ICMP guarantees to quote are required.</summary>
    private static ParseError ParseQuotedL4(ReadOnlySpan<byte> frame, int o, int available, ref PacketHeaders h)
    {
        switch (h.Protocol)
        {
            case IpProtocols.Tcp:
            case IpProtocols.Udp:
            case IpProtocols.Sctp:
                if (available < 8)
                {
                    return h.Protocol switch
                    {
                        IpProtocols.Tcp => ParseError.TruncatedTcp,
                        IpProtocols.Udp => ParseError.TruncatedUdp,
                        _ => ParseError.TruncatedSctp,
                    };
                }
                h.SrcPort = ReadUInt16(frame, o);
                h.DstPort = ReadUInt16(frame, o + 2);
                if (h.Protocol == IpProtocols.Tcp && available >= 14)
                {
                    h.TcpFlags = frame[o + 13];
                }
                break;
            case IpProtocols.Icmp:
            case IpProtocols.IcmpV6:
                if (available < 8)
                {
                    return h.Protocol == IpProtocols.Icmp ? ParseError.TruncatedIcmp : ParseError.TruncatedIcmpV6;
                }
                if (h.Protocol == IpProtocols.Icmp)
                {
                    ParseIcmpFields(frame, o, IcmpTypes.EchoRequest, IcmpTypes.EchoReply, ref h);
                }
                else
                {
                    ParseIcmpFields(frame, o, IcmpTypes.V6EchoRequest, IcmpTypes.V6EchoReply, ref h);
                }
                h.PayloadOffset = (ushort)o;
                break;
            default:
                return ParseError.None;
        }
        h.Flags |= PacketFlags.HasL4;
        return ParseError.None;
    }

    private static void ParseIcmpFields(ReadOnlySpan<byte> frame, int o, byte echoRequest, byte echoReply, ref PacketHeaders h)
    {
        byte type = frame[o];
        h.IcmpType = type;
        h.IcmpCode = frame[o + 1];
        if (type == echoRequest || type == echoReply)
        {
            // The echo identifier plays the role of a port for flow lookup and NAT.
            ushort identifier = ReadUInt16(frame, o + 4);
            h.SrcPort = identifier;
            h.DstPort = identifier;
        }
        h.PayloadOffset = (ushort)(o + 8);
    }

    /// <summary>Parse mode as a struct type parameter, so each mode gets its own specialized code.</summary>
    private interface IParseMode
    {
        static abstract bool Quoted { get; }
    }

    private readonly struct WholePacket : IParseMode
    {
        public static bool Quoted => false;
    }

    private readonly struct QuotedPacket : IParseMode
    {
        public static bool Quoted => true;
    }

    private static ushort ReadUInt16(ReadOnlySpan<byte> s, int offset) => BinaryPrimitives.ReadUInt16BigEndian(s.Slice(offset, 2));

    private static uint ReadUInt32(ReadOnlySpan<byte> s, int offset) => BinaryPrimitives.ReadUInt32BigEndian(s.Slice(offset, 4));
}
