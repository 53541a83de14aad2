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
                _natSlices.Add(new NatSliceUse(ip, nat.FirstPort, nat.LastPort, p));
            }
            CheckVni(p.Child("vni"), nat.Vni, mustBeKnown: true);
            CheckRemoteUnderlay(p.Child("ownerUnderlay"), nat.OwnerUnderlay);
        }
    }

    /// <summary>Slices of one public IP (local and neighbors') must not share a port. A slice that
    /// overlaps any slice before it in document order is reported, naming the first one it overlaps.</summary>
    private void ValidateNatSliceOverlaps()
    {
        // One 65536-bit map of taken ports per public IP: checking and marking a slice costs its
        // length / 64, with no dependence on how slices are ordered or how many overlap.
        var taken = new Dictionary<IpValue, ulong[]>();
        var earlier = new Dictionary<IpValue, List<NatSliceUse>>();
        foreach (NatSliceUse slice in _natSlices)
        {
            if (!taken.TryGetValue(slice.Ip, out ulong[]? bits))
            {
                bits = new ulong[(MaxPort + 1) / 64];
                taken.Add(slice.Ip, bits);
                earlier.Add(slice.Ip, []);
            }
            List<NatSliceUse> before = earlier[slice.Ip];
            if (TestAndSet(bits, slice.First, slice.Last))
            {
                NatSliceUse other = before.Find(o => o.First <= slice.Last && slice.First <= o.Last)!;
                _errors.Duplicate(slice.Path.Child("firstPort"), slice.First,
                    $"ports {slice.First}..{slice.Last} of {slice.Ip.Format()} overlap {other.Path} ({other.First}..{other.Last})");
            }
            before.Add(slice);
        }
    }

    /// <summary>Marks ports first..last in <paramref name="bits"/> and tells whether any was already marked.</summary>
    private static bool TestAndSet(ulong[] bits, uint first, uint last)
    {
        bool overlap = false;
        uint word = first >> 6;
        uint lastWord = last >> 6;
        for (; word <= lastWord; word++)
        {
            int lo = word == first >> 6 ? (int)(first & 63) : 0;
            int hi = word == lastWord ? (int)(last & 63) : 63;
            ulong mask = (hi == 63 ? ulong.MaxValue : (1UL << (hi + 1)) - 1) & (ulong.MaxValue << lo);
            overlap |= (bits[word] & mask) != 0;
            bits[word] |= mask;
        }
        return overlap;
    }
}
