using MetalAgent.ControlPlane.Allocation;
using MetalAgent.ControlPlane.State;
using MetalAgent.ControlPlane.V1;
using MetalAgent.Model.V1;
using MetalAgent.Model.Validation;

namespace MetalAgent.ControlPlane.Tests;

public class QuickstartTests
{
    private readonly ControlPlaneSnapshot _snapshot;
    private readonly HostSpec _a;
    private readonly HostSpec _b;

    public QuickstartTests()
    {
        var engine = new ControlPlaneEngine(TestData.Config(), new MemoryStateStore());
        _snapshot = engine.Apply(TestData.Quickstart());
        _a = _snapshot.Hosts["host-a"].Spec;
        _b = _snapshot.Hosts["host-b"].Spec;
    }

    private uint Vni(string network) => _snapshot.Objects.Single(o => o.Kind == "Network" && o.Name == network).Network.Vni;

    private static InterfaceSpec Nic(HostSpec spec, string id) => spec.Interfaces.Single(i => i.Id == id);

    [Fact]
    public void Manifests_are_valid_and_every_host_state_passes_the_validator()
    {
        Assert.Empty(_snapshot.Problems);
        Assert.All(_snapshot.Objects, o => Assert.Empty(o.Errors));
        foreach (VersionedHostState state in _snapshot.Hosts.Values)
        {
            Assert.Empty(HostSpecValidator.Validate(state.Spec));
            Assert.Equal(1UL, state.Version);
        }
    }

    [Fact]
    public void Interfaces_are_placed_by_machine_pool()
    {
        Assert.Equal(["db-1", "other-1", "web-1"], _a.Interfaces.Select(i => i.Id));
        Assert.Equal(["batch-1", "web-2"], _b.Interfaces.Select(i => i.Id));
        Assert.Equal(Vni("network-isolated"), Nic(_a, "other-1").Vni);
        Assert.Equal(Vni("network-sample"), Nic(_a, "web-1").Vni);
        Assert.Equal(Vni("network-sample2"), Nic(_b, "batch-1").Vni);
        Assert.All(_a.Interfaces, i => Assert.StartsWith("fc00:1:a::", i.UnderlayAddress, StringComparison.Ordinal));
        Assert.All(_b.Interfaces, i => Assert.StartsWith("fc00:1:b::", i.UnderlayAddress, StringComparison.Ordinal));
        Assert.Equal(3, new[] { Vni("network-isolated"), Vni("network-sample"), Vni("network-sample2") }.Distinct().Count());
        Assert.All(new[] { Vni("network-isolated"), Vni("network-sample"), Vni("network-sample2") }, v => Assert.InRange(v, 200u, 16_777_215u));
    }

    [Fact]
    public void Isolated_network_gets_no_routes_and_is_routed_from_nowhere()
    {
        uint isolated = Vni("network-isolated");
        string otherUnderlay = Nic(_a, "other-1").UnderlayAddress;
        foreach (HostSpec spec in new[] { _a, _b })
        {
            Assert.DoesNotContain(spec.Routes, r => r.Vni == isolated || r.NextHopVni == isolated || r.NextHopUnderlay == otherUnderlay);
            Assert.DoesNotContain(spec.Networks, n => n.Peerings.Any(p => p.PeerVni == isolated));
        }
        NetworkSpec network = _a.Networks.Single(n => n.Vni == isolated);
        Assert.Empty(network.Peerings);
    }

    [Fact]
    public void Routes_cover_other_hosts_and_the_bound_peering()
    {
        uint sample = Vni("network-sample");
        uint sample2 = Vni("network-sample2");
        string web1 = Nic(_a, "web-1").UnderlayAddress;
        string db1 = Nic(_a, "db-1").UnderlayAddress;
        string web2 = Nic(_b, "web-2").UnderlayAddress;
        string batch1 = Nic(_b, "batch-1").UnderlayAddress;

        Assert.Equal(
            [(sample, "10.0.0.2/32", web2, 0u), (sample, "10.1.0.1/32", batch1, sample2), (sample, "fd10::2/128", web2, 0u)],
            _a.Routes.Select(r => (r.Vni, r.Prefix, r.NextHopUnderlay, r.NextHopVni)));
        Assert.Equal(
            [
                (sample, "10.0.0.1/32", web1, 0u), (sample, "10.0.0.10/32", db1, 0u), (sample, "fd10::1/128", web1, 0u),
                (sample2, "10.0.0.1/32", web1, sample), (sample2, "10.0.0.10/32", db1, sample), (sample2, "fd10::1/128", web1, sample),
            ],
            _b.Routes.Select(r => (r.Vni, r.Prefix, r.NextHopUnderlay, r.NextHopVni)));

        // Both sides list each other (Bound), so each network names the other as peer.
        Assert.Equal([sample2], _a.Networks.Single(n => n.Vni == sample).Peerings.Select(p => p.PeerVni));
        Assert.Equal([sample], _b.Networks.Single(n => n.Vni == sample2).Peerings.Select(p => p.PeerVni));
        ObjectStatus status = _snapshot.Objects.Single(o => o.Kind == "Network" && o.Name == "network-sample");
        Assert.Equal("Bound", status.Network.Peerings.Single().Phase);
        Assert.Matches($"^ironcore-net://default/network-sample/{sample}/[0-9a-f-]{{36}}$", status.Network.ProviderId);
    }

    [Fact]
    public void Nat_slices_of_64_ports_go_to_interfaces_without_a_virtual_ip_and_neighbors_learn_them()
    {
        InterfaceSpec web1 = Nic(_a, "web-1");
        InterfaceSpec db1 = Nic(_a, "db-1");
        InterfaceSpec web2 = Nic(_b, "web-2");
        Assert.Null(web1.NatIpv4);
        Assert.Equal("203.0.113.1", web1.VirtualIpv4.Ip);
        Assert.Null(Nic(_a, "other-1").NatIpv4);
        Assert.Null(Nic(_b, "batch-1").NatIpv4);

        Assert.Equal(db1.NatIpv4.PublicIp, web2.NatIpv4.PublicIp);
        Assert.Equal((1024u, 1087u), (db1.NatIpv4.FirstPort, db1.NatIpv4.LastPort));
        Assert.Equal((1088u, 1151u), (web2.NatIpv4.FirstPort, web2.NatIpv4.LastPort));

        NeighborNatSpec onA = Assert.Single(_a.NeighborNats);
        Assert.Equal((web2.NatIpv4.PublicIp, 1088u, 1151u, web2.NatIpv4.UnderlayAddress, web2.Vni), (onA.PublicIp, onA.FirstPort, onA.LastPort, onA.OwnerUnderlay, onA.Vni));
        NeighborNatSpec onB = Assert.Single(_b.NeighborNats);
        Assert.Equal((db1.NatIpv4.PublicIp, 1024u, 1087u, db1.NatIpv4.UnderlayAddress), (onB.PublicIp, onB.FirstPort, onB.LastPort, onB.OwnerUnderlay));

        ObjectStatus nat = _snapshot.Objects.Single(o => o.Kind == "NATGateway");
        Assert.Equal([db1.NatIpv4.PublicIp], nat.NatGateway.Ips.Select(i => i.Ip));
    }

    [Fact]
    public void Load_balancer_targets_are_the_selected_interfaces_alias_underlays_on_every_host_with_a_target()
    {
        LoadBalancerSpec onA = Assert.Single(_a.LoadBalancers);
        LoadBalancerSpec onB = Assert.Single(_b.LoadBalancers);
        string lbIp = Assert.Single(onA.Ips);
        Assert.StartsWith("203.0.113.", lbIp, StringComparison.Ordinal);
        RoutedPrefixSpec aliasA = Assert.Single(Nic(_a, "web-1").LbAliasPrefixes);
        RoutedPrefixSpec aliasB = Assert.Single(Nic(_b, "web-2").LbAliasPrefixes);
        Assert.Equal(lbIp + "/32", aliasA.Prefix);
        Assert.Equal(lbIp + "/32", aliasB.Prefix);
        Assert.Empty(Nic(_a, "db-1").LbAliasPrefixes);
        Assert.Equal([aliasA.UnderlayAddress, aliasB.UnderlayAddress], onA.Targets);
        Assert.Equal(onA.Targets, onB.Targets);
        Assert.Equal(LoadBalancerType.Public, onA.Type);
        LoadBalancerPortSpec port = Assert.Single(onA.Ports);
        Assert.Equal((Protocol.Tcp, 80u, 0u), (port.Protocol, port.Port, port.EndPort));
        Assert.NotEqual(onA.UnderlayAddress, onB.UnderlayAddress);
    }

    [Fact]
    public void Policy_selects_db_1_and_resolves_peers_to_addresses()
    {
        InterfaceSpec db1 = Nic(_a, "db-1");
        Assert.True(db1.IngressPolicy);
        Assert.True(db1.EgressPolicy);
        Assert.False(Nic(_a, "web-1").IngressPolicy);
        Assert.Empty(_b.PolicyRules);

        string lbIp = _a.LoadBalancers[0].Ips[0];
        PolicyRuleSpec ingress = _a.PolicyRules.Single(r => r.Direction == PolicyDirection.Ingress);
        Assert.Equal(["db-1"], ingress.TargetInterfaces);
        Assert.Equal(PolicyAction.Allow, ingress.Action);
        Assert.Equal(
            new[] { "10.0.0.1/32", "10.0.0.2/32", "172.17.0.0/16", lbIp + "/32", "fd10::1/128", "fd10::2/128" }.Order(StringComparer.Ordinal),
            ingress.Peers.Select(p => p.Cidr).Order(StringComparer.Ordinal));
        PolicyPortSpec port = Assert.Single(ingress.Ports);
        Assert.Equal((Protocol.Tcp, 5432u, 5432u), (port.Protocol, port.FirstPort, port.LastPort));

        PolicyRuleSpec egress = _a.PolicyRules.Single(r => r.Direction == PolicyDirection.Egress);
        Assert.Equal("10.0.0.0/24", Assert.Single(egress.Peers).Cidr);
        Assert.Equal((Protocol.Tcp, 8080u, 8080u), (egress.Ports[0].Protocol, egress.Ports[0].FirstPort, egress.Ports[0].LastPort));
    }

    [Fact]
    public void Router_view_names_the_owners_of_every_public_ip()
    {
        InterfaceSpec web1 = Nic(_a, "web-1");
        InterfaceSpec db1 = Nic(_a, "db-1");
        InterfaceSpec web2 = Nic(_b, "web-2");
        RouterViewUpdate view = _snapshot.RouterView;
        Assert.Equal(3, view.Routes.Count);

        PublicIpRoute vip = view.Routes.Single(r => r.Kind == PublicIpKind.VirtualIp);
        Assert.Equal((web1.VirtualIpv4.Ip, "default/virtualip-sample"), (vip.Ip, vip.Object));
        Assert.Equal([(web1.VirtualIpv4.UnderlayAddress, "host-a", 0u, 0u)], vip.Owners.Select(o => (o.UnderlayAddress, o.Host, o.FirstPort, o.LastPort)));

        PublicIpRoute nat = view.Routes.Single(r => r.Kind == PublicIpKind.NatGateway);
        Assert.Equal(db1.NatIpv4.PublicIp, nat.Ip);
        Assert.Equal(
            [(db1.NatIpv4.UnderlayAddress, "host-a", 1024u, 1087u), (web2.NatIpv4.UnderlayAddress, "host-b", 1088u, 1151u)],
            nat.Owners.Select(o => (o.UnderlayAddress, o.Host, o.FirstPort, o.LastPort)));

        PublicIpRoute lb = view.Routes.Single(r => r.Kind == PublicIpKind.LoadBalancer);
        Assert.Equal(_a.LoadBalancers[0].Ips[0], lb.Ip);
        Assert.Equal([(_a.LoadBalancers[0].UnderlayAddress, "host-a"), (_b.LoadBalancers[0].UnderlayAddress, "host-b")], lb.Owners.Select(o => (o.UnderlayAddress, o.Host)));
    }

    [Fact]
    public void Object_status_reports_allocated_addresses()
    {
        ObjectStatus web1 = _snapshot.Objects.Single(o => o.Kind == "NetworkInterface" && o.Name == "web-1");
        Assert.Equal(["10.0.0.1", "fd10::1"], web1.NetworkInterface.Ips);
        Assert.Equal("203.0.113.1", web1.NetworkInterface.VirtualIp);
        Assert.Equal("host-a", web1.NetworkInterface.Host);
        Assert.Equal("Pending", web1.NetworkInterface.State);
        Assert.Equal("203.0.113.1", _snapshot.Objects.Single(o => o.Kind == "VirtualIP").VirtualIp.Ip);
        Assert.Equal(_a.LoadBalancers[0].Ips, _snapshot.Objects.Single(o => o.Kind == "LoadBalancer").LoadBalancer.Ips);
    }
}
