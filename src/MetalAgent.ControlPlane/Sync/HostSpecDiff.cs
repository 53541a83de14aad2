using System.Security.Cryptography;
using Google.Protobuf;
using MetalAgent.ControlPlane.State;
using MetalAgent.ControlPlane.V1;
using MetalAgent.Model.V1;

namespace MetalAgent.ControlPlane.Sync;

/// <summary>Computes and applies <see cref="HostSpecDelta"/>s: the keyed changes between two HostSpecs.
/// Applying the delta from A to B to A gives a message equal to B (collections in <see cref="HostSpecOrder"/>).</summary>
public static class HostSpecDiff
{
    /// <summary>The changes that turn <paramref name="from"/> into <paramref name="to"/>.</summary>
    public static HostSpecDelta Compute(HostSpec from, HostSpec to)
    {
        var delta = new HostSpecDelta { BaseVersion = from.Version };
        if (!Equals(from.Host, to.Host))
        {
            delta.Host = to.Host?.Clone() ?? new HostInfo();
        }
        Diff(from.Networks, to.Networks, n => n.Vni, delta.UpsertedNetworks, delta.RemovedNetworks, k => k);
        Diff(from.Interfaces, to.Interfaces, i => i.Id, delta.UpsertedInterfaces, delta.RemovedInterfaces, k => k);
        Diff(from.Routes, to.Routes, r => (r.Vni, r.Prefix), delta.UpsertedRoutes, delta.RemovedRoutes, k => new RouteKey { Vni = k.Vni, Prefix = k.Prefix });
        Diff(from.NeighborNats, to.NeighborNats, n => (n.PublicIp, n.FirstPort), delta.UpsertedNeighborNats, delta.RemovedNeighborNats,
            k => new NeighborNatKey { PublicIp = k.PublicIp, FirstPort = k.FirstPort });
        Diff(from.LoadBalancers, to.LoadBalancers, l => l.Id, delta.UpsertedLoadBalancers, delta.RemovedLoadBalancers, k => k);
        Diff(from.PolicyRules, to.PolicyRules, p => p.Id, delta.UpsertedPolicyRules, delta.RemovedPolicyRules, k => k);
        return delta;
    }

    /// <summary>True when the delta changes nothing.</summary>
    public static bool IsEmpty(HostSpecDelta delta) =>
        delta.Host is null && delta.UpsertedNetworks.Count == 0 && delta.RemovedNetworks.Count == 0
        && delta.UpsertedInterfaces.Count == 0 && delta.RemovedInterfaces.Count == 0
        && delta.UpsertedRoutes.Count == 0 && delta.RemovedRoutes.Count == 0
        && delta.UpsertedNeighborNats.Count == 0 && delta.RemovedNeighborNats.Count == 0
        && delta.UpsertedLoadBalancers.Count == 0 && delta.RemovedLoadBalancers.Count == 0
        && delta.UpsertedPolicyRules.Count == 0 && delta.RemovedPolicyRules.Count == 0;

    /// <summary>Applies <paramref name="delta"/> to a copy of <paramref name="from"/> and stamps
    /// <paramref name="version"/>. Throws <see cref="InvalidOperationException"/> when the delta is not based on
    /// <paramref name="from"/>'s version.</summary>
    public static HostSpec Apply(HostSpec from, HostSpecDelta delta, ulong version)
    {
        if (delta.BaseVersion != from.Version)
        {
            throw new InvalidOperationException($"the delta applies to version {delta.BaseVersion}, not {from.Version}");
        }
        HostSpec spec = from.Clone();
        spec.Version = version;
        if (delta.Host is not null)
        {
            spec.Host = delta.Host.Clone();
        }
        Patch(spec.Networks, n => n.Vni, delta.UpsertedNetworks, delta.RemovedNetworks, k => k);
        Patch(spec.Interfaces, i => i.Id, delta.UpsertedInterfaces, delta.RemovedInterfaces, k => k);
        Patch(spec.Routes, r => (r.Vni, r.Prefix), delta.UpsertedRoutes, delta.RemovedRoutes, k => (k.Vni, k.Prefix));
        Patch(spec.NeighborNats, n => (n.PublicIp, n.FirstPort), delta.UpsertedNeighborNats, delta.RemovedNeighborNats, k => (k.PublicIp, k.FirstPort));
        Patch(spec.LoadBalancers, l => l.Id, delta.UpsertedLoadBalancers, delta.RemovedLoadBalancers, k => k);
        Patch(spec.PolicyRules, p => p.Id, delta.UpsertedPolicyRules, delta.RemovedPolicyRules, k => k);
        HostSpecOrder.Sort(spec);
        return spec;
    }

    /// <summary>SHA-256 (lower-case hex) of the binary encoding of <paramref name="spec"/> (deterministic:
    /// fields in number order, repeated fields in order, no maps in HostSpec).</summary>
    public static string Sha256(HostSpec spec) => Convert.ToHexStringLower(SHA256.HashData(spec.ToByteArray()));

    private static void Diff<T, TKey, TWire>(
        IList<T> from,
        IList<T> to,
        Func<T, TKey> key,
        Google.Protobuf.Collections.RepeatedField<T> upserted,
        Google.Protobuf.Collections.RepeatedField<TWire> removed,
        Func<TKey, TWire> wire)
        where T : IMessage<T>, IDeepCloneable<T>
        where TKey : notnull
    {
        var old = new Dictionary<TKey, T>();
        foreach (T item in from)
        {
            old[key(item)] = item;
        }
        var present = new HashSet<TKey>();
        foreach (T item in to)
        {
            TKey k = key(item);
            present.Add(k);
            if (!old.TryGetValue(k, out T? before) || !before.Equals(item))
            {
                upserted.Add(item.Clone());
            }
        }
        foreach (T item in from)
        {
            TKey k = key(item);
            if (!present.Contains(k))
            {
                removed.Add(wire(k));
            }
        }
    }

    private static void Patch<T, TKey, TWire>(
        Google.Protobuf.Collections.RepeatedField<T> field,
        Func<T, TKey> key,
        IList<T> upserted,
        IList<TWire> removed,
        Func<TWire, TKey> unwire)
        where T : IDeepCloneable<T>
        where TKey : notnull
    {
        var drop = new HashSet<TKey>(removed.Select(unwire));
        var replace = new Dictionary<TKey, T>();
        foreach (T item in upserted)
        {
            replace[key(item)] = item;
        }
        var result = new List<T>();
        foreach (T item in field)
        {
            TKey k = key(item);
            if (drop.Contains(k) || replace.ContainsKey(k))
            {
                continue;
            }
            result.Add(item);
        }
        result.AddRange(upserted.Select(u => u.Clone()));
        field.Clear();
        field.AddRange(result);
    }
}
