using CsCheck;
using MetalAgent.Agent.Router;
using MetalAgent.ControlPlane.V1;

namespace MetalAgent.Agent.Tests.Router;

/// <summary>The compiled router view against naive references on random views.</summary>
public class PublicIpTableTests
{
    private static readonly UInt128 s_base = RouterNeighborTests.Ip6("fc00:1::");

    [Fact]
    public void Nat_owner_is_the_slice_holding_the_port()
    {
        // Random disjoint slices: cut points over 1024..65535, every other range owned.
        Gen.UShort[1024, 65535].Array[1, 40].Select(Gen.UShort, (cuts, probe) => (cuts, probe)).Sample(t =>
        {
            ushort[] cuts = [.. t.cuts.Distinct().Order()];
            var route = RouterFixture.Route("203.0.113.30", PublicIpKind.NatGateway);
            var slices = new List<(ushort First, ushort Last, UInt128 Owner)>();
            for (int i = 0; i + 1 < cuts.Length; i += 2)
            {
                UInt128 owner = s_base + (UInt128)i;
                slices.Add((cuts[i], (ushort)(cuts[i + 1] - 1), owner));
                route.Owners.Add(new PublicIpOwner { UnderlayAddress = MetalAgent.Packets.Addresses.FormatIPv6(owner), FirstPort = cuts[i], LastPort = (uint)(cuts[i + 1] - 1) });
            }
            var view = new RouterViewUpdate();
            view.Routes.Add(route);
            var problems = new List<string>();
            PublicIpTable table = PublicIpTable.Build(view, problems);
            Assert.True(table.TryGet(4, RouterNeighborTests.Ip4("203.0.113.30"), out PublicIpEntry entry));
            UInt128 expected = UInt128.Zero;
            foreach ((ushort first, ushort last, UInt128 owner) in slices)
            {
                if (t.probe >= first && t.probe <= last)
                {
                    expected = owner;
                }
            }
            Assert.Equal(expected, table.SelectOwner(in entry, t.probe, 0));
        }, iter: 500);
    }

    [Fact]
    public void Adding_an_owner_moves_flows_only_to_it()
    {
        Gen.Int[1, 6].Select(Gen.ULong.Array[64]).Sample(t =>
        {
            (int count, ulong[] hashes) = t;
            PublicIpTable before = Table(count);
            PublicIpTable after = Table(count + 1);
            Assert.True(before.TryGet(4, 1, out PublicIpEntry b));
            Assert.True(after.TryGet(4, 1, out PublicIpEntry a));
            UInt128 added = s_base + (UInt128)count;
            foreach (ulong hash in hashes)
            {
                UInt128 old = before.SelectOwner(in b, 0, hash);
                UInt128 now = after.SelectOwner(in a, 0, hash);
                Assert.True(now == old || now == added);
            }
        }, iter: 200);
    }

    [Fact]
    public void Bad_routes_are_left_out_with_a_problem_each()
    {
        var view = new RouterViewUpdate();
        view.Routes.Add(RouterFixture.Route("not-an-ip", PublicIpKind.VirtualIp, ("fc00::1", 0, 0)));
        view.Routes.Add(RouterFixture.Route("203.0.113.1", PublicIpKind.VirtualIp, ("10.0.0.1", 0, 0), ("fc00::1", 0, 0)));
        view.Routes.Add(RouterFixture.Route("203.0.113.1", PublicIpKind.VirtualIp, ("fc00::2", 0, 0)));
        view.Routes.Add(RouterFixture.Route("203.0.113.2", PublicIpKind.NatGateway, ("fc00::3", 2000, 1000)));
        var problems = new List<string>();
        PublicIpTable table = PublicIpTable.Build(view, problems);
        Assert.Equal(4, problems.Count);
        Assert.Equal(2, table.Count);
        Assert.True(table.TryGet(4, RouterNeighborTests.Ip4("203.0.113.1"), out PublicIpEntry entry));
        Assert.Equal(RouterNeighborTests.Ip6("fc00::1"), table.SelectOwner(in entry, 0, 42));
        Assert.True(table.TryGet(4, RouterNeighborTests.Ip4("203.0.113.2"), out entry));
        Assert.Equal(UInt128.Zero, table.SelectOwner(in entry, 1500, 0));
    }

    private static PublicIpTable Table(int owners)
    {
        var route = RouterFixture.Route("0.0.0.1", PublicIpKind.LoadBalancer);
        for (int i = 0; i < owners; i++)
        {
            route.Owners.Add(new PublicIpOwner { UnderlayAddress = MetalAgent.Packets.Addresses.FormatIPv6(s_base + (UInt128)i) });
        }
        var view = new RouterViewUpdate();
        view.Routes.Add(route);
        return PublicIpTable.Build(view, []);
    }
}
