using MetalAgent.Model.V1;
using MetalAgent.Model.Validation;

namespace MetalAgent.Dataplane.Tests;

/// <summary>
/// The host the dataplane tests run against (host-a, underlay fc00:1:a::/64):
/// vm-a 10.0.0.1 / fd00::1 in VNI 100 with VirtualIP 203.0.113.10 and LB alias 203.0.113.20;
/// vm-b 10.0.0.2 in VNI 100 with a two-port NAT slice on 203.0.113.30 and ingress policy (TCP 5432 from 10.0.0.1 only);
/// vm-c 10.0.0.1 in VNI 200 (isolated, same address as vm-a); vm-d 10.1.0.1 in VNI 101, peered with 100;
/// a remote interface 10.0.0.3 on host-b; load balancer lb-1 203.0.113.20 TCP 80 over vm-a and a target on host-b.
/// </summary>
internal static class TestHost
{
    public const string Router = "fc00:0:ff::1";

    public static HostSpec Spec()
    {
        var spec = new HostSpec
        {
            SchemaVersion = 1,
            Version = 1,
            Host = new HostInfo
            {
                Name = "host-a",
                UnderlayPrefix = "fc00:1:a::/64",
                RouterUnderlayAddress = Router,
                Mtu = 1500,
                DnsServers = { "198.51.100.53" },
                Uplinks = { new UplinkSpec { Name = "uplink0", GatewayAddress = "fe80::1", GatewayMac = "02:00:00:00:ff:01" } },
            },
            Networks =
            {
                new NetworkSpec { Vni = 100, Name = "net-100", Peerings = { new PeeringSpec { PeerVni = 101 } } },
                new NetworkSpec { Vni = 101, Name = "net-101", Peerings = { new PeeringSpec { PeerVni = 100 } } },
                new NetworkSpec { Vni = 200, Name = "isolated" },
            },
            Interfaces =
            {
                new InterfaceSpec
                {
                    Id = "vm-a", Vni = 100, Ipv4 = "10.0.0.1", Ipv6 = "fd00::1", UnderlayAddress = "fc00:1:a::1",
                    VirtualIpv4 = new VirtualIpSpec { Ip = "203.0.113.10", UnderlayAddress = "fc00:1:a::10" },
                    LbAliasPrefixes = { new RoutedPrefixSpec { Prefix = "203.0.113.20/32", UnderlayAddress = "fc00:1:a::21" } },
                },
                new InterfaceSpec
                {
                    Id = "vm-b", Vni = 100, Ipv4 = "10.0.0.2", UnderlayAddress = "fc00:1:a::2", Mac = "52:54:00:00:00:0b",
                    NatIpv4 = new NatSliceSpec { PublicIp = "203.0.113.30", FirstPort = 1024, LastPort = 1025, UnderlayAddress = "fc00:1:a::30" },
                    IngressPolicy = true,
                },
                new InterfaceSpec { Id = "vm-c", Vni = 200, Ipv4 = "10.0.0.1", UnderlayAddress = "fc00:1:a::3", Mac = "52:54:00:00:00:0c" },
                new InterfaceSpec { Id = "vm-d", Vni = 101, Ipv4 = "10.1.0.1", UnderlayAddress = "fc00:1:a::4", Mac = "52:54:00:00:00:0d" },
            },
            Routes = { new RemoteRouteSpec { Vni = 100, Prefix = "10.0.0.3/32", NextHopUnderlay = "fc00:1:b::3" } },
            NeighborNats = { new NeighborNatSpec { PublicIp = "203.0.113.30", FirstPort = 1026, LastPort = 1027, Vni = 100, OwnerUnderlay = "fc00:1:b::30" } },
            LoadBalancers =
            {
                new LoadBalancerSpec
                {
                    Id = "lb-1", Vni = 100, Type = LoadBalancerType.Public, Ips = { "203.0.113.20" }, UnderlayAddress = "fc00:1:a::20",
                    Ports = { new LoadBalancerPortSpec { Protocol = Protocol.Tcp, Port = 80 } },
                    Targets = { "fc00:1:a::21", "fc00:1:b::21" },
                },
            },
            PolicyRules =
            {
                new PolicyRuleSpec
                {
                    Id = "db-from-web", TargetInterfaces = { "vm-b" }, Direction = PolicyDirection.Ingress, Action = PolicyAction.Allow,
                    Peers = { new PolicyPeerSpec { Cidr = "10.0.0.1/32" } },
                    Ports = { new PolicyPortSpec { Protocol = Protocol.Tcp, FirstPort = 5432, LastPort = 5432 } },
                },
            },
        };
        IReadOnlyList<ValidationError> errors = HostSpecValidator.Validate(spec);
        Assert.True(errors.Count == 0, string.Join("\n", errors));
        return spec;
    }
}
