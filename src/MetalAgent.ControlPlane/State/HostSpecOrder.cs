using MetalAgent.Model.V1;

namespace MetalAgent.ControlPlane.State;

/// <summary>The canonical order of every HostSpec collection (by the key each is identified by), used by the
/// server when building a state and by anyone applying a delta, so both sides hold identical messages.</summary>
public static class HostSpecOrder
{
    public static int Compare(NetworkSpec a, NetworkSpec b) => a.Vni.CompareTo(b.Vni);

    public static int Compare(InterfaceSpec a, InterfaceSpec b) => string.CompareOrdinal(a.Id, b.Id);

    public static int Compare(RemoteRouteSpec a, RemoteRouteSpec b) =>
        a.Vni != b.Vni ? a.Vni.CompareTo(b.Vni) : string.CompareOrdinal(a.Prefix, b.Prefix);

    public static int Compare(NeighborNatSpec a, NeighborNatSpec b)
    {
        int c = string.CompareOrdinal(a.PublicIp, b.PublicIp);
        return c != 0 ? c : a.FirstPort.CompareTo(b.FirstPort);
    }

    public static int Compare(LoadBalancerSpec a, LoadBalancerSpec b) => string.CompareOrdinal(a.Id, b.Id);

    public static int Compare(PolicyRuleSpec a, PolicyRuleSpec b) => string.CompareOrdinal(a.Id, b.Id);

    /// <summary>Sorts every collection of <paramref name="spec"/> in place.</summary>
    public static void Sort(HostSpec spec)
    {
        SortField(spec.Networks, Compare);
        SortField(spec.Interfaces, Compare);
        SortField(spec.Routes, Compare);
        SortField(spec.NeighborNats, Compare);
        SortField(spec.LoadBalancers, Compare);
        SortField(spec.PolicyRules, Compare);
    }

    private static void SortField<T>(Google.Protobuf.Collections.RepeatedField<T> field, Comparison<T> comparison)
    {
        var items = field.ToList();
        // List.Sort is not stable; keys are unique in a valid spec, so stability does not matter there,
        // but a stable sort keeps even an invalid spec deterministic.
        var sorted = items.Select((item, index) => (item, index)).ToList();
        sorted.Sort((x, y) => comparison(x.item, y.item) is var c && c != 0 ? c : x.index.CompareTo(y.index));
        field.Clear();
        field.AddRange(sorted.Select(x => x.item));
    }
}
