using MetalAgent.Model.V1;
using MetalAgent.Model.Validation;
using static MetalAgent.Model.Validation.ValidationErrorType;

namespace MetalAgent.Model.Tests.Validation;

/// <summary>Every rejection rule: each case breaks one thing in the baseline spec and expects exactly
/// one error with a specific field path and type.</summary>
public sealed class HostSpecValidatorRejectionTests
{
    private sealed record Case(Action<HostSpec> Mutate, string Field, ValidationErrorType Type);

    private static readonly Dictionary<string, Case> s_cases = new()
    {
        // ---- top level and host
        ["schema version 2"] = new(s => s.SchemaVersion = 2, "schemaVersion", NotSupported),
        ["schema version missing"] = new(s => s.SchemaVersion = 0, "schemaVersion", NotSupported),
        ["host missing"] = new(s => s.Host = null, "host", Required),
        ["host name empty"] = new(s => s.Host.Name = "", "host.name", Required),
        ["underlay prefix empty"] = new(s => s.Host.UnderlayPrefix = "", "host.underlayPrefix", Required),
        ["underlay prefix /48"] = new(s => s.Host.UnderlayPrefix = "fc00:1::/48", "host.underlayPrefix", Invalid),
        ["underlay prefix host bits"] = new(s => s.Host.UnderlayPrefix = "fc00:1:a::1/64", "host.underlayPrefix", Invalid),
        ["underlay prefix IPv4"] = new(s => s.Host.UnderlayPrefix = "10.0.0.0/24", "host.underlayPrefix", Invalid),
        ["underlay prefix garbage"] = new(s => s.Host.UnderlayPrefix = "fc00:1:a::", "host.underlayPrefix", Invalid),
        ["underlay prefix multicast"] = new(s => s.Host.UnderlayPrefix = "ff02::/64", "host.underlayPrefix", Invalid),
        ["router empty"] = new(s => s.Host.RouterUnderlayAddress = "", "host.routerUnderlayAddress", Required),
        ["router IPv4"] = new(s => s.Host.RouterUnderlayAddress = "192.0.2.1", "host.routerUnderlayAddress", Invalid),
        ["router inside host /64"] = new(s => s.Host.RouterUnderlayAddress = "fc00:1:a::ff", "host.routerUnderlayAddress", Invalid),
        ["uplink name empty"] = new(s => s.Host.Uplinks[0].Name = "", "host.uplinks[0].name", Required),
        ["uplink name bad characters"] = new(s => s.Host.Uplinks[0].Name = "uplink 0", "host.uplinks[0].name", Invalid),
        ["uplink name duplicate"] = new(s => s.Host.Uplinks.Add(new UplinkSpec { Name = "uplink0", GatewayAddress = "fe80::2" }), "host.uplinks[1].name", Duplicate),
        ["gateway empty"] = new(s => s.Host.Uplinks[0].GatewayAddress = "", "host.uplinks[0].gatewayAddress", Required),
        ["gateway IPv4"] = new(s => s.Host.Uplinks[0].GatewayAddress = "192.0.2.1", "host.uplinks[0].gatewayAddress", Invalid),
        ["gateway multicast"] = new(s => s.Host.Uplinks[0].GatewayAddress = "ff02::1", "host.uplinks[0].gatewayAddress", Invalid),
        ["gateway with scope"] = new(s => s.Host.Uplinks[0].GatewayAddress = "fe80::1%eth0", "host.uplinks[0].gatewayAddress", Invalid),
        ["gateway MAC malformed"] = new(s => s.Host.Uplinks[0].GatewayMac = "02:00:00:00:00", "host.uplinks[0].gatewayMac", Invalid),
        ["gateway MAC multicast"] = new(s => s.Host.Uplinks[0].GatewayMac = "01:00:5e:00:00:01", "host.uplinks[0].gatewayMac", Invalid),
        ["mtu too small"] = new(s => s.Host.Mtu = 576, "host.mtu", Invalid),
        ["mtu too large"] = new(s => { s.Host.Mtu = 9001; s.Host.UnderlayMtu = 0; }, "host.mtu", Invalid),
        ["underlay mtu below mtu + 40"] = new(s => s.Host.UnderlayMtu = 1539, "host.underlayMtu", Invalid),
        ["underlay mtu too large"] = new(s => s.Host.UnderlayMtu = 9217, "host.underlayMtu", Invalid),
        ["dns server malformed"] = new(s => s.Host.DnsServers[1] = "dns.example", "host.dnsServers[1]", Invalid),
        ["dns server loopback"] = new(s => s.Host.DnsServers[0] = "127.0.0.53", "host.dnsServers[0]", Invalid),
        ["dns server duplicate"] = new(s => s.Host.DnsServers.Add("198.51.100.53"), "host.dnsServers[2]", Duplicate),

        // ---- networks and peerings
        ["network VNI 0"] = new(s => s.Networks.Add(new NetworkSpec { Vni = 0 }), "networks[3].vni", Invalid),
        ["network VNI too large"] = new(s => s.Networks.Add(new NetworkSpec { Vni = 16_777_216 }), "networks[3].vni", Invalid),
        ["network VNI duplicate"] = new(s => s.Networks.Add(new NetworkSpec { Vni = 202 }), "networks[3].vni", Duplicate),
        ["peer VNI 0"] = new(s => s.Networks[2].Peerings.Add(new PeeringSpec()), "networks[2].peerings[0].peerVni", Invalid),
        ["peer VNI too large"] = new(s => s.Networks[2].Peerings.Add(new PeeringSpec { PeerVni = 1u << 24 }), "networks[2].peerings[0].peerVni", Invalid),
        ["peer VNI is own VNI"] = new(s => s.Networks[2].Peerings.Add(new PeeringSpec { PeerVni = 202 }), "networks[2].peerings[0].peerVni", Invalid),
        ["peer VNI duplicate"] = new(s => s.Networks[0].Peerings.Add(new PeeringSpec { PeerVni = 201 }), "networks[0].peerings[1].peerVni", Duplicate),
        ["exported prefix host bits"] = new(s => s.Networks[0].Peerings[0].ExportedPrefixes[0] = "10.1.0.1/16", "networks[0].peerings[0].exportedPrefixes[0]", Invalid),
        ["exported prefix malformed"] = new(s => s.Networks[0].Peerings[0].ExportedPrefixes[0] = "10.1.0.0/33", "networks[0].peerings[0].exportedPrefixes[0]", Invalid),
        ["exported prefix duplicate"] = new(s => s.Networks[0].Peerings[0].ExportedPrefixes.Add("10.1.0.0/16"), "networks[0].peerings[0].exportedPrefixes[1]", Duplicate),

        // ---- interfaces
        ["interface id empty"] = new(s => { s.Interfaces[2].Id = ""; s.Interfaces[2].Port = "p2"; }, "interfaces[2].id", Required),
        ["interface id too long"] = new(s => { s.Interfaces[2].Id = new string('a', 64); s.Interfaces[2].Port = "p2"; }, "interfaces[2].id", Invalid),
        ["interface id bad characters"] = new(s => { s.Interfaces[2].Id = "other.1"; s.Interfaces[2].Port = "p2"; }, "interfaces[2].id", Invalid),
        ["interface id duplicate"] = new(s => { s.Interfaces[2].Id = "db-1"; s.Interfaces[2].Port = "p2"; }, "interfaces[2].id", Duplicate),
        ["interface VNI 0"] = new(s => s.Interfaces[2].Vni = 0, "interfaces[2].vni", Invalid),
        ["interface VNI not in networks"] = new(s => s.Interfaces[2].Vni = 300, "interfaces[2].vni", Invalid),
        ["interface type unknown"] = new(s => s.Interfaces[2].Type = (InterfaceType)7, "interfaces[2].type", NotSupported),
        ["interface port bad characters"] = new(s => s.Interfaces[0].Port = "tap web", "interfaces[0].port", Invalid),
        ["interface port is an uplink"] = new(s => s.Interfaces[1].Port = "uplink0", "interfaces[1].port", Duplicate),
        ["interface port taken by another interface"] = new(s => s.Interfaces[2].Port = "tap-web-1", "interfaces[2].port", Duplicate),
        ["interface default port taken"] = new(s => s.Interfaces[1].Port = "other-1", "interfaces[2].port", Duplicate),
        ["interface MAC malformed"] = new(s => s.Interfaces[0].Mac = "02-00-00-00-01", "interfaces[0].mac", Invalid),
        ["interface MAC multicast"] = new(s => s.Interfaces[0].Mac = "03:00:00:00:01:01", "interfaces[0].mac", Invalid),
        ["interface MAC zero"] = new(s => s.Interfaces[0].Mac = "00:00:00:00:00:00", "interfaces[0].mac", Invalid),
        ["interface without IPs"] = new(s => s.Interfaces[2].Ipv4 = "", "interfaces[2].ipv4", Required),
        ["interface ipv4 malformed"] = new(s => s.Interfaces[2].Ipv4 = "10.0.0.300", "interfaces[2].ipv4", Invalid),
        ["interface ipv4 shorthand"] = new(s => s.Interfaces[2].Ipv4 = "10.1", "interfaces[2].ipv4", Invalid),
        ["interface ipv4 leading zero"] = new(s => s.Interfaces[2].Ipv4 = "010.0.0.1", "interfaces[2].ipv4", Invalid),
        ["interface ipv4 holds IPv6"] = new(s => s.Interfaces[2].Ipv4 = "fd10::5", "interfaces[2].ipv4", Invalid),
        ["interface ipv6 holds IPv4"] = new(s => s.Interfaces[1].Ipv6 = "10.0.0.11", "interfaces[1].ipv6", Invalid),
        ["interface ipv4 multicast"] = new(s => s.Interfaces[2].Ipv4 = "224.0.0.1", "interfaces[2].ipv4", Invalid),
        ["interface ipv4 link-local"] = new(s => s.Interfaces[2].Ipv4 = "169.254.0.1", "interfaces[2].ipv4", Invalid),
        ["interface ipv6 unspecified"] = new(s => s.Interfaces[1].Ipv6 = "::", "interfaces[1].ipv6", Invalid),
        ["interface ipv4 duplicate in VNI"] = new(s => s.Interfaces[1].Ipv4 = "10.0.0.1", "interfaces[1].ipv4", Duplicate),
        ["interface ipv6 duplicate in VNI"] = new(s => s.Interfaces[1].Ipv6 = "fd10:0::1", "interfaces[1].ipv6", Duplicate),
        ["interface ip inside another's prefix route"] = new(s => s.Interfaces[0].Prefixes[0].Prefix = "10.0.0.10/32", "interfaces[1].ipv4", Duplicate),
        ["interface underlay empty"] = new(s => s.Interfaces[2].UnderlayAddress = "", "interfaces[2].underlayAddress", Required),
        ["interface underlay IPv4"] = new(s => s.Interfaces[2].UnderlayAddress = "10.0.0.1", "interfaces[2].underlayAddress", Invalid),
        ["interface underlay outside host /64"] = new(s => s.Interfaces[2].UnderlayAddress = "fc00:1:b::20", "interfaces[2].underlayAddress", Invalid),
        ["interface underlay subnet-router anycast"] = new(s => s.Interfaces[2].UnderlayAddress = "fc00:1:a::", "interfaces[2].underlayAddress", Invalid),
        ["interface underlay duplicate"] = new(s => s.Interfaces[2].UnderlayAddress = "fc00:1:a:0::1", "interfaces[2].underlayAddress", Duplicate),
        ["prefix underlay duplicate"] = new(s => s.Interfaces[0].Prefixes[0].UnderlayAddress = "fc00:1:a::1", "interfaces[0].prefixes[0].underlayAddress", Duplicate),
        ["prefix underlay empty"] = new(s => s.Interfaces[0].Prefixes[0].UnderlayAddress = "", "interfaces[0].prefixes[0].underlayAddress", Required),
        ["prefix empty"] = new(s => s.Interfaces[0].Prefixes[0].Prefix = "", "interfaces[0].prefixes[0].prefix", Required),
        ["prefix host bits"] = new(s => s.Interfaces[0].Prefixes[0].Prefix = "10.0.1.1/24", "interfaces[0].prefixes[0].prefix", Invalid),
        ["prefix malformed"] = new(s => s.Interfaces[0].Prefixes[0].Prefix = "10.0.1.0", "interfaces[0].prefixes[0].prefix", Invalid),
        ["prefix length with leading zero"] = new(s => s.Interfaces[0].Prefixes[0].Prefix = "10.0.1.0/024", "interfaces[0].prefixes[0].prefix", Invalid),
        ["prefix length with sign"] = new(s => s.Interfaces[0].Prefixes[0].Prefix = "10.0.1.0/+24", "interfaces[0].prefixes[0].prefix", Invalid),
        ["prefix IPv4 length above 32"] = new(s => s.Interfaces[0].Prefixes[0].Prefix = "10.0.1.0/40", "interfaces[0].prefixes[0].prefix", Invalid),
        ["prefix IPv6 length above 128"] = new(s => s.Interfaces[0].Prefixes[0].Prefix = "fd10:1::/129", "interfaces[0].prefixes[0].prefix", Invalid),
        ["interface ipv4 with whitespace"] = new(s => s.Interfaces[2].Ipv4 = "10.0.0.1 ", "interfaces[2].ipv4", Invalid),
        ["interface ipv4 with prefix length"] = new(s => s.Interfaces[2].Ipv4 = "10.0.0.1/32", "interfaces[2].ipv4", Invalid),
        ["interface ipv6 with prefix length"] = new(s => s.Interfaces[1].Ipv6 = "fd10::10/128", "interfaces[1].ipv6", Invalid),
        ["prefix IPv4 shorthand"] = new(s => s.Interfaces[0].Prefixes[0].Prefix = "10.0/16", "interfaces[0].prefixes[0].prefix", Invalid),
        ["prefix duplicate in VNI"] = new(s => s.Interfaces[1].Prefixes.Add(new RoutedPrefixSpec { Prefix = "10.0.1.0/24", UnderlayAddress = "fc00:1:a::13" }), "interfaces[1].prefixes[0].prefix", Duplicate),
        ["alias prefix host bits"] = new(s => s.Interfaces[0].LbAliasPrefixes[0].Prefix = "203.0.113.21/24", "interfaces[0].lbAliasPrefixes[0].prefix", Invalid),
        ["alias prefix twice"] = new(s => s.Interfaces[0].LbAliasPrefixes.Add(new RoutedPrefixSpec { Prefix = "203.0.113.20/32", UnderlayAddress = "fc00:1:a::5" }), "interfaces[0].lbAliasPrefixes[1].prefix", Duplicate),
        ["VIP underlay duplicates alias underlay"] = new(s => s.Interfaces[0].VirtualIpv4.UnderlayAddress = "fc00:1:a::3", "interfaces[0].virtualIpv4.underlayAddress", Duplicate),
        ["VIP of wrong family"] = new(s => s.Interfaces[0].VirtualIpv4.Ip = "2001:db8:ffff::10", "interfaces[0].virtualIpv4.ip", Invalid),
        ["VIP empty"] = new(s => s.Interfaces[0].VirtualIpv4.Ip = "", "interfaces[0].virtualIpv4.ip", Required),
        ["VIP underlay outside host /64"] = new(s => s.Interfaces[0].VirtualIpv4.UnderlayAddress = "fc00:1:b::4", "interfaces[0].virtualIpv4.underlayAddress", Invalid),
        ["VIP without an IP of its family"] = new(s => s.Interfaces[2].VirtualIpv6 = new VirtualIpSpec { Ip = "2001:db8:ffff::10", UnderlayAddress = "fc00:1:a::21" }, "interfaces[2].virtualIpv6", Forbidden),
        ["VIP used twice"] = new(s => s.Interfaces[2].VirtualIpv4 = new VirtualIpSpec { Ip = "203.0.113.10", UnderlayAddress = "fc00:1:a::21" }, "interfaces[2].virtualIpv4.ip", Duplicate),
        ["VIP is a NAT IP"] = new(s => s.Interfaces[0].VirtualIpv6 = new VirtualIpSpec { Ip = "2001:db8:ffff::30", UnderlayAddress = "fc00:1:a::5" }, "interfaces[1].natIpv6.publicIp", Duplicate),
        ["VIP is a load balancer IP"] = new(s => s.Interfaces[0].VirtualIpv4.Ip = "203.0.113.20", "loadBalancers[0].ips[0]", Duplicate),
        ["NAT public IP of wrong family"] = new(s => s.Interfaces[1].NatIpv4.PublicIp = "2001:db8:ffff::31", "interfaces[1].natIpv4.publicIp", Invalid),
        ["NAT public IP empty"] = new(s => s.Interfaces[1].NatIpv6.PublicIp = "", "interfaces[1].natIpv6.publicIp", Required),
        ["NAT first port below 1024"] = new(s => s.Interfaces[1].NatIpv4.FirstPort = 1023, "interfaces[1].natIpv4.firstPort", Invalid),
        ["NAT last port above 65535"] = new(s => s.Interfaces[1].NatIpv6.LastPort = 65536, "interfaces[1].natIpv6.lastPort", Invalid),
        ["NAT last port below first"] = new(s => { s.Interfaces[1].NatIpv4.FirstPort = 2000; s.Interfaces[1].NatIpv4.LastPort = 1999; }, "interfaces[1].natIpv4.lastPort", Invalid),
        ["NAT underlay duplicate"] = new(s => s.Interfaces[1].NatIpv4.UnderlayAddress = "fc00:1:a::3", "interfaces[1].natIpv4.underlayAddress", Duplicate),
        ["NAT on interface with VIP"] = new(s => s.Interfaces[0].NatIpv4 = new NatSliceSpec { PublicIp = "203.0.113.31", FirstPort = 1024, LastPort = 2047, UnderlayAddress = "fc00:1:a::30" }, "interfaces[0].natIpv4", Forbidden),
        ["NAT without an IP of its family"] = new(s => s.Interfaces[2].NatIpv6 = new NatSliceSpec { PublicIp = "2001:db8:ffff::31", FirstPort = 1024, LastPort = 2047, UnderlayAddress = "fc00:1:a::22" }, "interfaces[2].natIpv6", Forbidden),
        ["NAT slices of two interfaces overlap"] = new(s => s.Interfaces[2].NatIpv4 = new NatSliceSpec { PublicIp = "203.0.113.30", FirstPort = 1050, LastPort = 1060, UnderlayAddress = "fc00:1:a::22" }, "interfaces[2].natIpv4.firstPort", Duplicate),
        ["NAT slice overlaps neighbor NAT"] = new(s => s.NeighborNats[0].FirstPort = 1087, "neighborNats[0].firstPort", Duplicate),
        ["neighbor NAT overlaps a later-starting local slice"] = new(s => { s.Interfaces[1].NatIpv4.FirstPort = 1100; s.Interfaces[1].NatIpv4.LastPort = 1200; }, "neighborNats[0].firstPort", Duplicate),
        ["two neighbor NATs overlap"] = new(s => s.NeighborNats.Add(new NeighborNatSpec { PublicIp = "203.0.113.30", FirstPort = 1151, LastPort = 1151, Vni = 200, OwnerUnderlay = "fc00:1:c::2" }), "neighborNats[1].firstPort", Duplicate),
        ["hostname starts with dash"] = new(s => s.Interfaces[0].Hostname = "-web", "interfaces[0].hostname", Invalid),
        ["hostname empty label"] = new(s => s.Interfaces[0].Hostname = "web..example", "interfaces[0].hostname", Invalid),
        ["hostname label too long"] = new(s => s.Interfaces[0].Hostname = new string('a', 64), "interfaces[0].hostname", Invalid),
        ["hostname underscore"] = new(s => s.Interfaces[0].Hostname = "web_1", "interfaces[0].hostname", Invalid),
        ["PXE next server malformed"] = new(s => s.Interfaces[0].Pxe.NextServer = "pxe.example", "interfaces[0].pxe.nextServer", Invalid),
        ["PXE boot file without next server"] = new(s => s.Interfaces[0].Pxe.NextServer = "", "interfaces[0].pxe.nextServer", Required),
        ["metering public above total"] = new(s => s.Interfaces[0].Metering.PublicRateMbps = 1001, "interfaces[0].metering.publicRateMbps", Invalid),

        // ---- remote routes
        ["route VNI 0"] = new(s => s.Routes[0].Vni = 0, "routes[0].vni", Invalid),
        ["route VNI not in networks"] = new(s => s.Routes[0].Vni = 300, "routes[0].vni", Invalid),
        ["route prefix empty"] = new(s => s.Routes[0].Prefix = "", "routes[0].prefix", Required),
        ["route prefix host bits"] = new(s => s.Routes[0].Prefix = "10.0.0.2/24", "routes[0].prefix", Invalid),
        ["route prefix IPv6 host bits"] = new(s => s.Routes[0].Prefix = "fd10::2/64", "routes[0].prefix", Invalid),
        ["route next hop empty"] = new(s => s.Routes[0].NextHopUnderlay = "", "routes[0].nextHopUnderlay", Required),
        ["route next hop IPv4"] = new(s => s.Routes[0].NextHopUnderlay = "192.0.2.1", "routes[0].nextHopUnderlay", Invalid),
        ["route next hop inside host /64"] = new(s => s.Routes[0].NextHopUnderlay = "fc00:1:a::1", "routes[0].nextHopUnderlay", Invalid),
        ["route next-hop VNI too large"] = new(s => s.Routes[1].NextHopVni = 16_777_216, "routes[1].nextHopVni", Invalid),
        ["route next-hop VNI not peered"] = new(s => s.Routes[1].NextHopVni = 202, "routes[1].nextHopVni", Invalid),
        ["route duplicate (vni, prefix)"] = new(s => s.Routes[2].Vni = 200, "routes[2].prefix", Duplicate),
        ["route duplicates an interface IP"] = new(s => s.Routes.Add(new RemoteRouteSpec { Vni = 200, Prefix = "10.0.0.1/32", NextHopUnderlay = "fc00:1:b::9" }), "routes[3].prefix", Duplicate),
        ["route duplicates an interface prefix"] = new(s => s.Routes.Add(new RemoteRouteSpec { Vni = 200, Prefix = "10.0.1.0/24", NextHopUnderlay = "fc00:1:b::9" }), "routes[3].prefix", Duplicate),

        // ---- neighbor NATs
        ["neighbor NAT public IP empty"] = new(s => s.NeighborNats[0].PublicIp = "", "neighborNats[0].publicIp", Required),
        ["neighbor NAT public IP malformed"] = new(s => s.NeighborNats[0].PublicIp = "203.0.113", "neighborNats[0].publicIp", Invalid),
        ["neighbor NAT public IP is a VIP"] = new(s => s.NeighborNats[0].PublicIp = "203.0.113.10", "neighborNats[0].publicIp", Duplicate),
        ["neighbor NAT first port below 1024"] = new(s => s.NeighborNats[0].FirstPort = 80, "neighborNats[0].firstPort", Invalid),
        ["neighbor NAT last port below first"] = new(s => s.NeighborNats[0].LastPort = 1087, "neighborNats[0].lastPort", Invalid),
        ["neighbor NAT VNI not in networks"] = new(s => s.NeighborNats[0].Vni = 300, "neighborNats[0].vni", Invalid),
        ["neighbor NAT owner empty"] = new(s => s.NeighborNats[0].OwnerUnderlay = "", "neighborNats[0].ownerUnderlay", Required),
        ["neighbor NAT owner inside host /64"] = new(s => s.NeighborNats[0].OwnerUnderlay = "fc00:1:a::11", "neighborNats[0].ownerUnderlay", Invalid),

        // ---- load balancers
        ["LB id empty"] = new(s => s.LoadBalancers[1].Id = "", "loadBalancers[1].id", Required),
        ["LB id with space"] = new(s => s.LoadBalancers[1].Id = "lb internal", "loadBalancers[1].id", Invalid),
        ["LB id too long"] = new(s => s.LoadBalancers[1].Id = new string('l', 64), "loadBalancers[1].id", Invalid),
        ["LB id duplicate"] = new(s => s.LoadBalancers[1].Id = "lb-web", "loadBalancers[1].id", Duplicate),
        ["LB VNI not in networks"] = new(s => s.LoadBalancers[1].Vni = 300, "loadBalancers[1].vni", Invalid),
        ["LB type unknown"] = new(s => s.LoadBalancers[0].Type = (LoadBalancerType)5, "loadBalancers[0].type", NotSupported),
        ["LB without IPs"] = new(s => s.LoadBalancers[0].Ips.Clear(), "loadBalancers[0].ips", Required),
        ["LB IP malformed"] = new(s => s.LoadBalancers[0].Ips[0] = "203.0.113.256", "loadBalancers[0].ips[0]", Invalid),
        ["LB two IPv4"] = new(s => s.LoadBalancers[0].Ips.Add("203.0.113.21"), "loadBalancers[0].ips[1]", Invalid),
        ["LB two IPv6"] = new(s => s.LoadBalancers[1].Ips.Add("fd10::101"), "loadBalancers[1].ips[2]", Invalid),
        ["internal LB IP is an interface IP"] = new(s => s.LoadBalancers[1].Ips[0] = "10.0.0.10", "loadBalancers[1].ips[0]", Duplicate),
        ["public LB IP used twice"] = new(s => s.LoadBalancers.Add(new LoadBalancerSpec { Id = "lb-2", Vni = 200, Ips = { "203.0.113.20" }, UnderlayAddress = "fc00:1:a::102" }), "loadBalancers[2].ips[0]", Duplicate),
        ["LB port protocol ICMP"] = new(s => s.LoadBalancers[0].Ports[0].Protocol = Protocol.Icmp, "loadBalancers[0].ports[0].protocol", NotSupported),
        ["LB port protocol unknown"] = new(s => s.LoadBalancers[0].Ports[0].Protocol = (Protocol)99, "loadBalancers[0].ports[0].protocol", NotSupported),
        ["LB port 0"] = new(s => s.LoadBalancers[0].Ports[0].Port = 0, "loadBalancers[0].ports[0].port", Invalid),
        ["LB port above 65535"] = new(s => s.LoadBalancers[0].Ports[0].Port = 65536, "loadBalancers[0].ports[0].port", Invalid),
        ["LB end port below port"] = new(s => s.LoadBalancers[0].Ports[1].EndPort = 4999, "loadBalancers[0].ports[1].endPort", Invalid),
        ["LB end port above 65535"] = new(s => s.LoadBalancers[0].Ports[1].EndPort = 65536, "loadBalancers[0].ports[1].endPort", Invalid),
        ["LB port duplicate"] = new(s => s.LoadBalancers[0].Ports.Add(new LoadBalancerPortSpec { Protocol = Protocol.Tcp, Port = 80 }), "loadBalancers[0].ports[3].port", Duplicate),
        ["LB port range overlap"] = new(s => s.LoadBalancers[0].Ports.Add(new LoadBalancerPortSpec { Protocol = Protocol.Udp, Port = 4990, EndPort = 5000 }), "loadBalancers[0].ports[3].port", Duplicate),
        ["LB unspecified protocol duplicates TCP"] = new(s => s.LoadBalancers[0].Ports.Add(new LoadBalancerPortSpec { Port = 80 }), "loadBalancers[0].ports[3].port", Duplicate),
        ["LB target IPv4"] = new(s => s.LoadBalancers[0].Targets[1] = "10.0.0.2", "loadBalancers[0].targets[1]", Invalid),
        ["LB target empty"] = new(s => s.LoadBalancers[0].Targets[1] = "", "loadBalancers[0].targets[1]", Required),
        ["LB target duplicate"] = new(s => s.LoadBalancers[0].Targets.Add("fc00:1:b:0::3"), "loadBalancers[0].targets[2]", Duplicate),
        ["LB local target is not an alias prefix"] = new(s => s.LoadBalancers[0].Targets[0] = "fc00:1:a::1", "loadBalancers[0].targets[0]", Invalid),
        ["LB underlay empty"] = new(s => s.LoadBalancers[0].UnderlayAddress = "", "loadBalancers[0].underlayAddress", Required),
        ["LB underlay outside host /64"] = new(s => s.LoadBalancers[0].UnderlayAddress = "fc00:1:b::100", "loadBalancers[0].underlayAddress", Invalid),
        ["LB underlay duplicate"] = new(s => s.LoadBalancers[1].UnderlayAddress = "fc00:1:a::100", "loadBalancers[1].underlayAddress", Duplicate),

        // ---- policy rules
        ["rule id empty"] = new(s => s.PolicyRules[1].Id = "", "policyRules[1].id", Required),
        ["rule id duplicate"] = new(s => s.PolicyRules[1].Id = "db-ingress", "policyRules[1].id", Duplicate),
        ["rule id too long"] = new(s => s.PolicyRules[1].Id = new string('r', 64), "policyRules[1].id", Invalid),
        ["rule without targets"] = new(s => s.PolicyRules[0].TargetInterfaces.Clear(), "policyRules[0].targetInterfaces", Required),
        ["rule target not found"] = new(s => s.PolicyRules[0].TargetInterfaces.Add("db-2"), "policyRules[0].targetInterfaces[1]", Invalid),
        ["rule target duplicate"] = new(s => s.PolicyRules[0].TargetInterfaces.Add("db-1"), "policyRules[0].targetInterfaces[1]", Duplicate),
        ["rule target does not select direction"] = new(s => s.PolicyRules[0].TargetInterfaces.Add("web-1"), "policyRules[0].targetInterfaces[1]", Invalid),
        ["rule direction unknown"] = new(s => s.PolicyRules[0].Direction = (PolicyDirection)5, "policyRules[0].direction", NotSupported),
        ["rule action unknown"] = new(s => s.PolicyRules[0].Action = (PolicyAction)9, "policyRules[0].action", NotSupported),
        ["peer cidr empty"] = new(s => s.PolicyRules[0].Peers[1].Cidr = "", "policyRules[0].peers[1].cidr", Required),
        ["peer cidr malformed"] = new(s => s.PolicyRules[0].Peers[1].Cidr = "10.0.0.1/33", "policyRules[0].peers[1].cidr", Invalid),
        ["peer except malformed"] = new(s => s.PolicyRules[0].Peers[0].Except[0] = "172.17.1.0", "policyRules[0].peers[0].except[0]", Invalid),
        ["peer except outside cidr"] = new(s => s.PolicyRules[0].Peers[0].Except.Add("172.18.0.0/24"), "policyRules[0].peers[0].except[1]", Invalid),
        ["peer except equals cidr"] = new(s => s.PolicyRules[0].Peers[0].Except.Add("172.17.0.0/16"), "policyRules[0].peers[0].except[1]", Invalid),
        ["peer except wider than cidr"] = new(s => s.PolicyRules[0].Peers[0].Except.Add("172.16.0.0/12"), "policyRules[0].peers[0].except[1]", Invalid),
        ["peer except other family"] = new(s => s.PolicyRules[0].Peers[0].Except.Add("fd00::/64"), "policyRules[0].peers[0].except[1]", Invalid),
        ["policy port protocol unspecified"] = new(s => s.PolicyRules[0].Ports[0].Protocol = Protocol.Unspecified, "policyRules[0].ports[0].protocol", NotSupported),
        ["policy port protocol unknown"] = new(s => s.PolicyRules[0].Ports[0].Protocol = (Protocol)47, "policyRules[0].ports[0].protocol", NotSupported),
        ["policy first port 0 with last port set"] = new(s => s.PolicyRules[0].Ports[0].FirstPort = 0, "policyRules[0].ports[0].firstPort", Invalid),
        ["policy last port 0 with first port set"] = new(s => s.PolicyRules[0].Ports[0].LastPort = 0, "policyRules[0].ports[0].lastPort", Invalid),
        ["policy last port above 65535"] = new(s => s.PolicyRules[0].Ports[0].LastPort = 65536, "policyRules[0].ports[0].lastPort", Invalid),
        ["policy last port below first"] = new(s => s.PolicyRules[0].Ports[0].LastPort = 5431, "policyRules[0].ports[0].lastPort", Invalid),
        ["policy ICMP type on TCP"] = new(s => s.PolicyRules[0].Ports[0].IcmpType = 8, "policyRules[0].ports[0].icmpType", Forbidden),
        ["policy ICMP code on UDP"] = new(s => s.PolicyRules[1].Ports[2].IcmpCode = 0, "policyRules[1].ports[2].icmpCode", Forbidden),
        ["policy ports on ICMP"] = new(s => s.PolicyRules[1].Ports[1].FirstPort = 1, "policyRules[1].ports[1].firstPort", Forbidden),
        ["policy ICMP type above 255"] = new(s => s.PolicyRules[1].Ports[1].IcmpType = 256, "policyRules[1].ports[1].icmpType", Invalid),
        ["policy ICMP code above 255"] = new(s => s.PolicyRules[1].Ports[1].IcmpCode = 300, "policyRules[1].ports[1].icmpCode", Invalid),
    };

    public static TheoryData<string> CaseNames()
    {
        var data = new TheoryData<string>();
        foreach (string name in s_cases.Keys.Order(StringComparer.Ordinal))
        {
            data.Add(name);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Rejects_with_exact_field_and_type(string name)
    {
        Case c = s_cases[name];
        HostSpec spec = BaselineSpec.Create();
        c.Mutate(spec);

        IReadOnlyList<ValidationError> errors = HostSpecValidator.Validate(spec);

        ValidationError error = Assert.Single(errors);
        Assert.Equal(c.Field, error.Field);
        Assert.Equal(c.Type, error.Type);
        if (c.Type != Required)
        {
            Assert.False(string.IsNullOrWhiteSpace(error.Detail), "every error but a missing value explains itself");
        }
    }

    [Fact]
    public void Baseline_is_valid()
    {
        Assert.Empty(HostSpecValidator.Validate(BaselineSpec.Create()));
    }
}
