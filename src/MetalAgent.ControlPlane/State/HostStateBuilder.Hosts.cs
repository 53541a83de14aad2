using MetalAgent.ControlPlane.Addressing;
using MetalAgent.ControlPlane.Allocation;
using MetalAgent.ControlPlane.Configuration;
using MetalAgent.ControlPlane.Manifests;
using MetalAgent.Model.StateFiles;
using MetalAgent.Model.V1;

namespace MetalAgent.ControlPlane.State;

public sealed partial class HostStateBuilder
{
    private HostSpec BuildHost(HostConfig host)
    {
        var spec = new HostSpec
        {
            SchemaVersion = HostStateFile.SchemaVersion,
            Host = new HostInfo
            {
                Name = host.Name,
                UnderlayPrefix = host.UnderlayPrefix.ToString(),
                RouterUnderlayAddress = _config.RouterUnderlayAddress.ToString(),
                Mtu = _config.Mtu,
                UnderlayMtu = _config.UnderlayMtu,
            },
        };
        spec.Host.DnsServers.AddRange(_config.DnsServers.Select(d => d.ToString()));

        // Networks with an interface here, then the networks bound to them by peering.
        var local = _networks.Values.Where(n => n.Interfaces.Any(i => i.Host == host.Name)).ToList();
        var listed = new SortedDictionary<string, NetworkInfo>(StringComparer.Ordinal);
        foreach (NetworkInfo network in local)
        {
            listed[network.Resource.Metadata.Key] = network;
            foreach (string peer in network.BoundPeers)
            {
                if (_networks.TryGetValue(peer, out NetworkInfo? p))
                {
                    listed[peer] = p;
                }
            }
        }
        foreach (NetworkInfo network in listed.Values)
        {
            var n = new NetworkSpec { Vni = network.Vni, Name = network.Resource.Metadata.Key };
            foreach (string peer in network.BoundPeers)
            {
                if (_networks.TryGetValue(peer, out NetworkInfo? p))
                {
                    n.Peerings.Add(new PeeringSpec { PeerVni = p.Vni });
                }
            }
            spec.Networks.Add(n);
        }

        foreach (NicInfo nic in _nics.Values.Where(n => n.Host == host.Name))
        {
            spec.Interfaces.Add(BuildInterface(nic));
        }

        foreach (NetworkInfo network in local)
        {
            AddRoutes(spec, host.Name, network);
            AddNeighborNats(spec, host.Name, network);
        }

        foreach (LoadBalancerInfo lb in _loadBalancers)
        {
            if (!lb.Hosts.TryGetValue(host.Name, out IpAddressValue underlay))
            {
                continue;
            }
            var l = new LoadBalancerSpec
            {
                Id = lb.Id,
                Vni = lb.Network.Vni,
                Type = lb.Resource.Type == LoadBalancerKind.Public ? LoadBalancerType.Public : LoadBalancerType.Internal,
                UnderlayAddress = underlay.ToString(),
            };
            l.Ips.AddRange(lb.Ips.Select(ip => ip.ToString()));
            foreach (PortRange port in lb.Resource.Ports)
            {
                l.Ports.Add(new LoadBalancerPortSpec { Protocol = port.Protocol, Port = port.Port, EndPort = port.EndPort });
            }
            // Every host computes the same Maglev table from the same target list.
            l.Targets.AddRange(lb.Targets.Select(t => t.Target).Order().Select(t => t.ToString()));
            spec.LoadBalancers.Add(l);
        }

        foreach (PolicyInfo policy in _policies)
        {
            var targets = policy.Selected.Where(n => n.Host == host.Name).Select(n => n.Id).Order(StringComparer.Ordinal).ToList();
            if (targets.Count == 0)
            {
                continue;
            }
            foreach ((string id, PolicyDirection direction, List<PolicyPeerSpec> peers, List<PolicyPortSpec> ports) in policy.Rules)
            {
                var rule = new PolicyRuleSpec { Id = id, Direction = direction, Action = PolicyAction.Allow };
                rule.TargetInterfaces.AddRange(targets);
                rule.Peers.AddRange(peers.Select(p => p.Clone()));
                rule.Ports.AddRange(ports.Select(p => p.Clone()));
                spec.PolicyRules.Add(rule);
            }
        }
        HostSpecOrder.Sort(spec);
        return spec;
    }

    private static InterfaceSpec BuildInterface(NicInfo nic)
    {
        var spec = new InterfaceSpec
        {
            Id = nic.Id,
            Vni = nic.Network.Vni,
            Type = InterfaceType.Virtual,
            Ipv4 = nic.Resource.Ip(IpFamily.IPv4)?.ToString() ?? string.Empty,
            Ipv6 = nic.Resource.Ip(IpFamily.IPv6)?.ToString() ?? string.Empty,
            UnderlayAddress = nic.Underlay.ToString(),
            // The Machine's name is the guest's host name (DHCP), when it is a plain DNS label.
            Hostname = nic.Machine is { } m && Names.IsLabel(m) ? m : string.Empty,
            IngressPolicy = nic.IngressPolicy,
            EgressPolicy = nic.EgressPolicy,
        };
        for (int i = 0; i < nic.Resource.Prefixes.Count; i++)
        {
            spec.Prefixes.Add(new RoutedPrefixSpec { Prefix = nic.Resource.Prefixes[i].ToString(), UnderlayAddress = nic.PrefixUnderlays[i].ToString() });
        }
        foreach ((_, IpAddressValue ip, IpAddressValue underlay) in nic.Aliases)
        {
            spec.LbAliasPrefixes.Add(new RoutedPrefixSpec { Prefix = ip.HostPrefix.ToString(), UnderlayAddress = underlay.ToString() });
        }
        if (nic.VirtualIp is { } vip && nic.VirtualIpUnderlay is IpAddressValue vipUnderlay)
        {
            var v = new VirtualIpSpec { Ip = vip.Ip.ToString(), UnderlayAddress = vipUnderlay.ToString() };
            if (vip.Resource.IpFamily == IpFamily.IPv4)
            {
                spec.VirtualIpv4 = v;
            }
            else
            {
                spec.VirtualIpv6 = v;
            }
        }
        foreach ((IpFamily family, (NatSlot slot, IpAddressValue underlay)) in nic.Nat)
        {
            var n = new NatSliceSpec { PublicIp = slot.PublicIp.ToString(), FirstPort = slot.FirstPort, LastPort = slot.LastPort, UnderlayAddress = underlay.ToString() };
            if (family == IpFamily.IPv4)
            {
                spec.NatIpv4 = n;
            }
            else
            {
                spec.NatIpv6 = n;
            }
        }
        return spec;
    }

    /// <summary>Routes in a local network's VNI to interfaces (IPs and prefixes) on other hosts: first its own,
    /// then those of each Bound peer with the peer's VNI as next-hop VNI. A prefix already routed in the VNI
    /// (by a local interface, a local interface of a peer, an internal LB here, or an earlier route) is skipped:
    /// the network's own addresses win over a peer's.</summary>
    private void AddRoutes(HostSpec spec, string host, NetworkInfo network)
    {
        var routed = new HashSet<IpPrefixValue>();
        foreach (NicInfo nic in network.Interfaces.Where(n => n.Host == host))
        {
            routed.UnionWith(OwnPrefixes(nic).Select(p => p.Prefix));
        }
        foreach (LoadBalancerInfo lb in network.LoadBalancers)
        {
            if (lb.Resource.Type == LoadBalancerKind.Internal && lb.Hosts.ContainsKey(host))
            {
                routed.UnionWith(lb.Ips.Select(ip => ip.HostPrefix));
            }
        }
        var peers = network.BoundPeers.Select(k => _networks.GetValueOrDefault(k)).OfType<NetworkInfo>().ToList();
        // The agent routes same-host peer interfaces itself (from networks[].peerings).
        foreach (NetworkInfo peer in peers)
        {
            foreach (NicInfo nic in peer.Interfaces.Where(n => n.Host == host))
            {
                routed.UnionWith(OwnPrefixes(nic).Select(p => p.Prefix));
            }
        }
        AddRemoteRoutes(spec, host, network, network, routed);
        foreach (NetworkInfo peer in peers)
        {
            AddRemoteRoutes(spec, host, network, peer, routed);
        }
    }

    private static void AddRemoteRoutes(HostSpec spec, string host, NetworkInfo network, NetworkInfo owner, HashSet<IpPrefixValue> routed)
    {
        foreach (NicInfo nic in owner.Interfaces)
        {
            if (nic.Host is null || nic.Host == host)
            {
                continue;
            }
            foreach ((IpPrefixValue prefix, IpAddressValue nextHop) in OwnPrefixes(nic))
            {
                if (!routed.Add(prefix))
                {
                    continue;
                }
                spec.Routes.Add(new RemoteRouteSpec
                {
                    Vni = network.Vni,
                    Prefix = prefix.ToString(),
                    NextHopUnderlay = nextHop.ToString(),
                    NextHopVni = owner == network ? 0 : owner.Vni,
                });
            }
        }
    }

    /// <summary>An interface's routed prefixes: its IPs (/32, /128) at its own underlay, and its extra
    /// prefixes at theirs.</summary>
    private static IEnumerable<(IpPrefixValue Prefix, IpAddressValue Underlay)> OwnPrefixes(NicInfo nic)
    {
        foreach (IpAddressValue ip in nic.Resource.Ips)
        {
            yield return (ip.HostPrefix, nic.Underlay);
        }
        for (int i = 0; i < nic.Resource.Prefixes.Count && i < nic.PrefixUnderlays.Count; i++)
        {
            yield return (nic.Resource.Prefixes[i], nic.PrefixUnderlays[i]);
        }
    }

    /// <summary>NAT slices of the network's interfaces on other hosts.</summary>
    private static void AddNeighborNats(HostSpec spec, string host, NetworkInfo network)
    {
        foreach (NicInfo nic in network.Interfaces)
        {
            if (nic.Host is null || nic.Host == host)
            {
                continue;
            }
            foreach ((NatSlot slot, IpAddressValue underlay) in nic.Nat.Values)
            {
                spec.NeighborNats.Add(new NeighborNatSpec
                {
                    PublicIp = slot.PublicIp.ToString(),
                    FirstPort = slot.FirstPort,
                    LastPort = slot.LastPort,
                    Vni = network.Vni,
                    OwnerUnderlay = underlay.ToString(),
                });
            }
        }
    }
}
