using MetalAgent.Tables.Exact;
using MetalAgent.Tables.Maglev;

namespace MetalAgent.Tables.Snapshot;

/// <summary>A port range a load balancer accepts (inclusive).</summary>
public struct LbPortRange
{
    public byte Protocol;
    public ushort First;
    public ushort Last;
}

/// <summary>One load balancer as the packet path sees it.</summary>
public sealed class LoadBalancerEntry
{
    public required string Id { get; init; }
    public required int VniId { get; init; }
    public required uint Vni { get; init; }
    public required UInt128 Underlay { get; init; }
    /// <summary>The LB's IPs (IPv4 in the low 32 bits) with their versions.</summary>
    public required (byte Version, UInt128 Ip)[] Ips { get; init; }
    /// <summary>Accepted ports; empty means every port of every protocol.</summary>
    public required LbPortRange[] Ports { get; init; }
    /// <summary>Maglev lookup over the targets' underlay /128s (sorted; indexes are stable for a target set).</summary>
    public required MaglevTable Maglev { get; init; }
    /// <summary>Per Maglev target index: the local interface owning that /128 as an LB alias, or -1 when remote.</summary>
    public required int[] LocalTarget { get; init; }

    /// <summary>Whether the LB accepts this protocol and destination port.</summary>
    public bool Accepts(byte protocol, ushort port)
    {
        LbPortRange[] ports = Ports;
        if (ports.Length == 0)
        {
            return true;
        }
        for (int i = 0; i < ports.Length; i++)
        {
            if (ports[i].Protocol == protocol && port >= ports[i].First && port <= ports[i].Last)
            {
                return true;
            }
        }
        return false;
    }
}

/// <summary>(VNI, IP) of load-balancer frontends to load-balancer ids.</summary>
public sealed class LoadBalancerIndexTable
{
    private readonly ExactTable<VniAddressKey, int> _table;

    private LoadBalancerIndexTable(ExactTable<VniAddressKey, int> table) => _table = table;

    public static LoadBalancerIndexTable Build(List<KeyValuePair<VniAddressKey, int>> entries) =>
        new(ExactTable<VniAddressKey, int>.Build(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(entries)));

    /// <summary>The load balancer with this IP in this VNI, -1 when none.</summary>
    public int Find(uint vni, byte ipVersion, UInt128 ip) => _table.TryGetValue(new VniAddressKey(vni, ipVersion, ip), out int id) ? id : -1;
}

/// <summary>A slice of a public IP's NAT port space, owned here (an interface) or by a neighbor host.</summary>
public struct NatRange
{
    public ushort First;
    public ushort Last;
    /// <summary>Local interface id, or -1 for a neighbor's slice.</summary>
    public int Interface;
    /// <summary>The owner's underlay /128 (a neighbor's, or the local slice's own).</summary>
    public UInt128 Owner;
    public uint Vni;
}

/// <summary>Public NAT IPs to their port slices, sorted by first port.</summary>
public sealed class NatTable
{
    private readonly ExactTable<VniAddressKey, int> _byIp;
    private readonly NatRange[][] _ranges;
    private readonly (byte Version, UInt128 Ip)[] _ips;

    private NatTable(ExactTable<VniAddressKey, int> byIp, NatRange[][] ranges, (byte Version, UInt128 Ip)[] ips)
    {
        _byIp = byIp;
        _ranges = ranges;
        _ips = ips;
    }

    public static NatTable Build(SortedDictionary<(byte Version, UInt128 Ip), List<NatRange>> slices)
    {
        var keys = new List<KeyValuePair<VniAddressKey, int>>();
        var ranges = new NatRange[slices.Count][];
        var ips = new (byte Version, UInt128 Ip)[slices.Count];
        int i = 0;
        foreach (((byte version, UInt128 ip), List<NatRange> list) in slices)
        {
            list.Sort(static (a, b) => a.First.CompareTo(b.First));
            ranges[i] = list.ToArray();
            keys.Add(new(new VniAddressKey(0, version, ip), i));
            ips[i] = (version, ip);
            i++;
        }
        return new NatTable(ExactTable<VniAddressKey, int>.Build(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(keys)), ranges, ips);
    }

    public int Count => _ranges.Length;

    /// <summary>Finds the slice holding a port of a public IP; false when the IP or port is not NATed here.</summary>
    public bool TryFind(byte ipVersion, UInt128 publicIp, ushort port, out NatRange range)
    {
        if (_byIp.TryGetValue(new VniAddressKey(0, ipVersion, publicIp), out int index))
        {
            NatRange[] ranges = _ranges[index];
            int lo = 0, hi = ranges.Length - 1;
            while (lo <= hi)
            {
                int mid = (lo + hi) >>> 1;
                if (port < ranges[mid].First)
                {
                    hi = mid - 1;
                }
                else if (port > ranges[mid].Last)
                {
                    lo = mid + 1;
                }
                else
                {
                    range = ranges[mid];
                    return true;
                }
            }
        }
        range = default;
        return false;
    }

    /// <summary>Whether any slice uses this public IP (ICMP echo to NAT IPs is answered).</summary>
    public bool IsNatIp(byte ipVersion, UInt128 publicIp) => _byIp.TryGetValue(new VniAddressKey(0, ipVersion, publicIp), out _);

    /// <summary>Every public IP with its ranges, for dumps.</summary>
    public IEnumerable<(byte Version, UInt128 Ip, NatRange[] Ranges)> All()
    {
        for (int i = 0; i < _ranges.Length; i++)
        {
            yield return (_ips[i].Version, _ips[i].Ip, _ranges[i]);
        }
    }
}
