using MetalAgent.Model.V1;

namespace MetalAgent.Model.Tests.Validation;

/// <summary>A valid host spec that uses every section of the schema, for tests to mutate.</summary>
internal static class BaselineSpec
{
    public static HostSpec Create() => new()
    {
        SchemaVersion = 1,
        Version = 7,
        Host = new HostInfo
        {
            Name = "host-a",
            UnderlayPrefix = "fc00:1:a::/64",
            RouterUnderlayAddress = "fc00:0:ff::1",
            Uplinks = { new UplinkSpec { Name = "uplink0", GatewayAddress = "fe80::1", GatewayMac = "02:00:00:00:00:01" } },
            Mtu = 1500,
            UnderlayMtu = 9000,
            DnsServers = { "198.51.100.53", "2001:db8:eeee::53" },
        },
        Networks =
        {
            new NetworkSpec { Vni = 200, Name = "network-sample", Peerings = { new PeeringSpec { PeerVni = 201, ExportedPrefixes = { "10.1.0.0/16" } } } },
            new NetworkSpec { Vni = 201, Name = "network-sample2", Peerings = { new PeeringSpec { PeerVni = 200 } } },
            new NetworkSpec { Vni = 202, Name = "network-isolated" },
        },
        Interfaces =
        {
            new InterfaceSpec
            {
                Id = "web-1",
                Vni = 200,
                Port = "tap-web-1",
                Mac = "02:00:00:00:01:01",
                Ipv4 = "10.0.0.1",
                Ipv6 = "fd10::1",
                UnderlayAddress = "fc00:1:a::1",
                Prefixes = { new RoutedPrefixSpec { Prefix = "10.0.1.0/24", UnderlayAddress = "fc00:1:a::2" } },
                LbAliasPrefixes = { new RoutedPrefixSpec { Prefix = "203.0.113.20/32", UnderlayAddress = "fc00:1:a::3" } },
                VirtualIpv4 = new VirtualIpSpec { Ip = "203.0.113.10", UnderlayAddress = "fc00:1:a::4" },
                Hostname = "web-1.example",
                Pxe = new PxeSpec { NextServer = "10.0.0.254", BootFile = "boot.ipxe" },
                Metering = new MeteringSpec { TotalRateMbps = 1000, PublicRateMbps = 100 },
            },
            new InterfaceSpec
            {
                Id = "db-1",
                Vni = 200,
                Ipv4 = "10.0.0.10",
                Ipv6 = "fd10::10",
                UnderlayAddress = "fc00:1:a::10",
                NatIpv4 = new NatSliceSpec { PublicIp = "203.0.113.30", FirstPort = 1024, LastPort = 1087, UnderlayAddress = "fc00:1:a::11" },
                NatIpv6 = new NatSliceSpec { PublicIp = "2001:db8:ffff::30", FirstPort = 1024, LastPort = 1087, UnderlayAddress = "fc00:1:a::12" },
                IngressPolicy = true,
                EgressPolicy = true,
            },
            new InterfaceSpec
            {
                Id = "other-1",
                Vni = 202,
                Type = InterfaceType.BareMetal,
                Ipv4 = "10.0.0.1",
                UnderlayAddress = "fc00:1:a::20",
            },
        },
        Routes =
        {
            new RemoteRouteSpec { Vni = 200, Prefix = "10.0.0.2/32", NextHopUnderlay = "fc00:1:b::1" },
            new RemoteRouteSpec { Vni = 200, Prefix = "10.1.0.1/32", NextHopUnderlay = "fc00:1:b::10", NextHopVni = 201 },
            new RemoteRouteSpec { Vni = 201, Prefix = "10.1.0.1/32", NextHopUnderlay = "fc00:1:b::10" },
        },
        NeighborNats =
        {
            new NeighborNatSpec { PublicIp = "203.0.113.30", FirstPort = 1088, LastPort = 1151, Vni = 200, OwnerUnderlay = "fc00:1:b::2" },
        },
        LoadBalancers =
        {
            new LoadBalancerSpec
            {
                Id = "lb-web",
                Vni = 200,
                Type = LoadBalancerType.Public,
                Ips = { "203.0.113.20" },
                Ports =
                {
                    new LoadBalancerPortSpec { Protocol = Protocol.Tcp, Port = 80 },
                    new LoadBalancerPortSpec { Protocol = Protocol.Udp, Port = 5000, EndPort = 5010 },
                    new LoadBalancerPortSpec { Port = 443 },
                },
                Targets = { "fc00:1:a::3", "fc00:1:b::3" },
                UnderlayAddress = "fc00:1:a::100",
            },
            new LoadBalancerSpec
            {
                Id = "lb-internal",
                Vni = 200,
                Type = LoadBalancerType.Internal,
                Ips = { "10.0.0.100", "fd10::100" },
                Targets = { "fc00:1:b::5" },
                UnderlayAddress = "fc00:1:a::101",
            },
        },
        PolicyRules =
        {
            new PolicyRuleSpec
            {
                Id = "db-ingress",
                TargetInterfaces = { "db-1" },
                Direction = PolicyDirection.Ingress,
                Priority = 100,
                Peers =
                {
                    new PolicyPeerSpec { Cidr = "172.17.0.0/16", Except = { "172.17.1.0/24" } },
                    new PolicyPeerSpec { Cidr = "10.0.0.1/32" },
                },
                Ports = { new PolicyPortSpec { Protocol = Protocol.Tcp, FirstPort = 5432, LastPort = 5432 } },
            },
            new PolicyRuleSpec
            {
                Id = "db-egress",
                TargetInterfaces = { "db-1" },
                Direction = PolicyDirection.Egress,
                Peers = { new PolicyPeerSpec { Cidr = "10.0.0.0/24" } },
                Ports =
                {
                    new PolicyPortSpec { Protocol = Protocol.Tcp, FirstPort = 8080, LastPort = 8080 },
                    new PolicyPortSpec { Protocol = Protocol.Icmp, IcmpType = 8, IcmpCode = 0 },
                    new PolicyPortSpec { Protocol = Protocol.Udp },
                },
            },
        },
    };
}
