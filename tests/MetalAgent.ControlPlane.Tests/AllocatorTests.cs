using MetalAgent.ControlPlane.Addressing;
using MetalAgent.ControlPlane.Allocation;
using MetalAgent.ControlPlane.Configuration;
using MetalAgent.ControlPlane.Manifests;

namespace MetalAgent.ControlPlane.Tests;

public class AllocatorTests
{
    private static ControlPlaneConfig SmallPool() => ControlPlaneConfig.Parse("""
        routerUnderlayAddress: fc00:0:ff::1
        publicPools: [203.0.113.0/30]
        hosts: [{name: host-a, underlayPrefix: "fc00:1:a::/64"}]
        """, ".");

    [Fact]
    public void Vnis_start_at_200_and_freed_ones_are_reused_only_after_the_round()
    {
        var allocator = new Allocator(SmallPool(), new PersistedState());
        allocator.BeginRound();
        Assert.Equal(200u, allocator.Vni("default/a"));
        Assert.Equal(201u, allocator.Vni("default/b"));
        Assert.Equal(200u, allocator.Vni("default/a"));
        allocator.EndRound();
        allocator.BeginRound();
        Assert.Equal(201u, allocator.Vni("default/b"));
        Assert.Equal(202u, allocator.Vni("default/c"));
        Assert.True(allocator.EndRound());
        allocator.BeginRound();
        Assert.Equal(200u, allocator.Vni("default/d"));
    }

    [Fact]
    public void Public_ips_skip_network_and_broadcast_and_run_out()
    {
        var allocator = new Allocator(SmallPool(), new PersistedState());
        allocator.BeginRound();
        Assert.Equal(IpAddressValue.Parse("203.0.113.1"), allocator.PublicIp("VirtualIP/default/a", IpFamily.IPv4));
        Assert.Equal(IpAddressValue.Parse("203.0.113.2"), allocator.PublicIp("VirtualIP/default/b", IpFamily.IPv4));
        Assert.Null(allocator.PublicIp("VirtualIP/default/c", IpFamily.IPv4));
        Assert.Null(allocator.PublicIp("VirtualIP/default/v6", IpFamily.IPv6));
    }

    [Fact]
    public void Nat_slots_fill_one_ip_then_take_another_and_stay_put()
    {
        var config = ControlPlaneConfig.Parse("""
            routerUnderlayAddress: fc00:0:ff::1
            publicPools: [203.0.113.0/24]
            hosts: [{name: host-a, underlayPrefix: "fc00:1:a::/64"}]
            """, ".");
        var state = new PersistedState();
        var allocator = new Allocator(config, state);
        allocator.BeginRound();
        // 64512 / 16384 = 3 slots per IP (the rest of the port space stays unused).
        NatSlot?[] slots = [.. Enumerable.Range(0, 4).Select(i => allocator.NatSlot("default/gw", IpFamily.IPv4, 16384, $"default/nic{i}"))];
        Assert.Equal(
            [("203.0.113.1", 1024u, 17407u), ("203.0.113.1", 17408u, 33791u), ("203.0.113.1", 33792u, 50175u), ("203.0.113.2", 1024u, 17407u)],
            slots.Select(s => (s!.Value.PublicIp.ToString(), s.Value.FirstPort, s.Value.LastPort)));
        Assert.Equal(2, allocator.NatGatewayIps("default/gw", IpFamily.IPv4, 16384).Count);
        allocator.EndRound();

        // nic0 and nic3 go: the others keep their slots, the second IP is given back.
        var restarted = new Allocator(config, state);
        restarted.BeginRound();
        Assert.Equal(17408u, restarted.NatSlot("default/gw", IpFamily.IPv4, 16384, "default/nic1")!.Value.FirstPort);
        Assert.Equal(33792u, restarted.NatSlot("default/gw", IpFamily.IPv4, 16384, "default/nic2")!.Value.FirstPort);
        Assert.Single(restarted.NatGatewayIps("default/gw", IpFamily.IPv4, 16384));
        restarted.EndRound();
        Assert.Equal(["203.0.113.1"], state.NatGateways["default/gw"].Ips.Values);
        restarted.BeginRound();
        Assert.Equal(1024u, restarted.NatSlot("default/gw", IpFamily.IPv4, 16384, "default/nic9")!.Value.FirstPort);
    }

    [Fact]
    public void Underlay_addresses_start_at_one_inside_the_hosts_prefix()
    {
        var allocator = new Allocator(SmallPool(), new PersistedState());
        allocator.BeginRound();
        Assert.Equal("fc00:1:a::1", allocator.Underlay("host-a", "x").ToString());
        Assert.Equal("fc00:1:a::2", allocator.Underlay("host-a", "y").ToString());
        Assert.Equal("fc00:1:a::1", allocator.Underlay("host-a", "x").ToString());
    }

    [Fact]
    public void A_claim_belongs_to_its_first_owner_until_released()
    {
        var allocator = new Allocator(SmallPool(), new PersistedState());
        allocator.BeginRound();
        Assert.True(allocator.TryClaim("address/n/10.0.0.1/32", "a", out _));
        Assert.False(allocator.TryClaim("address/n/10.0.0.1/32", "b", out string holder));
        Assert.Equal("a", holder);
        allocator.EndRound();
        allocator.BeginRound();
        Assert.False(allocator.TryClaim("address/n/10.0.0.1/32", "b", out _));
        allocator.EndRound();
        Assert.True(allocator.ShouldRepeatRound);
        allocator.BeginRound();
        Assert.True(allocator.TryClaim("address/n/10.0.0.1/32", "b", out _));
    }
}
