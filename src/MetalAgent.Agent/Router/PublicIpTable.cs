using System.Runtime.InteropServices;
using MetalAgent.ControlPlane.V1;
using MetalAgent.Packets;
using MetalAgent.Tables.Exact;

namespace MetalAgent.Agent.Router;

/// <summary>
/// The router view compiled for the packet path: public IP (per family) to the underlay /128s that
/// own it. Immutable; replaced whole on every view update. VirtualIPs and load balancers pick an
/// owner by rendezvous hashing of the flow (a flow sticks to its owner, and adding an owner moves
/// only the flows that the new owner wins); NAT IPs pick the owner whose port slice holds the port.
/// Lookups never allocate.
/// </summary>
public sealed class PublicIpTable
{
    private readonly ExactTable<Underlay128Key, PublicIpEntry> _ipv4;
    private readonly ExactTable<Underlay128Key, PublicIpEntry> _ipv6;
    private readonly PublicIpOwnerEntry[] _owners;

    private PublicIpTable(ulong version, ExactTable<Underlay128Key, PublicIpEntry> ipv4, ExactTable<Underlay128Key, PublicIpEntry> ipv6, PublicIpOwnerEntry[] owners)
    {
        Version = version;
        _ipv4 = ipv4;
        _ipv6 = ipv6;
        _owners = owners;
    }

    /// <summary>No public IPs (before the first view arrives).</summary>
    public static PublicIpTable Empty { get; } = new(0, ExactTable<Underlay128Key, PublicIpEntry>.Empty, ExactTable<Underlay128Key, PublicIpEntry>.Empty, []);

    /// <summary>The view's version.</summary>
    public ulong Version { get; }

    public int Count => _ipv4.Count + _ipv6.Count;

    public ReadOnlySpan<PublicIpOwnerEntry> Owners => _owners;

    /// <summary>Compiles a view. Routes that cannot be used (bad addresses, a duplicate IP, a NAT owner
    /// without a port range) are left out and described in <paramref name="problems"/>.</summary>
    public static PublicIpTable Build(RouterViewUpdate view, List<string> problems)
    {
        var ipv4 = new List<KeyValuePair<Underlay128Key, PublicIpEntry>>();
        var ipv6 = new List<KeyValuePair<Underlay128Key, PublicIpEntry>>();
        var seen = new HashSet<(byte, UInt128)>();
        var owners = new List<PublicIpOwnerEntry>();
        foreach (PublicIpRoute route in view.Routes)
        {
            if (!Addresses.TryParseIp(route.Ip, out byte version, out UInt128 ip))
            {
                problems.Add($"{route.Object}: public IP '{route.Ip}' is not an address");
                continue;
            }
            if (!seen.Add((version, ip)))
            {
                problems.Add($"{route.Object}: public IP {route.Ip} is listed twice; the first wins");
                continue;
            }
            bool nat = route.Kind == PublicIpKind.NatGateway;
            var list = new List<PublicIpOwnerEntry>();
            foreach (PublicIpOwner owner in route.Owners)
            {
                if (!Addresses.TryParseIp(owner.UnderlayAddress, out byte ov, out UInt128 underlay) || ov != 6)
                {
                    problems.Add($"{route.Object}: owner '{owner.UnderlayAddress}' of {route.Ip} is not an IPv6 address");
                    continue;
                }
                if (nat && (owner.FirstPort > owner.LastPort || owner.LastPort > ushort.MaxValue))
                {
                    problems.Add($"{route.Object}: owner {owner.UnderlayAddress} of {route.Ip} has no valid port range ({owner.FirstPort}-{owner.LastPort})");
                    continue;
                }
                list.Add(new PublicIpOwnerEntry(underlay, FlowHash.Hash(underlay), (ushort)owner.FirstPort, (ushort)owner.LastPort));
            }
            // NAT slices are searched by port; everyone else in address order (the view's order).
            list.Sort(nat
                ? static (a, b) => a.FirstPort != b.FirstPort ? a.FirstPort.CompareTo(b.FirstPort) : a.Underlay.CompareTo(b.Underlay)
                : static (a, b) => a.Underlay.CompareTo(b.Underlay));
            var entry = new PublicIpEntry(route.Kind, owners.Count, list.Count);
            owners.AddRange(list);
            (version == 4 ? ipv4 : ipv6).Add(new(new Underlay128Key(ip), entry));
        }
        return new PublicIpTable(
            view.Version,
            ExactTable<Underlay128Key, PublicIpEntry>.Build(CollectionsMarshal.AsSpan(ipv4)),
            ExactTable<Underlay128Key, PublicIpEntry>.Build(CollectionsMarshal.AsSpan(ipv6)),
            [.. owners]);
    }

    /// <summary>The entry of a public IP (IPv4 in the low 32 bits).</summary>
    public bool TryGet(byte version, UInt128 ip, out PublicIpEntry entry) =>
        (version == 4 ? _ipv4 : _ipv6).TryGetValue(new Underlay128Key(ip), out entry);

    /// <summary>The owner /128 for a packet to this IP, or 0 when nothing serves it.</summary>
    /// <param name="port">NAT: the destination port (or echo identifier) the slice must hold.</param>
    /// <param name="flowHash">Everyone else: the packet's flow hash.</param>
    public UInt128 SelectOwner(in PublicIpEntry entry, ushort port, ulong flowHash)
    {
        ReadOnlySpan<PublicIpOwnerEntry> owners = _owners.AsSpan(entry.FirstOwner, entry.OwnerCount);
        if (owners.IsEmpty)
        {
            return UInt128.Zero;
        }
        if (entry.Kind == PublicIpKind.NatGateway)
        {
            // Last slice starting at or below the port.
            int lo = 0, hi = owners.Length - 1, found = -1;
            while (lo <= hi)
            {
                int mid = (lo + hi) >>> 1;
                if (owners[mid].FirstPort <= port)
                {
                    found = mid;
                    lo = mid + 1;
                }
                else
                {
                    hi = mid - 1;
                }
            }
            return found >= 0 && port <= owners[found].LastPort ? owners[found].Underlay : UInt128.Zero;
        }
        if (owners.Length == 1)
        {
            return owners[0].Underlay;
        }
        int best = 0;
        ulong bestScore = 0;
        for (int i = 0; i < owners.Length; i++)
        {
            ulong score = FlowHash.Mix(flowHash ^ owners[i].Seed, owners[i].Seed | 1);
            if (i == 0 || score > bestScore)
            {
                best = i;
                bestScore = score;
            }
        }
        return owners[best].Underlay;
    }
}
