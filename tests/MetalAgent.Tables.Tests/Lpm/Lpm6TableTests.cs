using System.Runtime.InteropServices;
using CsCheck;
using MetalAgent.Tables.Exact;
using MetalAgent.Tables.Lpm;
using MetalAgent.Tests.Shared;

namespace MetalAgent.Tables.Tests.Lpm;

public class Lpm6TableTests
{
    private static readonly int[] s_commonLengths = [0, 32, 40, 48, 56, 63, 64, 65, 96, 127, 128];

    // One random root and variants differing from it only in their low k bits.
    private static readonly Gen<UInt128[]> s_bases =
        Gen.Select(Gen.UInt128, Gen.Select(Gen.UInt128, Gen.Int[0, 128]).Array[0, 7])
            .Select(t => (UInt128[])[t.Item1, .. t.Item2.Select(d => t.Item1 ^ (d.Item1 & LowBits(d.Item2)))]);

    private static readonly Gen<Lpm6Route[]> s_routes =
        Gen.Select(s_bases, Gen.Select(Gen.Int[0, 7], Gen.Int[0, 128], Gen.Int[0, s_commonLengths.Length - 1], Gen.Bool).Array[0, 120])
            .Select(t =>
            {
                (UInt128[] bases, (int Base, int Any, int Common, bool UseCommon)[] picks) = t;
                var routes = new Lpm6Route[picks.Length];
                for (int i = 0; i < picks.Length; i++)
                {
                    int length = picks[i].UseCommon ? s_commonLengths[picks[i].Common] : picks[i].Any;
                    UInt128 prefix = bases[picks[i].Base % bases.Length] & Mask(length);
                    routes[i] = new Lpm6Route(prefix, (byte)length, (uint)(FlowHash.HashSeeded((ulong)length, prefix) % 1000));
                }
                return routes;
            });

    [Fact]
    public void Lookup_matches_naive_longest_match()
    {
        DeterministicCheck.Sample(Gen.Select(s_routes, Gen.UInt128.Array[0, 40]), t =>
        {
            (Lpm6Route[] routes, UInt128[] randomAddresses) = t;
            Lpm6Table table = Lpm6Table.Build(routes);
            List<UInt128> addresses = ProbeAddresses(routes, randomAddresses);
            var batched = new uint[addresses.Count];
            table.Lookup(CollectionsMarshal.AsSpan(addresses), batched);
            for (int i = 0; i < addresses.Count; i++)
            {
                uint expected = NaiveLookup(routes, addresses[i]);
                Assert.Equal(expected, table.Lookup(addresses[i]));
                Assert.Equal(expected, batched[i]);
            }
        }, seed: 0x4c504d36, iter: 300);
    }

    [Fact]
    public void Large_route_sets_match_reference()
    {
        foreach (int count in new[] { 600, 20_000 })
        {
            // Add prefixes no longer than the directory so its painting is exercised too.
            Lpm6Route[] routes =
            [
                .. RouteSetGenerator.Ipv6Like(count, seed: (ulong)count),
                new Lpm6Route(0, 0, 900),
                new Lpm6Route((UInt128)1 << 125, 3, 901),
                new Lpm6Route((UInt128)0x2001 << 112, 16, 902),
                new Lpm6Route((UInt128)0x24 << 120, 8, 903),
                new Lpm6Route((UInt128)0x2a0 << 116, 10, 904),
                new Lpm6Route((UInt128)0x3fff8 << 108, 19, 905),
            ];
            Lpm6Table table = Lpm6Table.Build(routes);
            Assert.Equal(routes.Length >= 16_384 ? 16 : 10, table.DirectoryBits);
            var reference = new Dictionary<(UInt128, int), uint>();
            foreach (Lpm6Route route in routes)
            {
                reference[(route.Prefix, route.Length)] = route.Value;
            }
            UInt128[] addresses = RouteSetGenerator.Ipv6Addresses(routes, 5_000, seed: 9, hitFraction: 0.9);
            var batched = new uint[addresses.Length];
            table.Lookup(addresses, batched);
            for (int i = 0; i < addresses.Length; i++)
            {
                uint expected = Lpm6Table.NoRoute;
                for (int length = 128; length >= 0; length--)
                {
                    if (reference.TryGetValue((addresses[i] & Mask(length), length), out uint value))
                    {
                        expected = value;
                        break;
                    }
                }
                Assert.Equal(expected, table.Lookup(addresses[i]));
                Assert.Equal(expected, batched[i]);
            }
        }
    }

    [Fact]
    public void Edge_routes_resolve()
    {
        UInt128 net = UInt128.Parse("42540766411282592856903984951653826560"); // 2001:db8::
        Lpm6Table table = Lpm6Table.Build(
        [
            new Lpm6Route(0, 0, 1),
            new Lpm6Route(net, 32, 2),
            new Lpm6Route(net | ((UInt128)0x1234 << 80), 48, 3),
            new Lpm6Route(net | ((UInt128)0x1234 << 80) | ((UInt128)0x5678 << 64), 64, 4),
            new Lpm6Route(net | ((UInt128)0x1234 << 80) | ((UInt128)0x5678 << 64) | 1, 128, 5),
            new Lpm6Route(UInt128.MaxValue, 128, 6),
        ]);
        Assert.Equal(1u, table.Lookup(1));
        Assert.Equal(2u, table.Lookup(net | 99));
        Assert.Equal(3u, table.Lookup(net | ((UInt128)0x1234 << 80) | 7));
        Assert.Equal(4u, table.Lookup(net | ((UInt128)0x1234 << 80) | ((UInt128)0x5678 << 64) | 2));
        Assert.Equal(5u, table.Lookup(net | ((UInt128)0x1234 << 80) | ((UInt128)0x5678 << 64) | 1));
        Assert.Equal(6u, table.Lookup(UInt128.MaxValue));
        Assert.Equal(1u, table.Lookup(UInt128.MaxValue - 1));
        Assert.Equal(Lpm6Table.NoRoute, Lpm6Table.Empty.Lookup(net));
    }

    [Fact]
    public void Conflicting_and_invalid_routes_are_rejected()
    {
        Assert.Contains("conflicting routes", Assert.Throws<ArgumentException>(() =>
            Lpm6Table.Build([new Lpm6Route((UInt128)1 << 100, 28, 1), new Lpm6Route((UInt128)1 << 100, 28, 2)])).Message);
        Assert.Contains("host bits", Assert.Throws<ArgumentException>(() => Lpm6Table.Build([new Lpm6Route(1, 64, 1)])).Message);
        Assert.Contains("> 128", Assert.Throws<ArgumentException>(() => Lpm6Table.Build([new Lpm6Route(0, 129, 1)])).Message);
        Assert.Contains("route value", Assert.Throws<ArgumentException>(() => Lpm6Table.Build([new Lpm6Route(0, 0, Lpm6Table.MaxValue + 1)])).Message);
        Assert.Equal(1, Lpm6Table.Build([new Lpm6Route(0, 0, 3), new Lpm6Route(0, 0, 3)]).RouteCount);
    }

    [Fact]
    public void Route_order_does_not_change_the_arrays()
    {
        DeterministicCheck.Sample(Gen.Select(s_routes, Gen.Int), t =>
        {
            (Lpm6Route[] routes, int shuffleSeed) = t;
            Lpm6Route[] shuffled = [.. routes, .. routes.Take(routes.Length / 3)];
            new Random(shuffleSeed).Shuffle(shuffled);
            AssertSameArrays(Lpm6Table.Build(routes), Lpm6Table.Build(shuffled));
        }, seed: 0x6f726436, iter: 100);

        Lpm6Route[] large = RouteSetGenerator.Ipv6Like(20_000, seed: 3);
        Lpm6Route[] reversed = [.. large];
        Array.Reverse(reversed);
        Lpm6Table table = Lpm6Table.Build(large);
        AssertSameArrays(table, Lpm6Table.Build(reversed));
        var listed = new List<Lpm6Route>();
        table.CopyRoutes(listed);
        Assert.Equal(large.OrderBy(r => r.Prefix).ThenBy(r => r.Length), listed);
    }

    [Fact]
    public void Lookups_do_not_allocate()
    {
        Lpm6Route[] routes = RouteSetGenerator.Ipv6Like(20_000, seed: 1);
        Lpm6Table table = Lpm6Table.Build(routes);
        UInt128[] addresses = RouteSetGenerator.Ipv6Addresses(routes, 1000, seed: 2);
        var results = new uint[addresses.Length];
        table.Lookup(addresses, results);
        uint sink = table.Lookup(addresses[0]);
        AllocationProbe.AssertNone(() =>
        {
            table.Lookup(addresses, results);
            foreach (UInt128 address in addresses)
            {
                sink ^= table.Lookup(address);
            }
        }, roundsPerWindow: 50);
        Assert.NotEqual(sink, results[0] ^ sink ^ 1);
    }

    private static void AssertSameArrays(Lpm6Table a, Lpm6Table b)
    {
        Assert.Equal(a.DirectoryBits, b.DirectoryBits);
        Assert.True(a.DirectoryArray.AsSpan().SequenceEqual(b.DirectoryArray));
        Assert.True(MemoryMarshal.AsBytes(a.NodeArray.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(b.NodeArray.AsSpan())));
        Assert.True(a.LeafArray.AsSpan().SequenceEqual(b.LeafArray));
        Assert.True(a.Routes.SequenceEqual(b.Routes));
    }

    private static List<UInt128> ProbeAddresses(Lpm6Route[] routes, UInt128[] randomAddresses)
    {
        var addresses = new List<UInt128>(randomAddresses) { 0, UInt128.MaxValue };
        foreach (Lpm6Route route in routes)
        {
            UInt128 last = route.Prefix | ~Mask(route.Length);
            addresses.Add(route.Prefix);
            addresses.Add(last);
            addresses.Add(route.Prefix - 1);
            addresses.Add(last + 1);
            addresses.Add(route.Prefix | (new UInt128(FlowHash.Hash(route.Prefix), FlowHash.HashSeeded(3, route.Prefix)) & ~Mask(route.Length)));
        }
        return addresses;
    }

    private static uint NaiveLookup(Lpm6Route[] routes, UInt128 address)
    {
        int best = -1;
        uint value = Lpm6Table.NoRoute;
        foreach (Lpm6Route route in routes)
        {
            if ((address & Mask(route.Length)) == route.Prefix && route.Length > best)
            {
                best = route.Length;
                value = route.Value;
            }
        }
        return value;
    }

    private static UInt128 Mask(int length) => length == 0 ? UInt128.Zero : UInt128.MaxValue << (128 - length);

    private static UInt128 LowBits(int k) => k == 128 ? UInt128.MaxValue : (UInt128.One << k) - 1;
}
