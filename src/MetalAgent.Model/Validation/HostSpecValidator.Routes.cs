using MetalAgent.Model.V1;

namespace MetalAgent.Model.Validation;

public sealed partial class HostSpecValidator
{
    /// <summary>Remote routes point at underlay /128s on other hosts. Routes to objects on this host
    /// (including same-host peering) are derived from interfaces and <c>networks[].peerings</c>, so a
    /// next hop inside this host's /64 is rejected.</summary>
    private void ValidateRoutes(FieldPath path)
    {
        for (int i = 0; i < _spec.Routes.Count; i++)
        {
            RemoteRouteSpec route = _spec.Routes[i];
            FieldPath p = path.Index(i);
            bool vniOk = CheckVni(p.Child("vni"), route.Vni, mustBeKnown: true);
            FieldPath prefixPath = p.Child("prefix");
            if (CheckPrefix(prefixPath, route.Prefix, 0, required: true, allowHostBits: false, out PrefixValue prefix) && vniOk)
            {
                ClaimRoute(prefixPath, route.Vni, prefix, route.Prefix);
            }
            CheckRemoteUnderlay(p.Child("nextHopUnderlay"), route.NextHopUnderlay);

            FieldPath nextVniPath = p.Child("nextHopVni");
            if (route.NextHopVni != 0 && CheckVni(nextVniPath, route.NextHopVni, mustBeKnown: false)
                && route.NextHopVni != route.Vni && vniOk && !PeersWith(_networks[route.Vni], route.NextHopVni))
            {
                // Peering is mutual; this host can only check its own side.
                _errors.Invalid(nextVniPath, route.NextHopVni, $"network VNI {route.Vni} does not list a peering with this VNI");
            }
        }
    }

    private static bool PeersWith(NetworkSpec network, uint peerVni)
    {
        foreach (PeeringSpec peering in network.Peerings)
        {
            if (peering.PeerVni == peerVni)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Neighbor NATs: slices of a NAT IP owned by interfaces on other hosts.</summary>
    private void ValidateNeighborNats(FieldPath path)
    {
        for (int i = 0; i < _spec.NeighborNats.Count; i++)
        {
            NeighborNatSpec nat = _spec.NeighborNats[i];
            FieldPath p = path.Index(i);
            FieldPath ipPath = p.Child("publicIp");
            bool ipOk = CheckIp(ipPath, nat.PublicIp, 0, required: true, out IpValue ip);
            if (ipOk)
            {
                ClaimPublicIp(ipPath, ip, PublicIpKind.Nat, nat.PublicIp);
            }
            if (CheckNatPorts(p, nat.FirstPort, nat.LastPort) && ipOk)
            {
                _natSlices.Add(new NatSliceUse(ip, nat.FirstPort, nat.LastPort, p, _natSlices.Count));
            }
            CheckVni(p.Child("vni"), nat.Vni, mustBeKnown: true);
            CheckRemoteUnderlay(p.Child("ownerUnderlay"), nat.OwnerUnderlay);
        }
    }

    /// <summary>Slices of one public IP (local and neighbors') must not share a port. Each overlapping
    /// slice is reported once, on the later of the pair in document order.</summary>
    private void ValidateNatSliceOverlaps()
    {
        // Group by IP in order of first appearance (deterministic, independent of hashing).
        var groupIndex = new Dictionary<IpValue, int>();
        var groups = new List<List<NatSliceUse>>();
        foreach (NatSliceUse slice in _natSlices)
        {
            if (!groupIndex.TryGetValue(slice.Ip, out int g))
            {
                g = groups.Count;
                groupIndex.Add(slice.Ip, g);
                groups.Add([]);
            }
            groups[g].Add(slice);
        }

        var reported = new HashSet<int>();
        foreach (List<NatSliceUse> group in groups)
        {
            group.Sort(static (a, b) => a.First != b.First ? a.First.CompareTo(b.First) : a.Order.CompareTo(b.Order));
            // Sweep by first port, keeping the slice that reaches furthest so far.
            NatSliceUse reach = group[0];
            for (int i = 1; i < group.Count; i++)
            {
                NatSliceUse slice = group[i];
                if (slice.First <= reach.Last)
                {
                    (NatSliceUse later, NatSliceUse earlier) = slice.Order > reach.Order ? (slice, reach) : (reach, slice);
                    if (reported.Add(later.Order))
                    {
                        _errors.Duplicate(later.Path.Child("firstPort"), later.First,
                            $"ports {later.First}..{later.Last} of {later.Ip.Format()} overlap {earlier.Path} ({earlier.First}..{earlier.Last})");
                    }
                }
                if (slice.Last > reach.Last)
                {
                    reach = slice;
                }
            }
        }
    }
}
