using System.Globalization;
using MetalAgent.Packets;

namespace MetalAgent.ControlPlane.Addressing;

/// <summary>An IPv4 or IPv6 address as a number (IPv4 in the low 32 bits), ordered IPv4 first.</summary>
public readonly record struct IpAddressValue(byte Version, UInt128 Value) : IComparable<IpAddressValue>
{
    public int Bits => Version == 4 ? 32 : 128;

    public string Family => Version == 4 ? "IPv4" : "IPv6";

    /// <summary>Parses an address written canonically enough to be unambiguous: dotted-quad IPv4
    /// without leading zeros, or any IPv6 text form without a scope.</summary>
    public static bool TryParse(string? text, out IpAddressValue ip)
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
        ip = new IpAddressValue(version, value);
        return true;
    }

    public static IpAddressValue Parse(string text) =>
        TryParse(text, out IpAddressValue ip) ? ip : throw new FormatException($"not an IP address: {text}");

    /// <summary>True for addresses a VM or a public service can own (not unspecified, loopback, link-local,
    /// multicast, 0/8 or 240/4).</summary>
    public bool IsUnicast
    {
        get
        {
            if (Version == 4)
            {
                uint v = (uint)Value;
                byte first = (byte)(v >> 24);
                return first != 0 && first != 127 && first < 224 && (v >> 16) != 0xA9FE;
            }
            return Value != UInt128.Zero && Value != UInt128.One && (Value >> 120) != 0xFF && (Value >> 118) != 0x3FA;
        }
    }

    /// <summary>The host route of this address (/32 or /128).</summary>
    public IpPrefixValue HostPrefix => new(Version, Value, (byte)Bits);

    public int CompareTo(IpAddressValue other) =>
        Version != other.Version ? Version.CompareTo(other.Version) : Value.CompareTo(other.Value);

    public static bool operator <(IpAddressValue left, IpAddressValue right) => left.CompareTo(right) < 0;

    public static bool operator <=(IpAddressValue left, IpAddressValue right) => left.CompareTo(right) <= 0;

    public static bool operator >(IpAddressValue left, IpAddressValue right) => left.CompareTo(right) > 0;

    public static bool operator >=(IpAddressValue left, IpAddressValue right) => left.CompareTo(right) >= 0;

    public override string ToString() => Addresses.FormatIp(Version, Value);

    internal static string FormatLength(int length) => length.ToString(CultureInfo.InvariantCulture);
}
