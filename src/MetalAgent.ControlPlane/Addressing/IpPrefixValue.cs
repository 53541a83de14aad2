using MetalAgent.Packets;

namespace MetalAgent.ControlPlane.Addressing;

/// <summary>An IP prefix with host bits cleared, ordered IPv4 first, then by network and length.</summary>
public readonly record struct IpPrefixValue(byte Version, UInt128 Network, byte Length) : IComparable<IpPrefixValue>
{
    public int Bits => Version == 4 ? 32 : 128;

    public string Family => Version == 4 ? "IPv4" : "IPv6";

    /// <summary>Parses "address/length"; the address must be written as <see cref="IpAddressValue.TryParse"/>
    /// accepts and the length plainly ("/024" is refused). The result is masked; <paramref name="hostBitsSet"/>
    /// says whether the text had bits beyond the length.</summary>
    public static bool TryParse(string? text, out IpPrefixValue prefix, out bool hostBitsSet)
    {
        prefix = default;
        hostBitsSet = false;
        if (!Addresses.TryParsePrefix(text, out byte version, out UInt128 network, out byte length, out hostBitsSet))
        {
            return false;
        }
        int slash = text!.IndexOf('/', StringComparison.Ordinal);
        if (!IpAddressValue.TryParse(text[..slash], out _)
            || !string.Equals(IpAddressValue.FormatLength(length), text[(slash + 1)..], StringComparison.Ordinal))
        {
            return false;
        }
        prefix = new IpPrefixValue(version, network, length);
        return true;
    }

    public static IpPrefixValue Parse(string text) =>
        TryParse(text, out IpPrefixValue prefix, out bool hostBits) && !hostBits ? prefix : throw new FormatException($"not a prefix: {text}");

    public IpAddressValue NetworkAddress => new(Version, Network);

    public bool Contains(IpAddressValue ip) => ip.Version == Version && (ip.Value & Mask(Length)) == Network;

    /// <summary>True when <paramref name="inner"/> is this prefix or a more specific one inside it.</summary>
    public bool Contains(IpPrefixValue inner) =>
        inner.Version == Version && inner.Length >= Length && (inner.Network & Mask(Length)) == Network;

    public bool Overlaps(IpPrefixValue other) => Contains(other) || other.Contains(this);

    /// <summary>The address at <paramref name="offset"/> from the start of the prefix (no range check).</summary>
    public IpAddressValue At(UInt128 offset) => new(Version, Network + offset);

    /// <summary>Number of host bits (the prefix holds 2^HostBits addresses).</summary>
    public int HostBits => Bits - Length;

    public int CompareTo(IpPrefixValue other)
    {
        if (Version != other.Version)
        {
            return Version.CompareTo(other.Version);
        }
        int c = Network.CompareTo(other.Network);
        return c != 0 ? c : Length.CompareTo(other.Length);
    }

    public static bool operator <(IpPrefixValue left, IpPrefixValue right) => left.CompareTo(right) < 0;

    public static bool operator <=(IpPrefixValue left, IpPrefixValue right) => left.CompareTo(right) <= 0;

    public static bool operator >(IpPrefixValue left, IpPrefixValue right) => left.CompareTo(right) > 0;

    public static bool operator >=(IpPrefixValue left, IpPrefixValue right) => left.CompareTo(right) >= 0;

    public override string ToString() => string.Concat(Addresses.FormatIp(Version, Network), "/", IpAddressValue.FormatLength(Length));

    private UInt128 Mask(byte length)
    {
        UInt128 all = Version == 4 ? uint.MaxValue : UInt128.MaxValue;
        return length == 0 ? UInt128.Zero : (all << (Bits - length)) & all;
    }
}
