namespace MetalAgent.ControlPlane.Allocation;

/// <summary>Everything the control plane must remember across restarts: allocations (VNIs, underlay /128s,
/// public IPs, NAT slots), address claims, the last valid version of every manifest object and each host's
/// state version. Sorted dictionaries keep the stored form deterministic.</summary>
public sealed class PersistedState
{
    public const int CurrentFormat = 1;

    public int Format { get; set; } = CurrentFormat;

    /// <summary>Network "namespace/name" to VNI.</summary>
    public SortedDictionary<string, uint> Vnis { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Network "namespace/name" to a generated uid (used in provider ids when the manifest has none).</summary>
    public SortedDictionary<string, string> NetworkUids { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Host name to (receiving object key to underlay /128).</summary>
    public SortedDictionary<string, SortedDictionary<string, string>> Underlay { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Object key ("VirtualIP/ns/name", "LoadBalancer/ns/name/IPv4") to public IP.</summary>
    public SortedDictionary<string, string> PublicIps { get; set; } = new(StringComparer.Ordinal);

    /// <summary>NATGateway "namespace/name" to its IPs and slots.</summary>
    public SortedDictionary<string, NatGatewayAllocation> NatGateways { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Exclusive claims (an address in a network, a VirtualIP, a NetworkInterface's placement): scope to owner.</summary>
    public SortedDictionary<string, string> Claims { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Object key ("Kind/ns/name") to the manifest text of its last valid version.</summary>
    public SortedDictionary<string, string> LastValid { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Host name to its current state version and digest.</summary>
    public SortedDictionary<string, VersionRecord> HostVersions { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Version and digest of the router view.</summary>
    public VersionRecord? RouterVersion { get; set; }
}

/// <summary>A NAT gateway's allocation: slot size, public IPs by index and each interface's slot.</summary>
public sealed class NatGatewayAllocation
{
    public int PortsPerInterface { get; set; }

    public string Family { get; set; } = string.Empty;

    /// <summary>IP index (slot / slots per IP) to public IP.</summary>
    public SortedDictionary<int, string> Ips { get; set; } = [];

    /// <summary>NetworkInterface "namespace/name" to slot number.</summary>
    public SortedDictionary<string, int> Slots { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>A version number and the SHA-256 of the content it names.</summary>
public sealed class VersionRecord
{
    public ulong Version { get; set; }

    public string Sha256 { get; set; } = string.Empty;
}
