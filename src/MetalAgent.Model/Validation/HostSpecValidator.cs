using System.Globalization;
using MetalAgent.Model.V1;
using MetalAgent.Packets;

namespace MetalAgent.Model.Validation;

/// <summary>Checks a <see cref="HostSpec"/> before it is compiled and lists every problem found,
/// with field paths in proto JSON style (<c>interfaces[3].natIpv4.firstPort</c>).</summary>
/// <remarks>
/// The spec is checked in order: host, networks, interfaces, routes, neighbor NATs, load balancers,
/// policy rules, then NAT slice overlaps. Each section records what later sections refer to
/// (known VNIs, interface ids, claimed underlay /128s, VNI routes, public IPs), so a reference is
/// checked against what appears in the spec, never against the order of a hash table.
/// Every VNI used by an interface, route, neighbor NAT or load balancer must be listed in
/// <c>networks</c>; peer VNIs need not be (the peer may only live on other hosts).
/// </remarks>
public sealed partial class HostSpecValidator
{
    /// <summary>The only schema version this validator understands.</summary>
    public const uint SchemaVersion = 1;

    public const uint MaxVni = 16_777_215;

    /// <summary>Smallest VM MTU: the IPv6 minimum link MTU, because the same value is advertised in
    /// router advertisements, which IPv6 guests ignore below 1280.</summary>
    public const uint MinMtu = 1280;

    /// <summary>Largest VM MTU (common jumbo frame size).</summary>
    public const uint MaxMtu = 9000;

    /// <summary>Largest underlay MTU (common switch jumbo limit).</summary>
    public const uint MaxUnderlayMtu = 9216;

    /// <summary>Outer IPv6 header added by encapsulation: underlay MTU must be at least VM MTU plus this.</summary>
    public const uint EncapsulationOverhead = 40;

    /// <summary>NAT slices live in 1024..65535: ports below are never handed out.</summary>
    public const uint MinNatPort = 1024;

    public const uint MaxPort = 65_535;

    /// <summary>Longest id (interface, load balancer, policy rule) and port name, as in dpservice.</summary>
    public const int MaxIdLength = 63;

    private readonly HostSpec _spec;
    private readonly ErrorList _errors = new();

    // What earlier sections established, for references from later ones.
    private PrefixValue? _underlayPrefix;
    private readonly Dictionary<uint, NetworkSpec> _networks = [];
    private readonly Dictionary<string, InterfaceSpec> _interfacesById = new(StringComparer.Ordinal);
    private readonly Dictionary<string, FieldPath> _portOwners = new(StringComparer.Ordinal);
    private readonly Dictionary<UInt128, FieldPath> _underlayOwners = [];
    private readonly HashSet<UInt128> _aliasUnderlays = [];
    private readonly Dictionary<RouteKey, FieldPath> _routeOwners = [];
    private readonly Dictionary<IpValue, PublicIpUse> _publicIps = [];
    private readonly List<NatSliceUse> _natSlices = [];

    private HostSpecValidator(HostSpec spec) => _spec = spec;

    /// <summary>Returns every problem in <paramref name="spec"/>; an empty list means it is valid.</summary>
    public static IReadOnlyList<ValidationError> Validate(HostSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var validator = new HostSpecValidator(spec);
        validator.Run();
        return validator._errors.Errors;
    }

    private void Run()
    {
        FieldPath root = FieldPath.Root;
        if (_spec.SchemaVersion != SchemaVersion)
        {
            _errors.NotSupported(root.Child("schemaVersion"), _spec.SchemaVersion, SchemaVersion.ToString(CultureInfo.InvariantCulture));
        }
        ValidateHost(root.Child("host"), _spec.Host);
        ValidateNetworks(root.Child("networks"));
        ValidateInterfaces(root.Child("interfaces"));
        ValidateRoutes(root.Child("routes"));
        ValidateNeighborNats(root.Child("neighborNats"));
        ValidateLoadBalancers(root.Child("loadBalancers"));
        ValidatePolicyRules(root.Child("policyRules"));
        ValidateNatSliceOverlaps();
    }

    // ---- shared checks ----------------------------------------------------------------------

    private static string FamilyName(byte family) => family == 4 ? "IPv4" : "IPv6";

    /// <summary>Checks an address field. <paramref name="family"/> is 4, 6 or 0 for either.
    /// Returns true with the parsed value only when the field is set and valid.</summary>
    private bool CheckIp(FieldPath path, string text, byte family, bool required, out IpValue ip, bool allowLinkLocal = false)
    {
        ip = default;
        if (text.Length == 0)
        {
            if (required)
            {
                _errors.Required(path);
            }
            return false;
        }
        if (!AddressText.TryParseIp(text, out IpValue parsed))
        {
            _errors.Invalid(path, text, family == 0 ? "not an IP address" : $"not an {FamilyName(family)} address");
            return false;
        }
        if (family != 0 && parsed.Version != family)
        {
            _errors.Invalid(path, text, $"must be an {FamilyName(family)} address, not {parsed.Family}");
            return false;
        }
        if (!(allowLinkLocal ? AddressText.IsUnicastOrLinkLocal(parsed) : AddressText.IsUnicast(parsed)))
        {
            _errors.Invalid(path, text, allowLinkLocal
                ? "must be a unicast address (not unspecified, loopback or multicast)"
                : "must be a unicast address (not unspecified, loopback, link-local, multicast or broadcast)");
            return false;
        }
        ip = parsed;
        return true;
    }

    /// <summary>Checks a prefix field. Host bits are rejected unless <paramref name="allowHostBits"/>
    /// (policy peers, which are masked like IronCore does); the returned prefix is always masked.</summary>
    private bool CheckPrefix(FieldPath path, string text, byte family, bool required, bool allowHostBits, out PrefixValue prefix)
    {
        prefix = default;
        if (text.Length == 0)
        {
            if (required)
            {
                _errors.Required(path);
            }
            return false;
        }
        if (!AddressText.TryParsePrefix(text, out PrefixValue parsed, out bool hostBitsSet))
        {
            _errors.Invalid(path, text, family == 0 ? "not a prefix (address/length)" : $"not an {FamilyName(family)} prefix");
            return false;
        }
        if (family != 0 && parsed.Version != family)
        {
            _errors.Invalid(path, text, $"must be an {FamilyName(family)} prefix, not {parsed.Family}");
            return false;
        }
        if (hostBitsSet && !allowHostBits)
        {
            _errors.Invalid(path, text, $"host bits set (did you mean {parsed.Format()}?)");
            return false;
        }
        prefix = parsed;
        return true;
    }

    /// <summary>Checks a VNI's range and, when <paramref name="mustBeKnown"/>, that it is listed in networks.</summary>
    private bool CheckVni(FieldPath path, uint vni, bool mustBeKnown)
    {
        if (vni is 0 or > MaxVni)
        {
            _errors.Invalid(path, vni, $"must be between 1 and {MaxVni}");
            return false;
        }
        if (mustBeKnown && !_networks.ContainsKey(vni))
        {
            _errors.Invalid(path, vni, "network not found: the VNI is not listed in networks");
            return false;
        }
        return true;
    }

    /// <summary>Interface ids: 1..63 characters of [A-Za-z0-9_-] (dpservice's rule).</summary>
    private bool CheckInterfaceId(FieldPath path, string id)
    {
        if (id.Length == 0)
        {
            _errors.Required(path);
            return false;
        }
        if (id.Length > MaxIdLength)
        {
            _errors.Invalid(path, id, $"must be at most {MaxIdLength} characters");
            return false;
        }
        foreach (char c in id)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
            {
                _errors.Invalid(path, id, "must consist of letters, digits, '_' and '-'");
                return false;
            }
        }
        return true;
    }

    /// <summary>Load-balancer and policy-rule ids: 1..63 printable ASCII characters without spaces.</summary>
    private bool CheckObjectId(FieldPath path, string id)
    {
        if (id.Length == 0)
        {
            _errors.Required(path);
            return false;
        }
        if (id.Length > MaxIdLength)
        {
            _errors.Invalid(path, id, $"must be at most {MaxIdLength} characters");
            return false;
        }
        foreach (char c in id)
        {
            if (c is <= ' ' or > '~')
            {
                _errors.Invalid(path, id, "must consist of printable ASCII characters without spaces");
                return false;
            }
        }
        return true;
    }

    /// <summary>Pipeline port names: 1..63 characters of [A-Za-z0-9_.:-] (netdev names, DPDK and PCI device names).</summary>
    private bool CheckPortName(FieldPath path, string name)
    {
        if (name.Length == 0)
        {
            _errors.Required(path);
            return false;
        }
        if (name.Length > MaxIdLength)
        {
            _errors.Invalid(path, name, $"must be at most {MaxIdLength} characters");
            return false;
        }
        foreach (char c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.' or ':'))
            {
                _errors.Invalid(path, name, "must consist of letters, digits, '_', '-', '.' and ':'");
                return false;
            }
        }
        return true;
    }

    /// <summary>Claims a pipeline port name for one owner; a second owner is a Duplicate.</summary>
    private void ClaimPort(FieldPath path, string name, FieldPath owner)
    {
        if (!_portOwners.TryAdd(name, owner))
        {
            _errors.Duplicate(path, name, $"port already used by {_portOwners[name]}");
        }
    }

    /// <summary>Optional pinned MAC: valid syntax, unicast, not all zeros.</summary>
    private void CheckMac(FieldPath path, string text)
    {
        if (text.Length == 0)
        {
            return;
        }
        if (!Addresses.TryParseMac(text, out ulong mac))
        {
            _errors.Invalid(path, text, "not a MAC address (aa:bb:cc:dd:ee:ff)");
        }
        else if (mac == 0)
        {
            _errors.Invalid(path, text, "must not be the all-zero MAC");
        }
        else if (((mac >> 40) & 1) != 0)
        {
            _errors.Invalid(path, text, "must be a unicast MAC (group bit set)");
        }
    }

    /// <summary>An underlay /128 owned by an object on this host: IPv6, inside the host's /64, not the
    /// prefix's subnet-router anycast address, and not owned by anything else.</summary>
    private bool CheckLocalUnderlay(FieldPath path, string text) => CheckLocalUnderlay(path, text, out _);

    private bool CheckLocalUnderlay(FieldPath path, string text, out IpValue ip)
    {
        if (!CheckIp(path, text, 6, required: true, out ip))
        {
            return false;
        }
        if (_underlayPrefix is PrefixValue local)
        {
            if (!local.Contains(ip))
            {
                _errors.Invalid(path, text, $"not inside the host's underlay prefix {local.Format()}");
                return false;
            }
            if (ip.Value == local.Network)
            {
                _errors.Invalid(path, text, "the underlay prefix's subnet-router anycast address is reserved");
                return false;
            }
        }
        if (!_underlayOwners.TryAdd(ip.Value, path))
        {
            _errors.Duplicate(path, text, $"underlay address already used by {_underlayOwners[ip.Value]}");
            return false;
        }
        return true;
    }

    /// <summary>An underlay /128 on another host: IPv6 and outside this host's /64.</summary>
    private bool CheckRemoteUnderlay(FieldPath path, string text)
    {
        if (!CheckIp(path, text, 6, required: true, out IpValue ip))
        {
            return false;
        }
        if (_underlayPrefix is PrefixValue local && local.Contains(ip))
        {
            _errors.Invalid(path, text, $"inside this host's underlay prefix {local.Format()}: must be on another host");
            return false;
        }
        return true;
    }

    /// <summary>Claims an entry of a VNI's route table ((VNI, prefix) must be unique).</summary>
    private void ClaimRoute(FieldPath path, uint vni, PrefixValue prefix, string text)
    {
        var key = new RouteKey(vni, prefix);
        if (!_routeOwners.TryAdd(key, path))
        {
            _errors.Duplicate(path, text, $"VNI {vni} already routes {prefix.Format()} ({_routeOwners[key]})");
        }
    }

    /// <summary>Claims a public IP. A public IP is a virtual IP of one interface, a public load balancer's
    /// IP, or a NAT IP shared by slices (whose port ranges are checked separately), never two of these.</summary>
    private void ClaimPublicIp(FieldPath path, IpValue ip, PublicIpKind kind, string text)
    {
        if (_publicIps.TryGetValue(ip, out PublicIpUse existing))
        {
            if (kind != PublicIpKind.Nat || existing.Kind != PublicIpKind.Nat)
            {
                _errors.Duplicate(path, text, $"public IP already used as {KindName(existing.Kind)} by {existing.Owner}");
            }
            return;
        }
        _publicIps.Add(ip, new PublicIpUse(kind, path));
    }

    private static string KindName(PublicIpKind kind) => kind switch
    {
        PublicIpKind.VirtualIp => "a virtual IP",
        PublicIpKind.Nat => "a NAT IP",
        _ => "a load balancer IP",
    };

    /// <summary>Checks a NAT port range: both ends within 1024..65535 and first &lt;= last.</summary>
    private bool CheckNatPorts(FieldPath path, uint first, uint last)
    {
        bool ok = true;
        if (first is < MinNatPort or > MaxPort)
        {
            _errors.Invalid(path.Child("firstPort"), first, $"must be between {MinNatPort} and {MaxPort}");
            ok = false;
        }
        if (last is < MinNatPort or > MaxPort)
        {
            _errors.Invalid(path.Child("lastPort"), last, $"must be between {MinNatPort} and {MaxPort}");
            ok = false;
        }
        if (ok && last < first)
        {
            _errors.Invalid(path.Child("lastPort"), last, $"must not be less than firstPort ({first})");
            ok = false;
        }
        return ok;
    }

    private readonly record struct RouteKey(uint Vni, PrefixValue Prefix);

    private enum PublicIpKind
    {
        VirtualIp,
        Nat,
        LoadBalancer,
    }

    private readonly record struct PublicIpUse(PublicIpKind Kind, FieldPath Owner);

    /// <summary>A NAT slice (local or a neighbor's) for the overlap check.</summary>
    private sealed record NatSliceUse(IpValue Ip, uint First, uint Last, FieldPath Path);
}
