using MetalAgent.Packets;

namespace MetalAgent.Agent.Router;

/// <summary>
/// The underlay router's own addressing: its /128 on the underlay and the underlay next hop, its
/// addresses on the internet link (an IPv4 and/or an IPv6 prefix) and optional internet gateways.
/// Without an internet gateway of a family, destinations of that family must be on the internet link.
/// </summary>
public sealed class RouterSpec
{
    /// <summary>The router's underlay address (the hosts' default-route destination).</summary>
    public required UInt128 UnderlayAddress { get; init; }

    /// <summary>The underlay next hop (IPv6) whose MAC is resolved by neighbor discovery.</summary>
    public required UInt128 UnderlayGateway { get; init; }

    /// <summary>A pinned MAC of the underlay next hop; 0 resolves it.</summary>
    public ulong UnderlayGatewayMac { get; init; }

    /// <summary>The router's IPv4 address on the internet link and its prefix length (0/0: none).</summary>
    public uint InternetIPv4 { get; init; }

    public byte InternetIPv4PrefixLength { get; init; }

    /// <summary>The router's IPv6 address on the internet link and its prefix length (0/0: none).</summary>
    public UInt128 InternetIPv6 { get; init; }

    public byte InternetIPv6PrefixLength { get; init; }

    /// <summary>Next hop for IPv4 destinations off the internet link (0: none).</summary>
    public uint InternetGatewayIPv4 { get; init; }

    /// <summary>Next hop for IPv6 destinations off the internet link (0: none).</summary>
    public UInt128 InternetGatewayIPv6 { get; init; }

    /// <summary>Largest IPv6 packet the underlay carries (0: not checked); an internet packet that would
    /// exceed it once encapsulated is dropped and counted.</summary>
    public int UnderlayMtu { get; init; }

    public bool HasIPv4 => InternetIPv4 != 0;

    public bool HasIPv6 => InternetIPv6 != UInt128.Zero;

    /// <summary>True when <paramref name="ip"/> is on the internet link of its family.</summary>
    public bool OnInternetLink(byte version, UInt128 ip)
    {
        if (version == 4)
        {
            uint mask = InternetIPv4PrefixLength == 0 ? 0 : uint.MaxValue << (32 - InternetIPv4PrefixLength);
            return HasIPv4 && ((uint)ip & mask) == (InternetIPv4 & mask);
        }
        UInt128 mask6 = InternetIPv6PrefixLength == 0 ? UInt128.Zero : UInt128.MaxValue << (128 - InternetIPv6PrefixLength);
        return HasIPv6 && (ip & mask6) == (InternetIPv6 & mask6);
    }

    /// <summary>Builds a spec from command-line text; every problem is listed.</summary>
    /// <param name="internetAddresses">"198.51.100.254/24" and/or "2001:db8:eeee::fe/64".</param>
    /// <param name="internetGateways">At most one IPv4 and one IPv6 address.</param>
    public static RouterSpec Parse(
        string underlayAddress, string underlayGateway, string? underlayGatewayMac,
        IReadOnlyList<string> internetAddresses, IReadOnlyList<string> internetGateways, int underlayMtu, List<string> errors)
    {
        UInt128 underlay = 0, gateway = 0;
        if (!Addresses.TryParseIp(underlayAddress, out byte v, out underlay) || v != 6)
        {
            errors.Add($"--underlay-address {underlayAddress}: not an IPv6 address");
        }
        if (!Addresses.TryParseIp(underlayGateway, out v, out gateway) || v != 6)
        {
            errors.Add($"--underlay-gateway {underlayGateway}: not an IPv6 address");
        }
        ulong gatewayMac = 0;
        if (!string.IsNullOrEmpty(underlayGatewayMac) && !Addresses.TryParseMac(underlayGatewayMac, out gatewayMac))
        {
            errors.Add($"--underlay-gateway-mac {underlayGatewayMac}: not a MAC address");
        }
        uint ip4 = 0, gateway4 = 0;
        UInt128 ip6 = 0, gateway6 = 0;
        byte length4 = 0, length6 = 0;
        foreach (string text in internetAddresses)
        {
            int slash = text.IndexOf('/', StringComparison.Ordinal);
            if (slash <= 0 || !Addresses.TryParseIp(text[..slash], out byte version, out UInt128 address)
                || !Addresses.TryParsePrefix(text, out _, out _, out byte length, out _)
                || length == (version == 4 ? 32 : 128))
            {
                errors.Add($"--internet-address {text}: expected ADDRESS/LENGTH with room for neighbors, e.g. 198.51.100.254/24");
                continue;
            }
            if (version == 4 ? ip4 != 0 : ip6 != UInt128.Zero)
            {
                errors.Add($"--internet-address {text}: one address per family");
                continue;
            }
            if (version == 4)
            {
                (ip4, length4) = ((uint)address, length);
            }
            else
            {
                (ip6, length6) = (address, length);
            }
        }
        if (ip4 == 0 && ip6 == UInt128.Zero)
        {
            errors.Add("--internet-address: at least one is required");
        }
        foreach (string text in internetGateways)
        {
            if (!Addresses.TryParseIp(text, out byte version, out UInt128 address))
            {
                errors.Add($"--internet-gateway {text}: not an IP address");
            }
            else if (version == 4 ? gateway4 != 0 : gateway6 != UInt128.Zero)
            {
                errors.Add($"--internet-gateway {text}: one gateway per family");
            }
            else if (version == 4 ? ip4 == 0 : ip6 == UInt128.Zero)
            {
                errors.Add($"--internet-gateway {text}: no --internet-address of its family");
            }
            else if (version == 4)
            {
                gateway4 = (uint)address;
            }
            else
            {
                gateway6 = address;
            }
        }
        if (underlayMtu is < 0 or > 65575)
        {
            errors.Add($"--underlay-mtu {underlayMtu}: out of range");
        }
        var spec = new RouterSpec
        {
            UnderlayAddress = underlay,
            UnderlayGateway = gateway,
            UnderlayGatewayMac = gatewayMac,
            InternetIPv4 = ip4,
            InternetIPv4PrefixLength = length4,
            InternetIPv6 = ip6,
            InternetIPv6PrefixLength = length6,
            InternetGatewayIPv4 = gateway4,
            InternetGatewayIPv6 = gateway6,
            UnderlayMtu = underlayMtu,
        };
        foreach ((byte version, UInt128 address) in (ReadOnlySpan<(byte, UInt128)>)[(4, gateway4), (6, gateway6)])
        {
            if (address != UInt128.Zero && !spec.OnInternetLink(version, address))
            {
                errors.Add($"--internet-gateway {Addresses.FormatIp(version, address)}: not on the internet link");
            }
        }
        return spec;
    }
}
