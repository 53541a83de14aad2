using System.Globalization;
using MetalAgent.Model.V1;
using MetalAgent.Packets;
using MetalAgent.Tables.Classifier;
using MetalAgent.Tables.Exact;
using MetalAgent.Tables.Snapshot;

namespace MetalAgent.Compiler;

/// <summary>
/// Turns address-resolved policy rules into one classifier per (interface, direction, family).
/// Peers with excepts become the disjoint prefixes of the CIDR minus the excepts; ingress rules
/// match the peer as source, egress rules as destination; ports become destination-port ranges,
/// ICMP type/code become (source port = type, destination port = code) ranges. Rule groups with the
/// same text share one classifier, and groups unchanged since the previous compile are reused.
/// </summary>
internal static class PolicyCompiler
{
    public static InterfacePolicy[] Compile(
        HostSpec spec,
        IdAllocator ifaceIds,
        Dictionary<string, object>? previousCache,
        Dictionary<string, object> cache)
    {
        var policies = new InterfacePolicy[ifaceIds.Count];
        Array.Fill(policies, InterfacePolicy.None);

        // Rules per (interface, direction), in priority order then spec order.
        var groups = new SortedDictionary<string, List<(int Order, PolicyRuleSpec Rule)>>(StringComparer.Ordinal);
        for (int r = 0; r < spec.PolicyRules.Count; r++)
        {
            PolicyRuleSpec rule = spec.PolicyRules[r];
            foreach (string target in rule.TargetInterfaces)
            {
                string key = target + "\n" + (rule.Direction == PolicyDirection.Ingress ? "in" : "out");
                if (!groups.TryGetValue(key, out List<(int, PolicyRuleSpec)>? list))
                {
                    groups[key] = list = [];
                }
                list.Add((r, rule));
            }
        }

        foreach (InterfaceSpec i in spec.Interfaces)
        {
            if (!i.IngressPolicy && !i.EgressPolicy)
            {
                continue;
            }
            int id = ifaceIds[i.Id];
            var in4 = new List<ClassifierRule4>();
            var in6 = new List<ClassifierRule6>();
            var out4 = new List<ClassifierRule4>();
            var out6 = new List<ClassifierRule6>();
            if (i.IngressPolicy && groups.TryGetValue(i.Id + "\nin", out List<(int, PolicyRuleSpec)>? ingress))
            {
                Expand(ingress, ingressSide: true, in4, in6);
            }
            if (i.EgressPolicy && groups.TryGetValue(i.Id + "\nout", out List<(int, PolicyRuleSpec)>? egress))
            {
                Expand(egress, ingressSide: false, out4, out6);
            }
            policies[id] = new InterfacePolicy
            {
                Ingress4 = Shared(in4, previousCache, cache, static r => Classifier4Table.Build(r)),
                Ingress6 = Shared(in6, previousCache, cache, static r => Classifier6Table.Build(r)),
                Egress4 = Shared(out4, previousCache, cache, static r => Classifier4Table.Build(r)),
                Egress6 = Shared(out6, previousCache, cache, static r => Classifier6Table.Build(r)),
            };
        }
        return policies;
    }

    private delegate T Builder<TRule, T>(ReadOnlySpan<TRule> rules);

    private static T? Shared<TRule, T>(List<TRule> rules, Dictionary<string, object>? previous, Dictionary<string, object> cache, Builder<TRule, T> build)
        where T : class
        where TRule : unmanaged
    {
        if (rules.Count == 0)
        {
            return null;
        }
        // Rules are flat records: their bytes identify the group. Two independent 64-bit hashes of
        // those bytes name it (formatting 100K rules as text would dominate a one-interface update).
        ReadOnlySpan<byte> bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(rules));
        string signature = string.Create(CultureInfo.InvariantCulture,
            $"{typeof(TRule).Name}:{rules.Count}:{FlowHash.Hash(bytes, 0x5eed_0001UL):x16}{FlowHash.Hash(bytes, 0x5eed_0002UL):x16}");
        if (cache.TryGetValue(signature, out object? built) || (previous is not null && previous.TryGetValue(signature, out built)))
        {
            cache[signature] = built;
            return (T)built;
        }
        T table = build(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(rules));
        cache[signature] = table;
        return table;
    }

    private static void Expand(List<(int Order, PolicyRuleSpec Rule)> group, bool ingressSide, List<ClassifierRule4> v4, List<ClassifierRule6> v6)
    {
        group.Sort(static (a, b) => a.Rule.Priority != b.Rule.Priority ? a.Rule.Priority.CompareTo(b.Rule.Priority) : a.Order.CompareTo(b.Order));
        foreach ((int order, PolicyRuleSpec rule) in group)
        {
            int priority = (int)Math.Min(rule.Priority, int.MaxValue / 2);
            uint action = rule.Action == PolicyAction.Deny ? PolicyActions.Deny : PolicyActions.Allow;
            var peers = new List<SourcePrefix>();
            if (rule.Peers.Count == 0)
            {
                peers.Add(new SourcePrefix { IpVersion = 4 });
                peers.Add(new SourcePrefix { IpVersion = 6 });
            }
            foreach (PolicyPeerSpec peer in rule.Peers)
            {
                peers.AddRange(Subtract(Prefix(peer.Cidr), peer.Except.Select(Prefix).ToList()));
            }
            var ports = new List<(byte Protocol, byte Mask, ushort SrcLo, ushort SrcHi, ushort DstLo, ushort DstHi)>();
            if (rule.Ports.Count == 0)
            {
                ports.Add((0, 0, 0, ushort.MaxValue, 0, ushort.MaxValue));
            }
            foreach (PolicyPortSpec p in rule.Ports)
            {
                byte protocol = (byte)p.Protocol;
                if (p.Protocol is Protocol.Icmp or Protocol.Icmpv6)
                {
                    ushort typeLo = p.HasIcmpType ? (ushort)p.IcmpType : (ushort)0, typeHi = p.HasIcmpType ? (ushort)p.IcmpType : (ushort)255;
                    ushort codeLo = p.HasIcmpCode ? (ushort)p.IcmpCode : (ushort)0, codeHi = p.HasIcmpCode ? (ushort)p.IcmpCode : (ushort)255;
                    ports.Add((protocol, 0xFF, typeLo, typeHi, codeLo, codeHi));
                }
                else if (p.FirstPort == 0 && p.LastPort == 0)
                {
                    ports.Add((protocol, 0xFF, 0, ushort.MaxValue, 0, ushort.MaxValue));
                }
                else
                {
                    ports.Add((protocol, 0xFF, 0, ushort.MaxValue, (ushort)p.FirstPort, (ushort)(p.LastPort == 0 ? p.FirstPort : p.LastPort)));
                }
            }
            foreach (SourcePrefix peer in peers)
            {
                foreach ((byte protocol, byte mask, ushort srcLo, ushort srcHi, ushort dstLo, ushort dstHi) in ports)
                {
                    // ICMP rules apply to their own family only.
                    if ((protocol == 1 && peer.IpVersion != 4) || (protocol == 58 && peer.IpVersion != 6))
                    {
                        continue;
                    }
                    if (peer.IpVersion == 4)
                    {
                        uint net = (uint)peer.Network;
                        v4.Add(ingressSide
                            ? new ClassifierRule4(net, peer.Length, 0, 0, srcLo, srcHi, dstLo, dstHi, protocol, mask, priority, action)
                            : new ClassifierRule4(0, 0, net, peer.Length, srcLo, srcHi, dstLo, dstHi, protocol, mask, priority, action));
                    }
                    else
                    {
                        v6.Add(ingressSide
                            ? new ClassifierRule6(peer.Network, peer.Length, 0, 0, srcLo, srcHi, dstLo, dstHi, protocol, mask, priority, action)
                            : new ClassifierRule6(0, 0, peer.Network, peer.Length, srcLo, srcHi, dstLo, dstHi, protocol, mask, priority, action));
                    }
                }
            }
        }
    }

    /// <summary>Parses a peer CIDR, masking host bits as IronCore does.</summary>
    private static SourcePrefix Prefix(string text) =>
        Addresses.TryParsePrefix(text, out byte version, out UInt128 network, out byte length, out _)
            ? new SourcePrefix { IpVersion = version, Network = network, Length = length }
            : throw new ArgumentException("not a prefix: " + text, nameof(text));

    /// <summary>The prefixes covering <paramref name="whole"/> minus <paramref name="excepts"/> (disjoint, sorted).</summary>
    internal static List<SourcePrefix> Subtract(SourcePrefix whole, List<SourcePrefix> excepts)
    {
        var result = new List<SourcePrefix>();
        Split(whole, excepts, result);
        return result;
    }

    private static void Split(SourcePrefix p, List<SourcePrefix> excepts, List<SourcePrefix> result)
    {
        bool overlaps = false;
        foreach (SourcePrefix e in excepts)
        {
            if (e.IpVersion != p.IpVersion)
            {
                continue;
            }
            if (e.Length <= p.Length && e.Contains(p.IpVersion, p.Network))
            {
                return; // entirely excepted
            }
            if (e.Length > p.Length && p.Contains(e.IpVersion, e.Network))
            {
                overlaps = true;
            }
        }
        if (!overlaps)
        {
            result.Add(p);
            return;
        }
        int bits = p.IpVersion == 4 ? 32 : 128;
        byte length = (byte)(p.Length + 1);
        UInt128 bit = UInt128.One << (bits - length);
        Split(new SourcePrefix { IpVersion = p.IpVersion, Network = p.Network, Length = length }, excepts, result);
        Split(new SourcePrefix { IpVersion = p.IpVersion, Network = p.Network | bit, Length = length }, excepts, result);
    }
}
