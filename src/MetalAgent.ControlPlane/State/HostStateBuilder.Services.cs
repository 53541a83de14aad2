using MetalAgent.ControlPlane.Addressing;
using MetalAgent.ControlPlane.Manifests;
using MetalAgent.ControlPlane.V1;
using MetalAgent.Model.V1;

namespace MetalAgent.ControlPlane.State;

public sealed partial class HostStateBuilder
{
    // ---- load balancers ---------------------------------------------------------------------------

    private void ResolveLoadBalancers(IEnumerable<LoadBalancerResource> loadBalancers)
    {
        foreach (LoadBalancerResource lb in loadBalancers)
        {
            var status = new LoadBalancerStatus();
            _status[lb.Key].LoadBalancer = status;
            if (!_networks.TryGetValue(lb.NetworkKey, out NetworkInfo? network))
            {
                Condition(lb, $"network {lb.NetworkName} not found");
                continue;
            }
            var info = new LoadBalancerInfo(lb, ObjectIds.For(lb.Metadata), network);
            bool ok = true;
            if (lb.Type == LoadBalancerKind.Public)
            {
                foreach (IpFamily family in lb.IpFamilies.Order())
                {
                    if (_allocator.PublicIp($"{lb.Key}/{family}", family) is IpAddressValue ip)
                    {
                        info.Ips.Add(ip);
                    }
                    else
                    {
                        Condition(lb, $"the public {family} pool is exhausted");
                    }
                }
            }
            else
            {
                foreach (IpAddressValue ip in lb.Ips.Order())
                {
                    if (_allocator.TryClaim(AddressScope(lb.NetworkKey, ip.HostPrefix), lb.Key, out string holder))
                    {
                        info.Ips.Add(ip);
                    }
                    else
                    {
                        Condition(lb, $"{ip} is already used in network {lb.NetworkName} by {holder}");
                        ok = false;
                    }
                }
            }
            status.Ips.AddRange(info.Ips.Select(ip => ip.ToString()));
            if (!ok || info.Ips.Count == 0)
            {
                continue;
            }

            // Targets: placed interfaces of the network selected by labels. No selector selects nothing.
            foreach (NicInfo nic in network.Interfaces)
            {
                if (nic.Host is null || nic.Resource.Metadata.Namespace != lb.Metadata.Namespace
                    || lb.NetworkInterfaceSelector?.Matches(nic.Resource.Metadata.Labels) != true)
                {
                    continue;
                }
                IpAddressValue? target = null;
                foreach (IpAddressValue ip in info.Ips)
                {
                    // The target owns the LB IP as an alias prefix of a family it speaks.
                    if (nic.Resource.Ip((IpFamily)ip.Version) is null)
                    {
                        continue;
                    }
                    IpAddressValue underlay = _allocator.Underlay(nic.Host, $"{nic.Resource.Key}/lb/{lb.Metadata.Key}/{ip.Family}");
                    nic.Aliases.Add((info, ip, underlay));
                    target ??= underlay;
                }
                if (target is IpAddressValue t)
                {
                    info.Targets.Add((nic, t));
                }
            }
            // Every host with a target carries the LB; an internal LB also every host with an interface of
            // its network, so VMs there reach the LB IP without a detour.
            foreach ((NicInfo nic, _) in info.Targets)
            {
                info.Hosts.TryAdd(nic.Host!, default);
            }
            if (lb.Type == LoadBalancerKind.Internal)
            {
                foreach (NicInfo nic in network.Interfaces)
                {
                    if (nic.Host is not null)
                    {
                        info.Hosts.TryAdd(nic.Host, default);
                    }
                }
            }
            foreach (string host in info.Hosts.Keys.ToList())
            {
                info.Hosts[host] = _allocator.Underlay(host, lb.Key);
            }
            if (lb.Type == LoadBalancerKind.Public)
            {
                foreach (IpAddressValue ip in info.Ips)
                {
                    var route = new PublicIpRoute { Ip = ip.ToString(), Kind = PublicIpKind.LoadBalancer, Object = lb.Metadata.Key };
                    foreach ((NicInfo nic, _) in info.Targets)
                    {
                        string underlay = info.Hosts[nic.Host!].ToString();
                        if (!route.Owners.Any(o => o.UnderlayAddress == underlay))
                        {
                            route.Owners.Add(new PublicIpOwner { UnderlayAddress = underlay, Host = nic.Host! });
                        }
                    }
                    SortOwners(route);
                    _router.Add(route);
                }
            }
            _loadBalancers.Add(info);
            network.LoadBalancers.Add(info);
        }
    }

    // ---- network policies -------------------------------------------------------------------------

    private void ResolvePolicies(IEnumerable<NetworkPolicyResource> policies)
    {
        foreach (NetworkPolicyResource policy in policies)
        {
            if (!_networks.TryGetValue(policy.NetworkKey, out NetworkInfo? network))
            {
                Condition(policy, $"network {policy.NetworkName} not found");
                continue;
            }
            var info = new PolicyInfo(policy, ObjectIds.For(policy.Metadata));
            foreach (NicInfo nic in network.Interfaces)
            {
                if (nic.Resource.Metadata.Namespace == policy.Metadata.Namespace && policy.NetworkInterfaceSelector.Matches(nic.Resource.Metadata.Labels))
                {
                    info.Selected.Add(nic);
                    nic.IngressPolicy |= policy.IngressSelected;
                    nic.EgressPolicy |= policy.EgressSelected;
                }
            }
            if (policy.IngressSelected)
            {
                AddRules(info, network, policy.Ingress, PolicyDirection.Ingress, "ingress");
            }
            if (policy.EgressSelected)
            {
                AddRules(info, network, policy.Egress, PolicyDirection.Egress, "egress");
            }
            _policies.Add(info);
        }
    }

    private void AddRules(PolicyInfo info, NetworkInfo network, IReadOnlyList<NetworkPolicyRule> rules, PolicyDirection direction, string name)
    {
        for (int i = 0; i < rules.Count; i++)
        {
            NetworkPolicyRule rule = rules[i];
            var peers = new SortedDictionary<string, PolicyPeerSpec>(StringComparer.Ordinal);
            foreach (NetworkPolicyPeer peer in rule.Peers)
            {
                if (peer.IpBlock is IpBlock block)
                {
                    var spec = new PolicyPeerSpec { Cidr = block.Cidr.ToString() };
                    spec.Except.AddRange(block.Except.Order().Select(e => e.ToString()));
                    peers.TryAdd(PeerKey(spec), spec);
                }
                else if (peer.ObjectSelector is ObjectSelector selector)
                {
                    foreach (IpAddressValue ip in SelectPeerAddresses(info.Resource, network, selector))
                    {
                        var spec = new PolicyPeerSpec { Cidr = ip.HostPrefix.ToString() };
                        peers.TryAdd(PeerKey(spec), spec);
                    }
                }
            }
            if (rule.Peers.Count > 0 && peers.Count == 0)
            {
                // Peers were given but none resolves to an address: the rule allows nothing. Leaving it
                // out keeps it from meaning "any peer".
                continue;
            }
            var ports = new List<PolicyPortSpec>();
            foreach (PortRange port in rule.Ports)
            {
                ports.Add(new PolicyPortSpec { Protocol = port.Protocol, FirstPort = port.Port, LastPort = port.Port == 0 ? 0 : port.Last });
            }
            string id = ObjectIds.Shorten($"{info.Id}:{name}:{i}", $"{info.Resource.Key}:{name}:{i}");
            info.Rules.Add((id, direction, [.. peers.Values.OrderBy(p => IpPrefixValue.TryParse(p.Cidr, out IpPrefixValue v, out _) ? v : default).ThenBy(p => p.Cidr, StringComparer.Ordinal)], ports));
        }
    }

    private static string PeerKey(PolicyPeerSpec spec) => spec.Cidr + " except " + string.Join(",", spec.Except);

    /// <summary>Addresses of the objects an objectSelector picks in the policy's namespace and network:
    /// interfaces' IPs, or load balancers' IPs.</summary>
    private IEnumerable<IpAddressValue> SelectPeerAddresses(NetworkPolicyResource policy, NetworkInfo network, ObjectSelector selector)
    {
        if (selector.Kind == ResourceKinds.NetworkInterface)
        {
            foreach (NicInfo nic in network.Interfaces)
            {
                if (nic.Resource.Metadata.Namespace == policy.Metadata.Namespace && selector.Selector.Matches(nic.Resource.Metadata.Labels))
                {
                    foreach (IpAddressValue ip in nic.Resource.Ips)
                    {
                        yield return ip;
                    }
                }
            }
        }
        else
        {
            foreach (LoadBalancerInfo lb in network.LoadBalancers)
            {
                if (lb.Resource.Metadata.Namespace == policy.Metadata.Namespace && selector.Selector.Matches(lb.Resource.Metadata.Labels))
                {
                    foreach (IpAddressValue ip in lb.Ips)
                    {
                        yield return ip;
                    }
                }
            }
        }
    }
}
