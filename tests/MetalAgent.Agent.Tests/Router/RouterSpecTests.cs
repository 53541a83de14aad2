using MetalAgent.Agent.Router;

namespace MetalAgent.Agent.Tests.Router;

/// <summary>Command-line addressing of the router: every mistake is named.</summary>
public class RouterSpecTests
{
    [Fact]
    public void A_full_spec_parses()
    {
        var errors = new List<string>();
        RouterSpec spec = RouterSpec.Parse("fc00:ffff::1", "fe80::1", "02:00:00:00:00:01",
            ["198.51.100.254/24", "2001:db8:eeee::fe/64"], ["198.51.100.1", "2001:db8:eeee::1"], 1540, errors);
        Assert.Empty(errors);
        Assert.True(spec.HasIPv4 && spec.HasIPv6);
        Assert.Equal(24, spec.InternetIPv4PrefixLength);
        Assert.Equal(0x0200_0000_0001UL, spec.UnderlayGatewayMac);
        Assert.True(spec.OnInternetLink(4, RouterNeighborTests.Ip4("198.51.100.7")));
        Assert.False(spec.OnInternetLink(4, RouterNeighborTests.Ip4("198.51.101.7")));
        Assert.True(spec.OnInternetLink(6, RouterNeighborTests.Ip6("2001:db8:eeee::7")));
    }

    [Fact]
    public void Mistakes_are_listed()
    {
        var errors = new List<string>();
        RouterSpec.Parse("198.51.100.1", "nope", "zz", ["198.51.100.254", "198.51.100.253/24", "198.51.100.252/24"], ["192.0.2.1", "2001:db8::1"], -1, errors);
        Assert.Contains(errors, e => e.StartsWith("--underlay-address", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("--underlay-gateway ", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("--underlay-gateway-mac", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("ADDRESS/LENGTH", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("one address per family", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("not on the internet link", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("no --internet-address of its family", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("--underlay-mtu", StringComparison.Ordinal));
    }
}
