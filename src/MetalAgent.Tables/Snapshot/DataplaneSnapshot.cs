namespace MetalAgent.Tables.Snapshot;

/// <summary>
/// Everything the packet path reads, compiled from one HostSpec: immutable, published to the
/// workers by one reference swap, read once per burst. Ids (indexes into the arrays) of unchanged
/// objects stay stable across compiles, so flow state that refers to them survives an update.
/// </summary>
public sealed class DataplaneSnapshot
{
    public required ulong Version { get; init; }

    public required HostTable Host { get; init; }

    /// <summary>Pipeline ports by id. Port ids are stable across compiles while the name exists.</summary>
    public required PortEntry[] Ports { get; init; }

    /// <summary>Interfaces by id; a removed interface leaves a hole (<see cref="InterfaceEntry.Present"/> false)
    /// so that ids stay stable.</summary>
    public required InterfaceEntry[] Interfaces { get; init; }

    /// <summary>Per-VNI routing tables by VNI id.</summary>
    public required VniTable[] Vnis { get; init; }

    /// <summary>Targets of routes; a route's LPM value is an index into this array.</summary>
    public required NextHop[] NextHops { get; init; }

    /// <summary>VNI number to VNI id.</summary>
    public required VniIndexTable VniIndex { get; init; }

    /// <summary>Underlay /128 of this host to the object that receives traffic for it.</summary>
    public required UnderlayTable Underlay { get; init; }

    /// <summary>Policy classifiers by interface id.</summary>
    public required InterfacePolicy[] Policies { get; init; }

    /// <summary>Load balancers by id.</summary>
    public required LoadBalancerEntry[] LoadBalancers { get; init; }

    /// <summary>(VNI, IP) of each load balancer to its id.</summary>
    public required LoadBalancerIndexTable LoadBalancerIndex { get; init; }

    /// <summary>Public NAT IPs and their port slices (local and neighbors').</summary>
    public required NatTable Nat { get; init; }

    /// <summary>Looks up a port id by name, -1 when absent (not for the packet path).</summary>
    public int FindPort(string name)
    {
        for (int i = 0; i < Ports.Length; i++)
        {
            if (Ports[i].Present && Ports[i].Name == name)
            {
                return i;
            }
        }
        return -1;
    }

    /// <summary>Looks up an interface id by its spec id, -1 when absent (not for the packet path).</summary>
    public int FindInterface(string id)
    {
        for (int i = 0; i < Interfaces.Length; i++)
        {
            if (Interfaces[i].Present && Interfaces[i].Id == id)
            {
                return i;
            }
        }
        return -1;
    }
}

/// <summary>Host-wide settings the stages need.</summary>
public sealed class HostTable
{
    public required string Name { get; init; }
    public required UInt128 UnderlayPrefix { get; init; }
    public required UInt128 RouterUnderlay { get; init; }
    /// <summary>Port id of the (first) uplink, -1 without one.</summary>
    public required int UplinkPort { get; init; }
    /// <summary>Underlay next-hop gateway of the uplink and its pinned MAC (0 = resolve by ND).</summary>
    public required UInt128 GatewayAddress { get; init; }
    public required ulong GatewayMac { get; init; }
    public required ushort Mtu { get; init; }
    public required ushort UnderlayMtu { get; init; }
    /// <summary>DNS servers by family, as numbers (IPv4 in the low 32 bits).</summary>
    public required uint[] DnsServers4 { get; init; }
    public required UInt128[] DnsServers6 { get; init; }
}

public enum PortKind : byte
{
    Vm = 0,
    Uplink = 1,
}

/// <summary>A pipeline port: a VM port (serving one interface) or an uplink.</summary>
public struct PortEntry
{
    public bool Present;
    public PortKind Kind;
    /// <summary>Interface id served by a VM port, -1 for uplinks.</summary>
    public int Interface;
    /// <summary>The virtual gateway's MAC on this port (deterministic per port name, locally administered).</summary>
    public ulong GatewayMac;
    public string Name;
}

/// <summary>A VM interface as the packet path sees it.</summary>
public struct InterfaceEntry
{
    public bool Present;
    public bool HasIPv4;
    public bool HasIPv6;
    /// <summary>Policy selects this direction (default deny, rules allow).</summary>
    public bool IngressPolicy;
    public bool EgressPolicy;
    public int Port;
    public int VniId;
    public uint Vni;
    public uint IPv4;
    public UInt128 IPv6;
    /// <summary>Pinned VM MAC, 0 when learned at run time.</summary>
    public ulong PinnedMac;
    public UInt128 Underlay;
    public VirtualIpEntry Vip4;
    public VirtualIpEntry Vip6;
    public NatSliceEntry Nat4;
    public NatSliceEntry Nat6;
    public string Id;
    public string Hostname;
    public string PxeNextServer;
    public string PxeBootFile;
    /// <summary>Prefixes the VM may send from besides its own IPs (routed and LB alias prefixes).</summary>
    public SourcePrefix[] AllowedSources;
}

public struct VirtualIpEntry
{
    public bool Present;
    public UInt128 Ip;
    public UInt128 Underlay;
}

public struct NatSliceEntry
{
    public bool Present;
    public UInt128 PublicIp;
    public ushort FirstPort;
    public ushort LastPort;
    public UInt128 Underlay;
}

public struct SourcePrefix
{
    public byte IpVersion;
    public byte Length;
    public UInt128 Network;
    public bool Contains(byte ipVersion, UInt128 address)
    {
        if (ipVersion != IpVersion)
        {
            return false;
        }
        int bits = ipVersion == 4 ? 32 : 128;
        if (Length == 0)
        {
            return true;
        }
        UInt128 mask = (UInt128.MaxValue << (bits - Length)) & (ipVersion == 4 ? (UInt128)uint.MaxValue : UInt128.MaxValue);
        return (address & mask) == Network;
    }
}

public enum NextHopKind : byte
{
    /// <summary>Deliver to a local interface.</summary>
    Local = 0,
    /// <summary>Encapsulate to a remote underlay /128.</summary>
    Remote = 1,
    /// <summary>Default route: to the underlay router, after VIP or NAT translation.</summary>
    Router = 2,
}

/// <summary>Where a route sends a packet.</summary>
public struct NextHop
{
    public NextHopKind Kind;
    /// <summary>Local interface id (Local).</summary>
    public int Interface;
    /// <summary>Remote underlay /128 (Remote).</summary>
    public UInt128 Underlay;
    /// <summary>VNI number at the next hop (differs for peered networks).</summary>
    public uint Vni;
}

public enum UnderlayTargetKind : byte
{
    Interface = 0,
    Prefix = 1,
    LbAlias = 2,
    VirtualIp = 3,
    NatSlice = 4,
    LoadBalancer = 5,
}

/// <summary>What an underlay /128 of this host delivers to.</summary>
public struct UnderlayTarget
{
    public UnderlayTargetKind Kind;
    public int VniId;
    /// <summary>Interface id (Interface, Prefix, LbAlias, VirtualIp, NatSlice) or load-balancer id.</summary>
    public int Target;
}

/// <summary>Routing state of one VNI.</summary>
public sealed class VniTable
{
    public required uint Vni { get; init; }
    public required Lpm.Lpm4Table Routes4 { get; init; }
    public required Lpm.Lpm6Table Routes6 { get; init; }
}
