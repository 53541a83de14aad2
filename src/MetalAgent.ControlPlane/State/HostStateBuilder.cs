using MetalAgent.ControlPlane.Addressing;
using MetalAgent.ControlPlane.Allocation;
using MetalAgent.ControlPlane.Configuration;
using MetalAgent.ControlPlane.Manifests;
using MetalAgent.ControlPlane.V1;
using MetalAgent.Model.V1;

namespace MetalAgent.ControlPlane.State;

/// <summary>Computes every host's <see cref="HostSpec"/>, the router view and object statuses from validated
/// resources, doing centrally what ironcore-net does: placement from Machines, VNI / underlay / public IP
/// allocation, NAT slots, load-balancer targets and policy peers from selectors, routes between hosts and
/// through peerings. Objects are processed in sorted order so the result (and every new allocation) is
/// deterministic. References that cannot be resolved or addresses already in use become conditions on the
/// object, which is then left out (or, for a VirtualIP reference, served without it).</summary>
public sealed partial class HostStateBuilder
{
    private readonly ControlPlaneConfig _config;
    private readonly Allocator _allocator;

    private readonly SortedDictionary<string, NetworkInfo> _networks = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, NicInfo> _nics = new(StringComparer.Ordinal);
    private readonly List<LoadBalancerInfo> _loadBalancers = [];
    private readonly List<PolicyInfo> _policies = [];
    private readonly SortedDictionary<string, ObjectStatus> _status = new(StringComparer.Ordinal);
    private readonly List<PublicIpRoute> _router = [];

    private HostStateBuilder(ControlPlaneConfig config, Allocator allocator)
    {
        _config = config;
        _allocator = allocator;
    }

    /// <summary>Builds the state for <paramref name="resources"/> (one valid version per object). Runs a full
    /// allocation round (<see cref="Allocator.BeginRound"/> .. <see cref="Allocator.EndRound"/>), repeated once
    /// when a released claim may now be granted.</summary>
    public static ControlPlaneState Build(ControlPlaneConfig config, Allocator allocator, IEnumerable<Resource> resources)
    {
        List<Resource> sorted = [.. resources];
        sorted.Sort(static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        ControlPlaneState state = BuildRound(config, allocator, sorted);
        if (allocator.ShouldRepeatRound)
        {
            state = BuildRound(config, allocator, sorted);
        }
        return state;
    }

    private static ControlPlaneState BuildRound(ControlPlaneConfig config, Allocator allocator, List<Resource> resources)
    {
        allocator.BeginRound();
        var builder = new HostStateBuilder(config, allocator);
        ControlPlaneState state = builder.Run(resources);
        allocator.EndRound();
        return state;
    }

    private ControlPlaneState Run(List<Resource> resources)
    {
        foreach (Resource r in resources)
        {
            _status[r.Key] = new ObjectStatus { Kind = r.Kind, Namespace = r.Metadata.Namespace, Name = r.Metadata.Name, InForce = true };
        }
        ResolveNetworks(resources.OfType<NetworkResource>());
        Dictionary<string, (string Host, string Machine)> placement = ResolveMachines(resources.OfType<MachineResource>());
        Dictionary<string, VirtualIpResource> vips = ResolveVirtualIps(resources.OfType<VirtualIpResource>());
        ResolveInterfaces(resources.OfType<NetworkInterfaceResource>(), placement, vips);
        ResolveNatGateways(resources.OfType<NatGatewayResource>());
        ResolveLoadBalancers(resources.OfType<LoadBalancerResource>());
        ResolvePolicies(resources.OfType<NetworkPolicyResource>());
        FillInterfaceStatus();

        var hosts = new SortedDictionary<string, HostSpec>(StringComparer.Ordinal);
        foreach (HostConfig host in _config.Hosts)
        {
            hosts[host.Name] = BuildHost(host);
        }
        _router.Sort(static (a, b) => IpAddressValue.Parse(a.Ip).CompareTo(IpAddressValue.Parse(b.Ip)));
        return new ControlPlaneState(hosts, _router, _status);
    }

    private void Condition(Resource resource, string message) => _status[resource.Key].Conditions.Add(message);

    // ---- networks and placement ----------------------------------------------------------------

    private void ResolveNetworks(IEnumerable<NetworkResource> networks)
    {
        var byKey = networks.ToDictionary(n => n.Metadata.Key, StringComparer.Ordinal);
        foreach (NetworkResource network in byKey.Values.OrderBy(n => n.Metadata.Key, StringComparer.Ordinal))
        {
            var status = new NetworkStatus();
            uint? vni = _allocator.Vni(network.Metadata.Key);
            if (vni is null)
            {
                Condition(network, "no VNI left in 200..16777215");
                status.State = "Pending";
                _status[network.Key].Network = status;
                continue;
            }
            string uid = network.Metadata.Uid.Length > 0 ? network.Metadata.Uid : _allocator.NetworkUid(network.Metadata.Key);
            status.Vni = vni.Value;
            status.State = "Available";
            status.ProviderId = $"ironcore-net://{network.Metadata.Namespace}/{network.Metadata.Name}/{vni.Value}/{uid}";
            var info = new NetworkInfo(network, vni.Value);
            foreach (NetworkPeering peering in network.Peerings)
            {
                // Bound only when the peer exists and lists this network back.
                bool bound = byKey.TryGetValue(peering.NetworkKey, out NetworkResource? peer)
                    && peer.Peerings.Any(p => p.NetworkKey == network.Metadata.Key);
                status.Peerings.Add(new NetworkPeeringStatus { Name = peering.Name, Phase = bound ? "Bound" : "Pending" });
                if (bound)
                {
                    info.BoundPeers.Add(peering.NetworkKey);
                }
            }
            info.BoundPeers.Sort(StringComparer.Ordinal);
            _status[network.Key].Network = status;
            _networks[network.Metadata.Key] = info;
        }
    }

    /// <summary>NetworkInterface "namespace/name" to (host, machine) from Machines' machinePoolRef.</summary>
    private Dictionary<string, (string Host, string Machine)> ResolveMachines(IEnumerable<MachineResource> machines)
    {
        var placement = new Dictionary<string, (string, string)>(StringComparer.Ordinal);
        foreach (MachineResource machine in machines)
        {
            if (machine.MachinePoolName is null)
            {
                Condition(machine, "not scheduled: spec.machinePoolRef is not set");
                continue;
            }
            if (_config.FindHost(machine.MachinePoolName) is null)
            {
                Condition(machine, $"machine pool {machine.MachinePoolName} is not a configured host");
                continue;
            }
            foreach (MachineNetworkInterface nic in machine.NetworkInterfaces)
            {
                string nicKey = machine.Metadata.Namespace + "/" + nic.NetworkInterfaceName;
                if (!_allocator.TryClaim("attachment/" + nicKey, machine.Key, out string holder))
                {
                    Condition(machine, $"network interface {nic.NetworkInterfaceName} is already attached by {holder}");
                    continue;
                }
                placement[nicKey] = (machine.MachinePoolName, machine.Metadata.Name);
            }
        }
        return placement;
    }

    private Dictionary<string, VirtualIpResource> ResolveVirtualIps(IEnumerable<VirtualIpResource> vips)
    {
        var byKey = new Dictionary<string, VirtualIpResource>(StringComparer.Ordinal);
        foreach (VirtualIpResource vip in vips)
        {
            byKey[vip.Metadata.Key] = vip;
            IpAddressValue? ip = _allocator.PublicIp(vip.Key, vip.IpFamily);
            var status = new VirtualIpStatus();
            if (ip is IpAddressValue a)
            {
                status.Ip = a.ToString();
            }
            else
            {
                Condition(vip, $"the public {vip.IpFamily} pool is exhausted");
            }
            _status[vip.Key].VirtualIp = status;
        }
        return byKey;
    }

    // ---- interfaces ------------------------------------------------------------------------------

    private void ResolveInterfaces(
        IEnumerable<NetworkInterfaceResource> nics,
        Dictionary<string, (string Host, string Machine)> placement,
        Dictionary<string, VirtualIpResource> vips)
    {
        foreach (NetworkInterfaceResource nic in nics)
        {
            if (!_networks.TryGetValue(nic.NetworkKey, out NetworkInfo? network))
            {
                Condition(nic, $"network {nic.NetworkName} not found");
                continue;
            }
            bool claimed = true;
            foreach (IpPrefixValue prefix in nic.Ips.Select(ip => ip.HostPrefix).Concat(nic.Prefixes))
            {
                if (!_allocator.TryClaim(AddressScope(nic.NetworkKey, prefix), nic.Key, out string holder))
                {
                    Condition(nic, $"{prefix} is already used in network {nic.NetworkName} by {holder}");
                    claimed = false;
                }
            }
            if (!claimed)
            {
                _status[nic.Key].NetworkInterface = new NetworkInterfaceStatus { State = "Error", Reason = "address in use" };
                continue;
            }
            var info = new NicInfo(nic, ObjectIds.For(nic.Metadata), network);
            if (nic.VirtualIpName is not null)
            {
                string vipKey = nic.Metadata.Namespace + "/" + nic.VirtualIpName;
                if (!vips.TryGetValue(vipKey, out VirtualIpResource? vip))
                {
                    Condition(nic, $"virtual IP {nic.VirtualIpName} not found");
                }
                else if (nic.Ip(vip.IpFamily) is null)
                {
                    Condition(nic, $"virtual IP {nic.VirtualIpName} is {vip.IpFamily}, but the interface has no {vip.IpFamily} address");
                }
                else if (!_allocator.TryClaim("virtualip/" + vipKey, nic.Key, out string holder))
                {
                    Condition(nic, $"virtual IP {nic.VirtualIpName} is already used by {holder}");
                }
                else if (_status[vip.Key].VirtualIp.Ip is { Length: > 0 } vipIp)
                {
                    info.VirtualIp = (vip, IpAddressValue.Parse(vipIp));
                }
            }
            if (placement.TryGetValue(nic.Metadata.Key, out (string Host, string Machine) place))
            {
                info.Host = place.Host;
                info.Machine = place.Machine;
                info.Underlay = _allocator.Underlay(place.Host, nic.Key);
                foreach (IpPrefixValue prefix in nic.Prefixes)
                {
                    info.PrefixUnderlays.Add(_allocator.Underlay(place.Host, $"{nic.Key}/prefix/{prefix}"));
                }
                if (info.VirtualIp is { } v)
                {
                    info.VirtualIpUnderlay = _allocator.Underlay(place.Host, $"{nic.Key}/vip/{v.Resource.IpFamily}");
                    _router.Add(new PublicIpRoute
                    {
                        Ip = v.Ip.ToString(),
                        Kind = PublicIpKind.VirtualIp,
                        Object = v.Resource.Metadata.Key,
                        Owners = { new PublicIpOwner { UnderlayAddress = info.VirtualIpUnderlay.Value.ToString(), Host = place.Host } },
                    });
                }
            }
            else
            {
                Condition(nic, "not attached to a Machine scheduled on a configured host");
            }
            _nics[nic.Metadata.Key] = info;
            network.Interfaces.Add(info);
        }
        foreach (VirtualIpResource vip in vips.Values.OrderBy(v => v.Key, StringComparer.Ordinal))
        {
            string ip = _status[vip.Key].VirtualIp.Ip;
            if (ip.Length > 0 && !_router.Any(r => r.Ip == ip))
            {
                // Allocated but not bound to a placed interface: the router learns the IP has no owner.
                _router.Add(new PublicIpRoute { Ip = ip, Kind = PublicIpKind.VirtualIp, Object = vip.Metadata.Key });
            }
        }
    }

    private static string AddressScope(string networkKey, IpPrefixValue prefix) => $"address/{networkKey}/{prefix}";

    private void FillInterfaceStatus()
    {
        foreach (NicInfo nic in _nics.Values)
        {
            var status = new NetworkInterfaceStatus
            {
                State = "Pending",
                Host = nic.Host ?? string.Empty,
                Reason = nic.Host is null ? "not placed on a host" : "waiting for the host's agent",
                VirtualIp = nic.VirtualIp?.Ip.ToString() ?? string.Empty,
            };
            status.Ips.AddRange(nic.Resource.Ips.Select(ip => ip.ToString()));
            _status[nic.Resource.Key].NetworkInterface = status;
        }
    }

    // ---- NAT gateways ----------------------------------------------------------------------------

    private void ResolveNatGateways(IEnumerable<NatGatewayResource> gateways)
    {
        foreach (NatGatewayResource gateway in gateways)
        {
            var status = new NatGatewayStatus();
            _status[gateway.Key].NatGateway = status;
            if (!_networks.TryGetValue(gateway.NetworkKey, out NetworkInfo? network))
            {
                Condition(gateway, $"network {gateway.NetworkName} not found");
                continue;
            }
            // One gateway per network and family: an interface has at most one NAT slice per family.
            if (!_allocator.TryClaim($"natgateway/{gateway.NetworkKey}/{gateway.IpFamily}", gateway.Key, out string holder))
            {
                Condition(gateway, $"network {gateway.NetworkName} already has an {gateway.IpFamily} NAT gateway ({holder})");
                continue;
            }
            string key = gateway.Metadata.Key;
            foreach (NicInfo nic in network.Interfaces)
            {
                // Every interface with an IP of the family and no VirtualIP of it.
                if (nic.Host is null || nic.Resource.Ip(gateway.IpFamily) is null || nic.VirtualIp?.Resource.IpFamily == gateway.IpFamily)
                {
                    continue;
                }
                NatSlot? slot = _allocator.NatSlot(key, gateway.IpFamily, gateway.PortsPerNetworkInterface, nic.Resource.Metadata.Key);
                if (slot is null)
                {
                    Condition(gateway, $"no public {gateway.IpFamily} address left for {nic.Resource.Metadata.Name}'s slot");
                    continue;
                }
                IpAddressValue underlay = _allocator.Underlay(nic.Host, $"{nic.Resource.Key}/nat/{gateway.IpFamily}");
                nic.Nat[gateway.IpFamily] = (slot.Value, underlay);
            }
            IReadOnlyList<IpAddressValue> ips = _allocator.NatGatewayIps(key, gateway.IpFamily, gateway.PortsPerNetworkInterface);
            if (ips.Count == 0)
            {
                Condition(gateway, $"the public {gateway.IpFamily} pool is exhausted");
            }
            for (int i = 0; i < ips.Count; i++)
            {
                status.Ips.Add(new NatGatewayIp { Name = $"ip{i + 1}", Ip = ips[i].ToString() });
                var route = new PublicIpRoute { Ip = ips[i].ToString(), Kind = PublicIpKind.NatGateway, Object = key };
                foreach (NicInfo nic in network.Interfaces)
                {
                    if (nic.Nat.TryGetValue(gateway.IpFamily, out var n) && n.Slot.PublicIp == ips[i])
                    {
                        route.Owners.Add(new PublicIpOwner
                        {
                            UnderlayAddress = n.Underlay.ToString(),
                            Host = nic.Host!,
                            FirstPort = n.Slot.FirstPort,
                            LastPort = n.Slot.LastPort,
                        });
                    }
                }
                SortOwners(route);
                _router.Add(route);
            }
        }
    }

    private static void SortOwners(PublicIpRoute route)
    {
        var owners = route.Owners.OrderBy(o => IpAddressValue.Parse(o.UnderlayAddress)).ThenBy(o => o.FirstPort).ToList();
        route.Owners.Clear();
        route.Owners.AddRange(owners);
    }

    // ---- working data ----------------------------------------------------------------------------

    private sealed class NetworkInfo(NetworkResource resource, uint vni)
    {
        public NetworkResource Resource { get; } = resource;

        public uint Vni { get; } = vni;

        public List<string> BoundPeers { get; } = [];

        /// <summary>Interfaces of the network, sorted by key (they are added in that order).</summary>
        public List<NicInfo> Interfaces { get; } = [];

        public List<LoadBalancerInfo> LoadBalancers { get; } = [];
    }

    private sealed class NicInfo(NetworkInterfaceResource resource, string id, NetworkInfo network)
    {
        public NetworkInterfaceResource Resource { get; } = resource;

        public string Id { get; } = id;

        public NetworkInfo Network { get; } = network;

        public string? Host { get; set; }

        public string? Machine { get; set; }

        public IpAddressValue Underlay { get; set; }

        public List<IpAddressValue> PrefixUnderlays { get; } = [];

        public (VirtualIpResource Resource, IpAddressValue Ip)? VirtualIp { get; set; }

        public IpAddressValue? VirtualIpUnderlay { get; set; }

        public Dictionary<IpFamily, (NatSlot Slot, IpAddressValue Underlay)> Nat { get; } = [];

        /// <summary>Load-balancer aliases: (LB, LB IP, alias underlay), in LB order.</summary>
        public List<(LoadBalancerInfo Lb, IpAddressValue Ip, IpAddressValue Underlay)> Aliases { get; } = [];

        public bool IngressPolicy { get; set; }

        public bool EgressPolicy { get; set; }
    }

    private sealed class LoadBalancerInfo(LoadBalancerResource resource, string id, NetworkInfo network)
    {
        public LoadBalancerResource Resource { get; } = resource;

        public string Id { get; } = id;

        public NetworkInfo Network { get; } = network;

        public List<IpAddressValue> Ips { get; } = [];

        /// <summary>Target interfaces with the underlay that receives their balanced traffic.</summary>
        public List<(NicInfo Nic, IpAddressValue Target)> Targets { get; } = [];

        /// <summary>Host to the load balancer's own underlay /128 there.</summary>
        public SortedDictionary<string, IpAddressValue> Hosts { get; } = new(StringComparer.Ordinal);
    }

    private sealed class PolicyInfo(NetworkPolicyResource resource, string id)
    {
        public NetworkPolicyResource Resource { get; } = resource;

        public string Id { get; } = id;

        public List<NicInfo> Selected { get; } = [];

        public List<(string Id, PolicyDirection Direction, List<PolicyPeerSpec> Peers, List<PolicyPortSpec> Ports)> Rules { get; } = [];
    }
}
