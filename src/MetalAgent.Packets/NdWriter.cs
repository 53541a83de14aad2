using System.Buffers.Binary;

namespace MetalAgent.Packets;

/// <summary>
/// Allocation-free writers for ICMPv6 neighbor discovery (RFC 4861): NS, NA, RS, RA and their
/// options. Message writers write the whole ICMPv6 message including its checksum (so they need
/// the IPv6 source and destination) and return its length; put the IPv6 header in front with hop
/// limit 255 (<see cref="HopLimit"/>). RA options are written first with the option writers at
/// <see cref="RouterAdvertisementOptionsOffset"/>, then the RA header over them.
/// </summary>
public static class NdWriter
{
    /// <summary>Every ND message is sent, and must be received, with hop limit 255.</summary>
    public const byte HopLimit = 255;
    public const int RouterSolicitationOptionsOffset = 8;
    public const int RouterAdvertisementOptionsOffset = 16;
    /// <summary>Options offset of NS and NA (after the 16-byte target).</summary>
    public const int NeighborOptionsOffset = 24;
    public const int LinkLayerOptionLength = 8;
    public const int MtuOptionLength = 8;
    public const int PrefixInformationOptionLength = 32;

    public const byte SourceLinkLayerOption = 1;
    public const byte TargetLinkLayerOption = 2;
    public const byte PrefixInformationOption = 3;
    public const byte MtuOption = 5;
    public const byte RecursiveDnsServerOption = 25;

    /// <summary>Neighbor solicitation for <paramref name="target"/>, with a source link-layer option
    /// when <paramref name="sourceMac"/> is given (omit it for duplicate address detection).</summary>
    public static int WriteNeighborSolicitation(Span<byte> dst, UInt128 srcIp, UInt128 dstIp, UInt128 target, ulong? sourceMac)
    {
        int length = NeighborOptionsOffset;
        if (sourceMac is ulong mac)
        {
            length += WriteLinkLayerOption(dst[NeighborOptionsOffset..], SourceLinkLayerOption, mac);
        }
        BinaryPrimitives.WriteUInt128BigEndian(dst.Slice(8, 16), target);
        return PacketWriter.WriteIcmpV6(dst, srcIp, dstIp, IcmpTypes.NeighborSolicitation, 0, 0, length - 8);
    }

    /// <summary>Neighbor advertisement for <paramref name="target"/> with R/S/O flags and a target
    /// link-layer option when <paramref name="targetMac"/> is given.</summary>
    public static int WriteNeighborAdvertisement(
        Span<byte> dst, UInt128 srcIp, UInt128 dstIp, UInt128 target, bool router, bool solicited, bool isOverride, ulong? targetMac)
    {
        int length = NeighborOptionsOffset;
        if (targetMac is ulong mac)
        {
            length += WriteLinkLayerOption(dst[NeighborOptionsOffset..], TargetLinkLayerOption, mac);
        }
        BinaryPrimitives.WriteUInt128BigEndian(dst.Slice(8, 16), target);
        uint flags = (router ? 0x8000_0000u : 0) | (solicited ? 0x4000_0000u : 0) | (isOverride ? 0x2000_0000u : 0);
        return PacketWriter.WriteIcmpV6(dst, srcIp, dstIp, IcmpTypes.NeighborAdvertisement, 0, flags, length - 8);
    }

    public static int WriteRouterSolicitation(Span<byte> dst, UInt128 srcIp, UInt128 dstIp, ulong? sourceMac)
    {
        int length = RouterSolicitationOptionsOffset;
        if (sourceMac is ulong mac)
        {
            length += WriteLinkLayerOption(dst[RouterSolicitationOptionsOffset..], SourceLinkLayerOption, mac);
        }
        return PacketWriter.WriteIcmpV6(dst, srcIp, dstIp, IcmpTypes.RouterSolicitation, 0, 0, length - 8);
    }

    /// <summary>Router advertisement over <paramref name="optionsLength"/> bytes of options already at
    /// <c>dst[16..]</c>. Lifetimes in seconds, times in milliseconds (0 = unspecified).</summary>
    public static int WriteRouterAdvertisement(
        Span<byte> dst,
        UInt128 srcIp,
        UInt128 dstIp,
        byte curHopLimit,
        bool managed,
        bool other,
        ushort routerLifetime,
        uint reachableTime,
        uint retransTimer,
        int optionsLength)
    {
        BinaryPrimitives.WriteUInt32BigEndian(dst.Slice(8, 4), reachableTime);
        BinaryPrimitives.WriteUInt32BigEndian(dst.Slice(12, 4), retransTimer);
        uint rest = ((uint)curHopLimit << 24) | (managed ? 0x80_0000u : 0) | (other ? 0x40_0000u : 0) | routerLifetime;
        return PacketWriter.WriteIcmpV6(dst, srcIp, dstIp, IcmpTypes.RouterAdvertisement, 0, rest, RouterAdvertisementOptionsOffset - 8 + optionsLength);
    }

    /// <summary>Source (1) or target (2) link-layer address option for an Ethernet MAC. Returns 8.</summary>
    public static int WriteLinkLayerOption(Span<byte> dst, byte optionType, ulong mac)
    {
        Span<byte> o = dst[..LinkLayerOptionLength];
        o[0] = optionType;
        o[1] = 1;
        Addresses.WriteMac(o[2..], mac);
        return LinkLayerOptionLength;
    }

    public static int WriteMtuOption(Span<byte> dst, uint mtu)
    {
        Span<byte> o = dst[..MtuOptionLength];
        o[0] = MtuOption;
        o[1] = 1;
        BinaryPrimitives.WriteUInt16BigEndian(o[2..], 0);
        BinaryPrimitives.WriteUInt32BigEndian(o[4..], mtu);
        return MtuOptionLength;
    }

    /// <summary>Prefix information option (L = on-link, A = autonomous address configuration). Returns 32.</summary>
    public static int WritePrefixInformationOption(
        Span<byte> dst, UInt128 prefix, byte prefixLength, bool onLink, bool autonomous, uint validLifetime, uint preferredLifetime)
    {
        if (prefixLength > 128)
        {
            throw new ArgumentOutOfRangeException(nameof(prefixLength));
        }
        Span<byte> o = dst[..PrefixInformationOptionLength];
        o[0] = PrefixInformationOption;
        o[1] = 4;
        o[2] = prefixLength;
        o[3] = (byte)((onLink ? 0x80 : 0) | (autonomous ? 0x40 : 0));
        BinaryPrimitives.WriteUInt32BigEndian(o[4..], validLifetime);
        BinaryPrimitives.WriteUInt32BigEndian(o[8..], preferredLifetime);
        BinaryPrimitives.WriteUInt32BigEndian(o[12..], 0);
        BinaryPrimitives.WriteUInt128BigEndian(o[16..], prefix);
        return PrefixInformationOptionLength;
    }

    /// <summary>Recursive DNS server option (RFC 8106). Returns 8 + 16 per server.</summary>
    public static int WriteRecursiveDnsServerOption(Span<byte> dst, uint lifetime, ReadOnlySpan<UInt128> servers)
    {
        if (servers.IsEmpty || servers.Length > 127)
        {
            throw new ArgumentException("1 to 127 servers", nameof(servers));
        }
        int length = 8 + (16 * servers.Length);
        Span<byte> o = dst[..length];
        o[0] = RecursiveDnsServerOption;
        o[1] = (byte)(length / 8);
        BinaryPrimitives.WriteUInt16BigEndian(o[2..], 0);
        BinaryPrimitives.WriteUInt32BigEndian(o[4..], lifetime);
        for (int i = 0; i < servers.Length; i++)
        {
            BinaryPrimitives.WriteUInt128BigEndian(o[(8 + (16 * i))..], servers[i]);
        }
        return length;
    }
}
