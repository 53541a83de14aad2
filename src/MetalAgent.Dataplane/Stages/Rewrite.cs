using System.Buffers.Binary;
using MetalAgent.Packets;

namespace MetalAgent.Dataplane.Stages;

/// <summary>
/// Address and port rewriting for translations, patching every checksum incrementally
/// (RFC 1624): the IPv4 header checksum, and the TCP, UDP and ICMPv6 checksums through the
/// pseudo-header. ICMP echo identifiers stand in for ports. SCTP's CRC32c covers no pseudo-header,
/// so only a port change makes it recompute. Non-first fragments carry no L4 header and get only
/// the address change.
/// </summary>
public static class Rewrite
{
    /// <summary>Rewrites the source address and port (port ignored for protocols without ports).</summary>
    public static void Source(Span<byte> frame, ref PacketHeaders h, UInt128 ip, ushort port)
    {
        Address(frame, in h, source: true, ip);
        Port(frame, in h, source: true, port);
        h.SrcIp = ip;
        if ((h.Flags & PacketFlags.HasL4) != 0 && HasPorts(in h))
        {
            h.SrcPort = port;
            if (IsEcho(in h))
            {
                h.DstPort = port;
            }
        }
    }

    /// <summary>Rewrites the destination address and port.</summary>
    public static void Destination(Span<byte> frame, ref PacketHeaders h, UInt128 ip, ushort port)
    {
        Address(frame, in h, source: false, ip);
        Port(frame, in h, source: false, port);
        h.DstIp = ip;
        if ((h.Flags & PacketFlags.HasL4) != 0 && HasPorts(in h))
        {
            h.DstPort = port;
            if (IsEcho(in h))
            {
                h.SrcPort = port;
            }
        }
    }

    private static bool IsEcho(in PacketHeaders h) =>
        (h.Protocol == 1 && (h.IcmpType == 8 || h.IcmpType == 0)) || (h.Protocol == 58 && (h.IcmpType == 128 || h.IcmpType == 129));

    private static bool HasPorts(in PacketHeaders h) => h.Protocol is 6 or 17 or 132 || IsEcho(in h);

    /// <summary>Offset of the L4 checksum that covers the pseudo-header, or -1.</summary>
    private static int PseudoChecksumOffset(Span<byte> frame, in PacketHeaders h)
    {
        if ((h.Flags & PacketFlags.HasL4) == 0)
        {
            return -1;
        }
        int checksumAt = h.Protocol switch { 6 => h.L4Offset + 16, 17 => h.L4Offset + 6, _ => h.L4Offset + 2 };
        if (checksumAt + 2 > h.L3End)
        {
            return -1; // a quoted packet in an ICMP error carries only the first 8 bytes of L4
        }
        switch (h.Protocol)
        {
            case 6:
                return h.L4Offset + 16;
            case 17:
                int offset = h.L4Offset + 6;
                // An IPv4 UDP checksum of 0 means "none": leave it so.
                return h.IpVersion == 4 && BinaryPrimitives.ReadUInt16BigEndian(frame[offset..]) == 0 ? -1 : offset;
            case 58:
                return h.L4Offset + 2;
            default:
                return -1;
        }
    }

    private static void Address(Span<byte> frame, in PacketHeaders h, bool source, UInt128 ip)
    {
        int l4Sum = PseudoChecksumOffset(frame, in h);
        if (h.IpVersion == 4)
        {
            int at = h.L3Offset + (source ? 12 : 16);
            uint old = BinaryPrimitives.ReadUInt32BigEndian(frame[at..]);
            uint now = (uint)ip;
            BinaryPrimitives.WriteUInt32BigEndian(frame[at..], now);
            Patch32(frame, h.L3Offset + 10, old, now);
            if (l4Sum >= 0)
            {
                ushort check = BinaryPrimitives.ReadUInt16BigEndian(frame[l4Sum..]);
                check = h.Protocol == 17 ? Checksums.UpdateUdp32(check, old, now) : Checksums.Update32(check, old, now);
                BinaryPrimitives.WriteUInt16BigEndian(frame[l4Sum..], check);
            }
        }
        else
        {
            int at = h.L3Offset + (source ? 8 : 24);
            UInt128 old = BinaryPrimitives.ReadUInt128BigEndian(frame[at..]);
            BinaryPrimitives.WriteUInt128BigEndian(frame[at..], ip);
            if (l4Sum >= 0)
            {
                ushort check = BinaryPrimitives.ReadUInt16BigEndian(frame[l4Sum..]);
                check = h.Protocol == 17 ? Checksums.UpdateUdp128(check, old, ip) : Checksums.Update128(check, old, ip);
                BinaryPrimitives.WriteUInt16BigEndian(frame[l4Sum..], check);
            }
        }
    }

    private static void Port(Span<byte> frame, in PacketHeaders h, bool source, ushort port)
    {
        if ((h.Flags & PacketFlags.HasL4) == 0)
        {
            return;
        }
        int at;
        int sum;
        if (h.Protocol is 6 or 17 or 132)
        {
            at = h.L4Offset + (source ? 0 : 2);
            sum = h.Protocol == 132 ? -1 : PseudoChecksumOffset(frame, in h);
        }
        else if (IsEcho(in h))
        {
            at = h.L4Offset + 4;
            sum = h.L4Offset + 2;
        }
        else
        {
            return;
        }
        ushort old = BinaryPrimitives.ReadUInt16BigEndian(frame[at..]);
        if (old == port)
        {
            return;
        }
        BinaryPrimitives.WriteUInt16BigEndian(frame[at..], port);
        if (sum >= 0)
        {
            ushort check = BinaryPrimitives.ReadUInt16BigEndian(frame[sum..]);
            check = h.Protocol == 17 ? Checksums.UpdateUdp16(check, old, port) : Checksums.Update16(check, old, port);
            BinaryPrimitives.WriteUInt16BigEndian(frame[sum..], check);
        }
        if (h.Protocol == 132)
        {
            Checksums.WriteSctpChecksum(frame[h.L4Offset..h.L3End]);
        }
    }

    private static void Patch32(Span<byte> frame, int checksumOffset, uint oldValue, uint newValue)
    {
        ushort check = BinaryPrimitives.ReadUInt16BigEndian(frame[checksumOffset..]);
        BinaryPrimitives.WriteUInt16BigEndian(frame[checksumOffset..], Checksums.Update32(check, oldValue, newValue));
    }
}
