using MetalAgent.EndToEnd.Tests.Kit;

namespace MetalAgent.EndToEnd.Tests;

/// <summary>Real DHCP clients in the guests get their configuration from the agent's virtual gateway.</summary>
[Collection(TopologyCollection.Name)]
public sealed class DhcpTests(Topology topology)
{
    public static readonly TheoryData<string> AllGuests = new(["web-1", "db-1", "other-1", "web-2", "batch-1"]);

    [E2ETheory]
    [MemberData(nameof(AllGuests))]
    public void Lease_gives_the_interface_address_as_a_32(string name)
    {
        Guest g = topology[name];
        Dictionary<string, string> lease = g.Lease4();
        Assert.Equal(g.Ipv4.ToString(), lease.GetValueOrDefault("ip"));
        Assert.Equal("32", lease.GetValueOrDefault("mask"));
    }

    [E2ETheory]
    [MemberData(nameof(AllGuests))]
    public void Lease_routes_everything_via_the_virtual_gateway(string name)
    {
        Dictionary<string, string> lease = topology[name].Lease4();
        Assert.Equal("169.254.0.1", lease.GetValueOrDefault("router"));
        Assert.Equal("169.254.0.1", lease.GetValueOrDefault("serverid"));
        // Classless static routes (RFC 3442) carry the default route, as a /32 address needs them.
        Assert.Contains("0.0.0.0/0 169.254.0.1", lease.GetValueOrDefault("staticroutes") ?? string.Empty, StringComparison.Ordinal);
    }

    [E2ETheory]
    [MemberData(nameof(AllGuests))]
    public async Task Guest_is_configured_with_address_route_and_mtu(string name)
    {
        Guest g = topology[name];
        string addresses = (await g.IpAsync("-4", "-o", "addr", "show", "dev", g.Device)).Stdout;
        Assert.Contains($"inet {g.Ipv4}/32 ", addresses, StringComparison.Ordinal);
        string routes = (await g.IpAsync("-4", "route", "show", "default")).Stdout;
        Assert.Contains($"default via 169.254.0.1 dev {g.Device}", routes, StringComparison.Ordinal);
        string link = (await g.IpAsync("-o", "link", "show", "dev", g.Device)).Stdout;
        Assert.Contains($" mtu {Topology.Mtu} ", link, StringComparison.Ordinal);
    }

    [E2ETheory]
    [MemberData(nameof(AllGuests))]
    public void Hostname_is_the_machine_name_and_only_the_guest_gets_it(string name)
    {
        Assert.Equal(name, topology[name].Lease4().GetValueOrDefault("hostname"));
        Assert.Equal(name, topology[name].DhcpHostname());
        Assert.Equal(topology.MachineHostname, File.ReadAllText("/proc/sys/kernel/hostname").Trim());
    }

    [E2ETheory]
    [MemberData(nameof(AllGuests))]
    public void Dns_servers_land_in_the_guests_own_resolv_conf(string name)
    {
        Assert.Equal(Topology.DnsServer, topology[name].Lease4().GetValueOrDefault("dns"));
        Assert.Equal($"nameserver {Topology.DnsServer}\n", File.ReadAllText(topology[name].ResolvConf));
    }

    [E2ETheory]
    [InlineData("web-1")]
    [InlineData("web-2")]
    public async Task Dhcpv6_gives_the_interface_ipv6(string name)
    {
        Guest g = topology[name];
        Assert.Equal(g.Ipv6!.ToString(), topology[name].Lease6().GetValueOrDefault("new_ip6_address"));
        string addresses = (await g.IpAsync("-6", "-o", "addr", "show", "dev", g.Device)).Stdout;
        Assert.Contains($"inet6 {g.Ipv6}/", addresses, StringComparison.Ordinal);
    }
}
