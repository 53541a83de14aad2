using System.Buffers.Binary;

namespace MetalAgent.Packets;

/// <summary>Why an ICMPv6 message is not a usable neighbor-discovery message.</summary>
public enum NdError : byte
{
    None = 0,
    /// <summary>Not RS, RA, NS or NA.</summary>
    UnsupportedType,
    /// <summary>ICMP code is not 0 (RFC 4861 requires receivers to drop these).</summary>
    BadCode,
    /// <summary>Shorter than the fixed part of its type.</summary>
    Truncated,
    /// <summary>An option with length 0 (RFC 4861: discard the packet).</summary>
    ZeroOptionLength,
    /// <summary>An option running past the end of the message.</summary>
    TruncatedOption,
    /// <summary>A link-layer address option that is not one 8-byte unit (not an Ethernet MAC).</summary>
    BadLinkLayerOption,
}

/// <summary>One ND option: its type and its bytes after the type/length octets.</summary>
public readonly ref struct NdOption
{
    public NdOption(byte type, ReadOnlySpan<byte> data)
    {
        Type = type;
        Data = data;
    }

    public byte Type { get; }

    public ReadOnlySpan<byte> Data { get; }
}

/// <summary>Walks ND options; only constructed over options <see cref="NdMessage.TryParse"/> validated.</summary>
public ref struct NdOptionEnumerator
{
    private ReadOnlySpan<byte> _rest;

    internal NdOptionEnumerator(ReadOnlySpan<byte> options)
    {
        _rest = options;
        Current = default;
    }

    public NdOption Current { get; private set; }

    public readonly NdOptionEnumerator GetEnumerator() => this;

    public bool MoveNext()
    {
        if (_rest.Length < 2)
        {
            return false;
        }
        int length = _rest[1] * 8;
        if (length == 0 || length > _rest.Length)
        {
            return false;
        }
        Current = new NdOption(_rest[0], _rest[2..length]);
        _rest = _rest[length..];
        return true;
    }
}

/// <summary>
/// Zero-allocation reader of ICMPv6 neighbor-discovery messages (RS 133, RA 134, NS 135, NA 136)
/// over the ICMPv6 message (<c>packet[h.L4Offset..h.L3End]</c>). <see cref="TryParse"/> checks
/// code, lengths and every option, so the accessors cannot fail. The IPv6-level checks of RFC 4861
/// (hop limit 255, checksum) are the caller's: <c>h.Ttl == NdWriter.HopLimit</c> and
/// <see cref="Checksums.VerifyL4"/>.
/// </summary>
public readonly ref struct NdMessage
{
    private readonly ReadOnlySpan<byte> _message;

    private NdMessage(ReadOnlySpan<byte> message, ReadOnlySpan<byte> options)
    {
        _message = message;
        Options = options;
    }

    public byte Type => _message[0];

    /// <summary>Target address of NS and NA (0 for RS, RA).</summary>
    public UInt128 TargetAddress => Type is IcmpTypes.NeighborSolicitation or IcmpTypes.NeighborAdvertisement
        ? BinaryPrimitives.ReadUInt128BigEndian(_message.Slice(8, 16))
        : UInt128.Zero;

    /// <summary>NA router flag.</summary>
    public bool IsRouter => Type == IcmpTypes.NeighborAdvertisement && (_message[4] & 0x80) != 0;

    /// <summary>NA solicited flag.</summary>
    public bool IsSolicited => Type == IcmpTypes.NeighborAdvertisement && (_message[4] & 0x40) != 0;

    /// <summary>NA override flag.</summary>
    public bool IsOverride => Type == IcmpTypes.NeighborAdvertisement && (_message[4] & 0x20) != 0;

    /// <summary>RA current hop limit.</summary>
    public byte CurHopLimit => Type == IcmpTypes.RouterAdvertisement ? _message[4] : (byte)0;

    /// <summary>RA managed-address-configuration flag (M).</summary>
    public bool IsManaged => Type == IcmpTypes.RouterAdvertisement && (_message[5] & 0x80) != 0;

    /// <summary>RA other-configuration flag (O).</summary>
    public bool IsOther => Type == IcmpTypes.RouterAdvertisement && (_message[5] & 0x40) != 0;

    /// <summary>RA router lifetime in seconds.</summary>
    public ushort RouterLifetime => Type == IcmpTypes.RouterAdvertisement ? BinaryPrimitives.ReadUInt16BigEndian(_message.Slice(6, 2)) : (ushort)0;

    public uint ReachableTime => Type == IcmpTypes.RouterAdvertisement ? BinaryPrimitives.ReadUInt32BigEndian(_message.Slice(8, 4)) : 0;

    public uint RetransTimer => Type == IcmpTypes.RouterAdvertisement ? BinaryPrimitives.ReadUInt32BigEndian(_message.Slice(12, 4)) : 0;

    /// <summary>All options, validated.</summary>
    public ReadOnlySpan<byte> Options { get; }

    /// <summary>Reads and validates an ND message.</summary>
    public static NdError TryParse(ReadOnlySpan<byte> icmpV6, out NdMessage message)
    {
        message = default;
        if (icmpV6.Length < 8)
        {
            return icmpV6.Length == 0 ? NdError.Truncated : (IsNd(icmpV6[0]) ? NdError.Truncated : NdError.UnsupportedType);
        }
        byte type = icmpV6[0];
        int optionsOffset = type switch
        {
            IcmpTypes.RouterSolicitation => NdWriter.RouterSolicitationOptionsOffset,
            IcmpTypes.RouterAdvertisement => NdWriter.RouterAdvertisementOptionsOffset,
            IcmpTypes.NeighborSolicitation or IcmpTypes.NeighborAdvertisement => NdWriter.NeighborOptionsOffset,
            _ => -1,
        };
        if (optionsOffset < 0)
        {
            return NdError.UnsupportedType;
        }
        if (icmpV6[1] != 0)
        {
            return NdError.BadCode;
        }
        if (icmpV6.Length < optionsOffset)
        {
            return NdError.Truncated;
        }
        ReadOnlySpan<byte> options = icmpV6[optionsOffset..];
        ReadOnlySpan<byte> rest = options;
        while (!rest.IsEmpty)
        {
            if (rest.Length < 2)
            {
                return NdError.TruncatedOption;
            }
            int length = rest[1] * 8;
            if (length == 0)
            {
                return NdError.ZeroOptionLength;
            }
            if (length > rest.Length)
            {
                return NdError.TruncatedOption;
            }
            if (rest[0] is (NdWriter.SourceLinkLayerOption or NdWriter.TargetLinkLayerOption) && length != NdWriter.LinkLayerOptionLength)
            {
                return NdError.BadLinkLayerOption;
            }
            rest = rest[length..];
        }
        message = new NdMessage(icmpV6, options);
        return NdError.None;
    }

    public NdOptionEnumerator GetOptions() => new(Options);

    /// <summary>Data of the first option of <paramref name="type"/> (after type and length).</summary>
    public bool TryGetOption(byte type, out ReadOnlySpan<byte> data)
    {
        foreach (NdOption option in GetOptions())
        {
            if (option.Type == type)
            {
                data = option.Data;
                return true;
            }
        }
        data = default;
        return false;
    }

    public bool TryGetSourceLinkLayerAddress(out ulong mac) => TryGetMac(NdWriter.SourceLinkLayerOption, out mac);

    public bool TryGetTargetLinkLayerAddress(out ulong mac) => TryGetMac(NdWriter.TargetLinkLayerOption, out mac);

    /// <summary>MTU option of an RA.</summary>
    public bool TryGetMtu(out uint mtu)
    {
        if (TryGetOption(NdWriter.MtuOption, out ReadOnlySpan<byte> data) && data.Length >= 6)
        {
            mtu = BinaryPrimitives.ReadUInt32BigEndian(data.Slice(2, 4));
            return true;
        }
        mtu = 0;
        return false;
    }

    private bool TryGetMac(byte type, out ulong mac)
    {
        if (TryGetOption(type, out ReadOnlySpan<byte> data))
        {
            mac = Addresses.ReadMac(data);
            return true;
        }
        mac = 0;
        return false;
    }

    private static bool IsNd(byte type) => type is >= IcmpTypes.RouterSolicitation and <= IcmpTypes.NeighborAdvertisement;
}
