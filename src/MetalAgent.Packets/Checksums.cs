using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace MetalAgent.Packets;

/// <summary>Result of checking a parsed packet's L4 checksum.</summary>
public enum L4ChecksumStatus : byte
{
    Valid,
    Invalid,
    /// <summary>UDP over IPv4 with checksum 0: the sender computed none.</summary>
    Absent,
    /// <summary>No L4 header parsed, a fragment (the checksum covers the reassembled datagram), a
    /// packet quoted in an ICMP error, or a protocol without a checksum this library knows (4, 41, ...).</summary>
    NotVerifiable,
}

/// <summary>
/// Internet checksums (RFC 1071) with IPv4/IPv6 pseudo-headers, RFC 1624 incremental updates for
/// NAT rewrites, and SCTP's CRC-32C. Sums are ones'-complement sums of big-endian 16-bit words,
/// carried as uint and folded to 16 bits. All methods are allocation-free. "Compute" methods return
/// the value to store and treat the packet's own checksum field as zero, so they work on a packet
/// whose field is stale; "Verify" methods check the stored value.
/// </summary>
public static class Checksums
{
    public const int TcpChecksumOffset = 16;
    public const int UdpChecksumOffset = 6;
    public const int IcmpChecksumOffset = 2;
    public const int SctpChecksumOffset = 8;
    public const int IPv4ChecksumOffset = 10;

    /// <summary>Ones'-complement sum of <paramref name="data"/> (big-endian 16-bit words, an odd
    /// last byte padded with zero), folded to 16 bits and not complemented. Sums of several spans
    /// can be added and folded as long as every span but the last has even length.</summary>
    public static uint Sum(ReadOnlySpan<byte> data)
    {
        // Sum native-endian 32-bit halves of 8-byte words into 64-bit accumulators: no carries are
        // lost, and ones'-complement sums are byte-order independent (RFC 1071 section 2(B)), so a
        // single byte swap at the end gives the big-endian sum.
        ReadOnlySpan<ulong> words = MemoryMarshal.Cast<byte, ulong>(data);
        ulong acc0 = 0;
        ulong acc1 = 0;
        int i = 0;
        for (; i + 4 <= words.Length; i += 4)
        {
            ulong a = words[i];
            ulong b = words[i + 1];
            ulong c = words[i + 2];
            ulong d = words[i + 3];
            acc0 += (a & 0xFFFF_FFFF) + (a >> 32) + (c & 0xFFFF_FFFF) + (c >> 32);
            acc1 += (b & 0xFFFF_FFFF) + (b >> 32) + (d & 0xFFFF_FFFF) + (d >> 32);
        }
        for (; i < words.Length; i++)
        {
            ulong a = words[i];
            acc0 += (a & 0xFFFF_FFFF) + (a >> 32);
        }
        ulong acc = acc0 + acc1;
        ReadOnlySpan<byte> tail = data[(words.Length * 8)..];
        if (tail.Length >= 4)
        {
            acc += MemoryMarshal.Read<uint>(tail);
            tail = tail[4..];
        }
        if (tail.Length >= 2)
        {
            acc += MemoryMarshal.Read<ushort>(tail);
            tail = tail[2..];
        }
        if (tail.Length == 1)
        {
            // The odd byte is the high byte of a big-endian word padded with zero.
            acc += BitConverter.IsLittleEndian ? tail[0] : (uint)tail[0] << 8;
        }
        ushort folded = Fold(acc);
        return BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness(folded) : folded;
    }

    /// <summary>Folds a wide ones'-complement sum to 16 bits with end-around carries.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort Fold(ulong sum)
    {
        sum = (sum & 0xFFFF_FFFF) + (sum >> 32);
        sum = (sum & 0xFFFF_FFFF) + (sum >> 32);
        while (sum > 0xFFFF)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }
        return (ushort)sum;
    }

    /// <summary>The checksum for a sum: its folded ones' complement.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort Finish(ulong sum) => (ushort)~Fold(sum);

    /// <summary>Internet checksum of <paramref name="data"/> taken as is (a correct packet including
    /// its checksum field gives 0).</summary>
    public static ushort Compute(ReadOnlySpan<byte> data) => (ushort)~Sum(data);

    public static uint PseudoHeaderSumIPv4(uint srcIp, uint dstIp, byte protocol, int l4Length) =>
        (srcIp >> 16) + (srcIp & 0xFFFF) + (dstIp >> 16) + (dstIp & 0xFFFF) + protocol + ((uint)l4Length >> 16) + ((uint)l4Length & 0xFFFF);

    public static uint PseudoHeaderSumIPv6(UInt128 srcIp, UInt128 dstIp, byte nextHeader, int l4Length)
    {
        ulong sum = SumWords((ulong)(srcIp >> 64)) + SumWords((ulong)srcIp) + SumWords((ulong)(dstIp >> 64)) + SumWords((ulong)dstIp)
            + nextHeader + ((uint)l4Length >> 16) + ((uint)l4Length & 0xFFFF);
        return Fold(sum);
    }

    // ---- IPv4 header ----

    /// <summary>Checksum to store in an IPv4 header (<paramref name="header"/> is exactly IHL*4 bytes).</summary>
    public static ushort ComputeIPv4Header(ReadOnlySpan<byte> header) => ComputeExcludingField(header, IPv4ChecksumOffset, 0);

    public static bool VerifyIPv4Header(ReadOnlySpan<byte> header) => Sum(header) == 0xFFFF;

    /// <summary>Computes and stores the checksum of an IPv4 header (IHL taken from the header).</summary>
    public static void WriteIPv4HeaderChecksum(Span<byte> ipv4)
    {
        Span<byte> header = ipv4[..((ipv4[0] & 0x0F) * 4)];
        BinaryPrimitives.WriteUInt16BigEndian(header[IPv4ChecksumOffset..], ComputeIPv4Header(header));
    }

    // ---- TCP / UDP / ICMPv6 with pseudo-headers, ICMPv4 ----

    /// <summary>Checksum to store in a TCP (6), UDP (17) or ICMPv6 (58) <paramref name="segment"/>
    /// carried over IPv4; the segment's own checksum field is ignored. For UDP a computed 0 is
    /// returned as 0xFFFF (0 means "no checksum").</summary>
    public static ushort ComputeIPv4Transport(uint srcIp, uint dstIp, byte protocol, ReadOnlySpan<byte> segment) =>
        ComputeTransport(PseudoHeaderSumIPv4(srcIp, dstIp, protocol, segment.Length), protocol, segment);

    /// <summary>As <see cref="ComputeIPv4Transport"/> with the IPv6 pseudo-header.</summary>
    public static ushort ComputeIPv6Transport(UInt128 srcIp, UInt128 dstIp, byte nextHeader, ReadOnlySpan<byte> segment) =>
        ComputeTransport(PseudoHeaderSumIPv6(srcIp, dstIp, nextHeader, segment.Length), nextHeader, segment);

    public static ushort ComputeTransport(in IpAddressPair ip, byte protocol, ReadOnlySpan<byte> segment) =>
        ip.Version == 4 ? ComputeIPv4Transport((uint)ip.Src, (uint)ip.Dst, protocol, segment) : ComputeIPv6Transport(ip.Src, ip.Dst, protocol, segment);

    public static bool VerifyIPv4Transport(uint srcIp, uint dstIp, byte protocol, ReadOnlySpan<byte> segment) =>
        Fold(PseudoHeaderSumIPv4(srcIp, dstIp, protocol, segment.Length) + Sum(segment)) == 0xFFFF;

    public static bool VerifyIPv6Transport(UInt128 srcIp, UInt128 dstIp, byte nextHeader, ReadOnlySpan<byte> segment) =>
        Fold(PseudoHeaderSumIPv6(srcIp, dstIp, nextHeader, segment.Length) + Sum(segment)) == 0xFFFF;

    /// <summary>Checksum to store in an ICMPv4 message (no pseudo-header).</summary>
    public static ushort ComputeIcmpV4(ReadOnlySpan<byte> message) => ComputeExcludingField(message, IcmpChecksumOffset, 0);

    public static bool VerifyIcmpV4(ReadOnlySpan<byte> message) => Sum(message) == 0xFFFF;

    // ---- SCTP ----

    /// <summary>CRC-32C of an SCTP packet with its checksum field taken as zero.</summary>
    public static uint ComputeSctp(ReadOnlySpan<byte> sctp)
    {
        ReadOnlySpan<byte> zero = [0, 0, 0, 0];
        uint crc = Crc32C.Append(0, sctp[..SctpChecksumOffset]);
        crc = Crc32C.Append(crc, zero);
        return Crc32C.Append(crc, sctp[(SctpChecksumOffset + 4)..]);
    }

    /// <summary>Whether the stored CRC-32C matches (SCTP stores the CRC little-endian, RFC 4960 appendix B).</summary>
    public static bool VerifySctp(ReadOnlySpan<byte> sctp) =>
        sctp.Length >= 12 && BinaryPrimitives.ReadUInt32LittleEndian(sctp[SctpChecksumOffset..]) == ComputeSctp(sctp);

    public static void WriteSctpChecksum(Span<byte> sctp) =>
        BinaryPrimitives.WriteUInt32LittleEndian(sctp[SctpChecksumOffset..], ComputeSctp(sctp));

    // ---- On a parsed packet ----

    /// <summary>Verifies the L4 checksum of a packet parsed into <paramref name="h"/> (TCP, UDP,
    /// SCTP, ICMP, ICMPv6). <paramref name="packet"/> is the buffer the offsets refer to.</summary>
    public static L4ChecksumStatus VerifyL4(ReadOnlySpan<byte> packet, in PacketHeaders h)
    {
        if ((h.Flags & (PacketFlags.HasL4 | PacketFlags.Fragment | PacketFlags.Quoted)) != PacketFlags.HasL4)
        {
            return L4ChecksumStatus.NotVerifiable;
        }
        ReadOnlySpan<byte> segment = packet[h.L4Offset..h.L3End];
        bool valid;
        switch (h.Protocol)
        {
            case IpProtocols.Tcp:
            case IpProtocols.IcmpV6:
                valid = VerifyTransport(h, segment);
                break;
            case IpProtocols.Udp:
                segment = segment[..BinaryPrimitives.ReadUInt16BigEndian(segment[4..])];
                if (BinaryPrimitives.ReadUInt16BigEndian(segment[UdpChecksumOffset..]) == 0)
                {
                    // RFC 8200 section 8.1: IPv6 receivers discard UDP with a zero checksum.
                    return h.IpVersion == 4 ? L4ChecksumStatus.Absent : L4ChecksumStatus.Invalid;
                }
                valid = VerifyTransport(h, segment);
                break;
            case IpProtocols.Icmp:
                valid = VerifyIcmpV4(segment);
                break;
            case IpProtocols.Sctp:
                valid = VerifySctp(segment);
                break;
            default:
                return L4ChecksumStatus.NotVerifiable;
        }
        return valid ? L4ChecksumStatus.Valid : L4ChecksumStatus.Invalid;
    }

    /// <summary>Recomputes and stores the L4 checksum of a packet parsed into <paramref name="h"/>.
    /// Returns false (and writes nothing) when <see cref="VerifyL4"/> would say NotVerifiable.</summary>
    public static bool WriteL4(Span<byte> packet, in PacketHeaders h)
    {
        if ((h.Flags & (PacketFlags.HasL4 | PacketFlags.Fragment | PacketFlags.Quoted)) != PacketFlags.HasL4)
        {
            return false;
        }
        Span<byte> segment = packet[h.L4Offset..h.L3End];
        switch (h.Protocol)
        {
            case IpProtocols.Tcp:
                BinaryPrimitives.WriteUInt16BigEndian(segment[TcpChecksumOffset..], ComputeTransport(h, segment));
                return true;
            case IpProtocols.IcmpV6:
                BinaryPrimitives.WriteUInt16BigEndian(segment[IcmpChecksumOffset..], ComputeTransport(h, segment));
                return true;
            case IpProtocols.Udp:
                segment = segment[..BinaryPrimitives.ReadUInt16BigEndian(segment[4..])];
                ushort udp = ComputeTransport(h, segment);
                // A computed 0 is sent as all ones: 0 means "no checksum" in UDP over IPv4.
                BinaryPrimitives.WriteUInt16BigEndian(segment[UdpChecksumOffset..], udp == 0 ? (ushort)0xFFFF : udp);
                return true;
            case IpProtocols.Icmp:
                BinaryPrimitives.WriteUInt16BigEndian(segment[IcmpChecksumOffset..], ComputeIcmpV4(segment));
                return true;
            case IpProtocols.Sctp:
                WriteSctpChecksum(segment);
                return true;
            default:
                return false;
        }
    }

    // ---- RFC 1624 incremental updates ----

    /// <summary>New checksum after a 16-bit field changed from <paramref name="oldValue"/> to
    /// <paramref name="newValue"/> (RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m')).</summary>
    public static ushort Update16(ushort oldChecksum, ushort oldValue, ushort newValue) =>
        Finish((uint)(ushort)~oldChecksum + (ushort)~oldValue + newValue);

    /// <summary>New checksum after a 32-bit field (an IPv4 address, a sequence number) changed.</summary>
    public static ushort Update32(ushort oldChecksum, uint oldValue, uint newValue) =>
        Finish((ulong)(ushort)~oldChecksum + SumWords(~(ulong)oldValue & 0xFFFF_FFFF) + SumWords(newValue));

    /// <summary>New checksum after a 128-bit field (an IPv6 address in a pseudo-header) changed.</summary>
    public static ushort Update128(ushort oldChecksum, UInt128 oldValue, UInt128 newValue) =>
        Finish((ulong)(ushort)~oldChecksum
            + SumWords(~(ulong)(oldValue >> 64)) + SumWords(~(ulong)oldValue)
            + SumWords((ulong)(newValue >> 64)) + SumWords((ulong)newValue));

    /// <summary><see cref="Update16"/> for a UDP checksum: 0 (none, IPv4) stays 0 and a result of
    /// 0 is stored as 0xFFFF.</summary>
    public static ushort UpdateUdp16(ushort oldChecksum, ushort oldValue, ushort newValue) =>
        oldChecksum == 0 ? (ushort)0 : NonZero(Update16(oldChecksum, oldValue, newValue));

    public static ushort UpdateUdp32(ushort oldChecksum, uint oldValue, uint newValue) =>
        oldChecksum == 0 ? (ushort)0 : NonZero(Update32(oldChecksum, oldValue, newValue));

    public static ushort UpdateUdp128(ushort oldChecksum, UInt128 oldValue, UInt128 newValue) =>
        oldChecksum == 0 ? (ushort)0 : NonZero(Update128(oldChecksum, oldValue, newValue));

    // ---- helpers ----

    private static ushort ComputeTransport(in PacketHeaders h, ReadOnlySpan<byte> segment) =>
        h.IpVersion == 4
            ? ComputeIPv4Transport((uint)h.SrcIp, (uint)h.DstIp, h.Protocol, segment)
            : ComputeIPv6Transport(h.SrcIp, h.DstIp, h.Protocol, segment);

    private static bool VerifyTransport(in PacketHeaders h, ReadOnlySpan<byte> segment) =>
        h.IpVersion == 4
            ? VerifyIPv4Transport((uint)h.SrcIp, (uint)h.DstIp, h.Protocol, segment)
            : VerifyIPv6Transport(h.SrcIp, h.DstIp, h.Protocol, segment);

    private static ushort ComputeTransport(uint pseudoHeaderSum, byte protocol, ReadOnlySpan<byte> segment)
    {
        int fieldOffset = protocol switch
        {
            IpProtocols.Tcp => TcpChecksumOffset,
            IpProtocols.Udp => UdpChecksumOffset,
            _ => IcmpChecksumOffset,
        };
        ushort checksum = ComputeExcludingField(segment, fieldOffset, pseudoHeaderSum);
        return protocol == IpProtocols.Udp ? NonZero(checksum) : checksum;
    }

    /// <summary>Checksum of <paramref name="data"/> plus <paramref name="extra"/> as if the 16-bit
    /// field at (even) <paramref name="fieldOffset"/> were zero. Summing around the field, rather
    /// than subtracting it, keeps the result identical to a from-scratch computation (no +0/-0 mixups).</summary>
    private static ushort ComputeExcludingField(ReadOnlySpan<byte> data, int fieldOffset, uint extra) =>
        Finish((ulong)Sum(data[..fieldOffset]) + Sum(data[(fieldOffset + 2)..]) + extra);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong SumWords(ulong v) => (v >> 48) + ((v >> 32) & 0xFFFF) + ((v >> 16) & 0xFFFF) + (v & 0xFFFF);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ushort NonZero(ushort checksum) => checksum == 0 ? (ushort)0xFFFF : checksum;
}
