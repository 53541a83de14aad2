using System.Globalization;
using System.Net;
using System.Net.Sockets;
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

    public bool Contains(IpValue ip) => ip.Version == Version && (ip.Value & AddressText.Mask(Version, Length)) == Network;

    /// <summary>True when <paramref name="inner"/> is this prefix or a more specific prefix inside it.</summary>
    public bool Contains(PrefixValue inner) =>
        inner.Version == Version && inner.Length >= Length && (inner.Network & AddressText.Mask(Version, Length)) == Network;

    public string Format() => string.Concat(Addresses.FormatIp(Version, Network), "/", Length.ToString(CultureInfo.InvariantCulture));
}

/// <summary>Strict parsing of addresses and prefixes written in specs. It accepts what
/// <see cref="Addresses.TryParseIp"/> and <see cref="Addresses.TryParsePrefix"/> accept, minus
/// non-canonical IPv4 ("10.1", "010.0.0.1", hex), which .NET would read in surprising ways, and
/// prefix lengths with leading zeros or signs. IPv4 is parsed here without allocating, because
/// specs carry hundreds of thousands of addresses.</summary>
internal static class AddressText
{
    public static bool TryParseIp(string text, out IpValue ip) => TryParseIp(text.AsSpan(), out ip);

    public static bool TryParseIp(ReadOnlySpan<char> text, out IpValue ip)
    {
        ip = default;
        if (text.IsEmpty)
        {
            return false;
        }
        if (text.Contains(':'))
        {
            // IPv6; scoped addresses ("fe80::1%eth0") are not addresses a spec can name.
            if (text.Contains('%') || text.Contains('/') || !IPAddress.TryParse(text, out IPAddress? address)
                || address.AddressFamily != AddressFamily.InterNetworkV6)
            {
                return false;
            }
            ip = new IpValue(6, Addresses.ToUInt128(address));
            return true;
        }
        if (!TryParseIPv4(text, out uint v4))
        {
            return false;
        }
        ip = new IpValue(4, v4);
        return true;
    }

    /// <summary>Parses "address/length"; <paramref name="hostBitsSet"/> tells whether bits beyond the length
    /// were set. The returned prefix is always masked.</summary>
    public static bool TryParsePrefix(string text, out PrefixValue prefix, out bool hostBitsSet)
    {
        prefix = default;
        hostBitsSet = false;
        int slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || !TryParseIp(text.AsSpan(0, slash), out IpValue ip)
            || !TryParseDecimal(text.AsSpan(slash + 1), out uint length) || length > (ip.Version == 4 ? 32u : 128u))
        {
            return false;
        }
        UInt128 mask = Mask(ip.Version, (byte)length);
        hostBitsSet = (ip.Value & ~mask & (ip.Version == 4 ? uint.MaxValue : UInt128.MaxValue)) != UInt128.Zero;
        prefix = new PrefixValue(ip.Version, ip.Value & mask, (byte)length);
        return true;
    }

    /// <summary>The network mask of a prefix length, in the low 32 bits for IPv4.</summary>
    public static UInt128 Mask(byte version, byte length)
    {
        if (length == 0)
        {
            return UInt128.Zero;
        }
        return version == 4 ? (UInt128)(uint.MaxValue << (32 - length)) : UInt128.MaxValue << (128 - length);
    }

    /// <summary>True for addresses a host, a VM or a public service can own: not unspecified, loopback,
    /// link-local, multicast, "this network" (0/8) or the reserved/broadcast block 240/4.</summary>
    public static bool IsUnicast(IpValue ip)
    {
        if (ip.Version == 4)
        {
            uint v = (uint)ip.Value;
            return IsUnicastOrLinkLocal(ip) && (v >> 16) != 0xA9FE; // 169.254/16
        }
        return IsUnicastOrLinkLocal(ip) && (ip.Value >> 118) != 0x3FA; // fe80::/10
    }

    /// <summary>Like <see cref="IsUnicast"/> but allows link-local, for next-hop gateways on a link.</summary>
    public static bool IsUnicastOrLinkLocal(IpValue ip)
    {
        if (ip.Version == 4)
        {
            uint first = (uint)ip.Value >> 24;
            return first != 0 && first != 127 && first < 224;
        }
        return ip.Value != UInt128.Zero && ip.Value != UInt128.One && (ip.Value >> 120) != 0xFF;
    }

    /// <summary>Canonical dotted decimal: four parts of 0..255, no leading zeros, nothing else.</summary>
    private static bool TryParseIPv4(ReadOnlySpan<char> text, out uint value)
    {
        value = 0;
        int part = 0;
        int start = 0;
        for (int i = 0; i <= text.Length; i++)
        {
            if (i < text.Length && text[i] != '.')
            {
                continue;
            }
            if (part == 4 || !TryParseDecimal(text[start..i], out uint octet) || octet > 255)
            {
                return false;
            }
            value = (value << 8) | octet;
            part++;
            start = i + 1;
        }
        return part == 4;
    }

    /// <summary>Plain decimal: 1..3 digits, no sign, no leading zero (except "0" itself).</summary>
    private static bool TryParseDecimal(ReadOnlySpan<char> digits, out uint value)
    {
        value = 0;
        if (digits.IsEmpty || digits.Length > 3 || (digits.Length > 1 && digits[0] == '0'))
        {
            return false;
        }
        foreach (char c in digits)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
            value = (value * 10) + (uint)(c - '0');
        }
        return true;
    }
}
