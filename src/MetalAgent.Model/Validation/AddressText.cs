using MetalAgent.Packets;

namespace MetalAgent.Model.Validation;

/// <summary>A parsed IP address: version 4 or 6 and its numeric value (IPv4 in the low 32 bits).</summary>
internal readonly record struct IpValue(byte Version, UInt128 Value)
{
    public string Family => Version == 4 ? "IPv4" : "IPv6";

    public string Format() => Addresses.FormatIp(Version, Value);
}

/// <summary>A parsed prefix with host bits cleared.</summary>
internal readonly record struct PrefixValue(byte Version, UInt128 Network, byte Length)
{
    public string Family => Version == 4 ? "IPv4" : "IPv6";

    private int Bits => Version == 4 ? 32 : 128;

    public bool Contains(IpValue ip) => ip.Version == Version && (ip.Value & Mask(Length)) == Network;

    /// <summary>True when <paramref name="inner"/> is this prefix or a more specific prefix inside it.</summary>
    public bool Contains(PrefixValue inner) =>
        inner.Version == Version && inner.Length >= Length && (inner.Network & Mask(Length)) == Network;

    public string Format() => string.Concat(Addresses.FormatIp(Version, Network), "/", Length.ToString(System.Globalization.CultureInfo.InvariantCulture));

    private UInt128 Mask(byte length)
    {
        UInt128 all = Version == 4 ? uint.MaxValue : UInt128.MaxValue;
        return length == 0 ? UInt128.Zero : (all << (Bits - length)) & all;
    }
}

/// <summary>Strict parsing of addresses and prefixes written in specs, on top of <see cref="Addresses"/>.</summary>
internal static class AddressText
{
    /// <summary>Parses an address. IPv4 must be canonical dotted decimal ("10.0.0.1"; not "10.1",
    /// "010.0.0.1" or hex forms, which .NET would otherwise read in surprising ways).</summary>
    public static bool TryParseIp(string text, out IpValue ip)
    {
        ip = default;
        if (!Addresses.TryParseIp(text, out byte version, out UInt128 value))
        {
            return false;
        }
        if (version == 4 && !string.Equals(Addresses.FormatIPv4((uint)value), text, StringComparison.Ordinal))
        {
            return false;
        }
        ip = new IpValue(version, value);
        return true;
    }

    /// <summary>Parses "address/length" with the same strictness as <see cref="TryParseIp"/> for the address.</summary>
    public static bool TryParsePrefix(string text, out PrefixValue prefix, out bool hostBitsSet)
    {
        prefix = default;
        if (!Addresses.TryParsePrefix(text, out byte version, out UInt128 network, out byte length, out hostBitsSet))
        {
            return false;
        }
        int slash = text.IndexOf('/', StringComparison.Ordinal);
        if (!TryParseIp(text[..slash], out _))
        {
            return false;
        }
        // Reject "/024" and similar: the length must be written plainly.
        if (!string.Equals(length.ToString(System.Globalization.CultureInfo.InvariantCulture), text[(slash + 1)..], StringComparison.Ordinal))
        {
            return false;
        }
        prefix = new PrefixValue(version, network, length);
        return true;
    }

    /// <summary>True for addresses a host, a VM or a public service can own: not unspecified, loopback,
    /// link-local, multicast, "this network" (0/8) or the reserved/broadcast block 240/4.</summary>
    public static bool IsUnicast(IpValue ip)
    {
        if (ip.Version == 4)
        {
            uint v = (uint)ip.Value;
            byte first = (byte)(v >> 24);
            return first != 0 && first != 127 && first < 224 && (v >> 16) != 0xA9FE;
        }
        UInt128 x = ip.Value;
        return x != UInt128.Zero
            && x != UInt128.One
            && (x >> 120) != 0xFF
            && (x >> 118) != 0x3FA; // fe80::/10
    }

    /// <summary>Like <see cref="IsUnicast"/> but allows link-local, for next-hop gateways on a link.</summary>
    public static bool IsUnicastOrLinkLocal(IpValue ip)
    {
        if (ip.Version == 4)
        {
            uint v = (uint)ip.Value;
            byte first = (byte)(v >> 24);
            return first != 0 && first != 127 && first < 224;
        }
        return ip.Value != UInt128.Zero && ip.Value != UInt128.One && (ip.Value >> 120) != 0xFF;
    }
}
