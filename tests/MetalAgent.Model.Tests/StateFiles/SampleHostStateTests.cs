using MetalAgent.Model.StateFiles;
using MetalAgent.Model.V1;
using MetalAgent.Model.Validation;

namespace MetalAgent.Model.Tests.StateFiles;

/// <summary>The quickstart tenant as host-a and host-b receive it (Data/host-*.json): the files seed
/// replay demos and golden tests, so they must be valid, canonical and consistent with each other.</summary>
public sealed class SampleHostStateTests
{
    private static string DataPath(string name) => Path.Combine(AppContext.BaseDirectory, "Data", name);

    [Theory]
    [InlineData("host-a.json")]
    [InlineData("host-b.json")]
    public void Sample_validates_cleanly(string name)
    {
        HostSpec spec = HostStateFile.Load(DataPath(name));
        Assert.Empty(HostSpecValidator.Validate(spec).Select(e => e.ToString()));
    }

    [Theory]
    [InlineData("host-a.json")]
    [InlineData("host-b.json")]
    public void Sample_is_in_canonical_format(string name)
    {
        string text = File.ReadAllText(DataPath(name));
        Assert.Equal(text, HostStateFile.Format(HostStateFile.Parse(text)));
    }

    [Fact]
    public void Host_a_carries_the_quickstart_objects()
    {
        HostSpec a = HostStateFile.Load(DataPath("host-a.json"));
        Assert.Equal([200u, 201u, 202u], a.Networks.Select(n => n.Vni));
        Assert.Equal(["web-1", "db-1", "other-1"], a.Interfaces.Select(i => i.Id));
        InterfaceSpec db = a.Interfaces[1];
        Assert.Equal(("203.0.113.30", 1024u, 1087u), (db.NatIpv4.PublicIp, db.NatIpv4.FirstPort, db.NatIpv4.LastPort));
        Assert.Null(a.Interfaces[0].NatIpv4);
        Assert.Equal("203.0.113.10", a.Interfaces[0].VirtualIpv4.Ip);
        Assert.Equal(["172.17.0.0/16", "10.0.0.1/32", "10.0.0.2/32", "203.0.113.20/32"], a.PolicyRules[0].Peers.Select(p => p.Cidr));
        Assert.Equal(PolicyDirection.Egress, a.PolicyRules[1].Direction);
    }

    [Fact]
    public void Hosts_point_at_each_other_consistently()
    {
        HostSpec a = HostStateFile.Load(DataPath("host-a.json"));
        HostSpec b = HostStateFile.Load(DataPath("host-b.json"));
        AssertRoutesResolve(a, b);
        AssertRoutesResolve(b, a);
        AssertNeighborNatsMirror(a, b);
        AssertNeighborNatsMirror(b, a);

        // Both hosts carry the load balancer with the same targets, and every target is an alias /128 on one of them.
        Assert.Equal(a.LoadBalancers[0].Targets, b.LoadBalancers[0].Targets);
        var aliases = a.Interfaces.Concat(b.Interfaces).SelectMany(i => i.LbAliasPrefixes).Select(p => p.UnderlayAddress).ToHashSet();
        Assert.All(a.LoadBalancers[0].Targets, t => Assert.Contains(t, aliases));
    }

    /// <summary>Every remote route of <paramref name="from"/> names an interface of <paramref name="to"/>
    /// by its underlay /128, in the right VNI, with its own /32 or /128 as the prefix.</summary>
    private static void AssertRoutesResolve(HostSpec from, HostSpec to)
    {
        foreach (RemoteRouteSpec route in from.Routes)
        {
            InterfaceSpec target = Assert.Single(to.Interfaces, i => i.UnderlayAddress == route.NextHopUnderlay);
            Assert.Equal(route.NextHopVni == 0 ? route.Vni : route.NextHopVni, target.Vni);
            Assert.Contains(route.Prefix, new[] { target.Ipv4 + "/32", target.Ipv6 + "/128" });
        }
    }

    private static void AssertNeighborNatsMirror(HostSpec from, HostSpec to)
    {
        foreach (NeighborNatSpec neighbor in from.NeighborNats)
        {
            InterfaceSpec owner = Assert.Single(to.Interfaces, i => i.NatIpv4?.UnderlayAddress == neighbor.OwnerUnderlay);
            Assert.Equal((neighbor.PublicIp, neighbor.FirstPort, neighbor.LastPort, neighbor.Vni),
                (owner.NatIpv4.PublicIp, owner.NatIpv4.FirstPort, owner.NatIpv4.LastPort, owner.Vni));
        }
    }
}
