using System.Runtime.InteropServices;
using CsCheck;
using MetalAgent.Tables.Lpm;
using MetalAgent.Tests.Shared;

namespace MetalAgent.Tables.Tests.Lpm;

public class Lpm4TableTests
{
    // Base addresses: one random root and variants that differ from it only in their low k bits,
    // so routes share nodes and differ deep inside them.
    private static readonly Gen<uint[]> s_bases =
        Gen.Select(Gen.UInt, Gen.Select(Gen.UInt, Gen.Int[0, 32]).Array[0, 7])
            .Select(t => (uint[])[t.Item1, .. t.Item2.Select(d => t.Item1 ^ (d.Item2 == 32 ? d.Item1 : d.Item1 & ((1u << d.Item2) - 1)))]);

    // Route sets built around a few base addresses so nesting and duplicates are common; lengths
    // 0..32 cover /0 and /32. The value is a function of (prefix, length), so duplicates agree.
    private static readonly Gen<Lpm4Route[]> s_routes =
        Gen.Select(s_bases, Gen.Select(Gen.Int[0, 7], Gen.Int[0, 32]).Array[0, 120])
            .Select(t =>
            {
                (uint[] bases, (int Base, int Length)[] picks) = t;
                var routes = new Lpm4Route[picks.Length];
                for (int i = 0; i < picks.Length; i++)
                {
                    uint prefix = bases[picks[i].Base % bases.Length] & Mask(picks[i].Length);
                    routes[i] = new Lpm4Route(prefix, (byte)picks[i].Length, ValueFor(prefix, picks[i].Length));
                }
                return routes;
            });

    [Fact]
    public void Lookup_matches_naive_longest_match()
    {
        var gen = Gen.Select(s_routes, Gen.UInt.Array[0, 40]);
        DeterministicCheck.Sample(gen, t =>
        {
            (Lpm4Route[] routes, uint[] randomAddresses) = t;
            Lpm4Table table = Lpm4Table.Build(routes);
            List<uint> addresses = ProbeAddresses(routes, randomAddresses);
            var batched = new uint[addresses.Count];
            table.Lookup(CollectionsMarshal.AsSpan(addresses), batched);
            for (int i = 0; i < addresses.Count; i++)
            {
                uint expected = NaiveLookup(routes, addresses[i]);
                Assert.Equal(expected, table.Lookup(addresses[i]));
                Assert.Equal(expected, batched[i]);
            }
        }, seed: 0x4c504d34, iter: 300);
    }

    [Fact]
    public void Large_route_sets_match_naive_longest_match()
    {
        // Enough routes to select the 4096-entry and 262144-entry directories.
        foreach (int count in new[] { 600, 20_000 })
        {
            Lpm4Route[] routes = RouteSetGenerator.Ipv4BgpLike(count, seed: (ulong)count);
            Lpm4Table table = Lpm4Table.Build(routes);
            Assert.Equal(count >= 16_384 ? 18 : 12, table.DirectoryBits);
            var reference = new HashReference(routes);
            uint[] addresses = RouteSetGenerator.Ipv4Addresses(routes, 20_000, seed: 7, hitFraction: 0.9);
            var batched = new uint[addresses.Length];
            table.Lookup(addresses, batched);
            for (int i = 0; i < addresses.Length; i++)
            {
                uint expected = reference.Lookup(addresses[i]);
                Assert.Equal(expected, table.Lookup(addresses[i]));
                Assert.Equal(expected, batched[i]);
            }
        }
    }

    [Fact]
    public void Edge_routes_resolve()
    {
        Lpm4Table table = Lpm4Table.Build(
        [
            new Lpm4Route(0, 0, 1),
            new Lpm4Route(0x0A000000, 8, 2),
            new Lpm4Route(0x0A010200, 24, 3),
            new Lpm4Route(0x0A010203, 32, 4),
            new Lpm4Route(0xFFFFFFFF, 32, 5),
            new Lpm4Route(0x0A010280, 25, Lpm4Table.MaxValue),
        ]);
        Assert.Equal(1u, table.Lookup(0x0B000000));
        Assert.Equal(2u, table.Lookup(0x0A000001));
        Assert.Equal(3u, table.Lookup(0x0A010202));
        Assert.Equal(4u, table.Lookup(0x0A010203));
        Assert.Equal(3u, table.Lookup(0x0A010204));
        Assert.Equal(Lpm4Table.MaxValue, table.Lookup(0x0A0102FF));
        Assert.Equal(5u, table.Lookup(0xFFFFFFFF));
        Assert.Equal(1u, table.Lookup(0xFFFFFFFE));
        Assert.Equal(Lpm4Table.NoRoute, Lpm4Table.Empty.Lookup(0x0A000001));
        Assert.Equal(Lpm4Table.NoRoute, Lpm4Table.Build([new Lpm4Route(0x0A000000, 8, 2)]).Lookup(0x0B000000));
    }

    [Fact]
    public void Identical_duplicates_are_merged()
    {
        Lpm4Table table = Lpm4Table.Build(
        [
            new Lpm4Route(0x0A000000, 8, 2),
            new Lpm4Route(0x0A000000, 8, 2),
            new Lpm4Route(0x0A000000, 16, 3),
        ]);
        Assert.Equal(2, table.RouteCount);
        Assert.Equal(3u, table.Lookup(0x0A000001));
    }

    [Fact]
    public void Conflicting_duplicates_are_rejected()
    {
        DeterministicCheck.Sample(Gen.Select(s_routes, Gen.Int, Gen.UInt[0, 1000]), t =>
        {
            (Lpm4Route[] routes, int pick, uint delta) = t;
            if (routes.Length == 0)
            {
                return;
            }
            Lpm4Route victim = routes[(int)((uint)pick % (uint)routes.Length)];
            Lpm4Route[] withConflict = [.. routes, victim with { Value = (victim.Value + 1 + delta) % Lpm4Table.MaxValue }];
            var error = Assert.Throws<ArgumentException>(() => Lpm4Table.Build(withConflict));
            Assert.Contains("conflicting routes", error.Message);
        }, seed: 0x636f6e66, iter: 50);
    }

    [Fact]
    public void Invalid_routes_are_rejected()
    {
        Assert.Contains("host bits", Assert.Throws<ArgumentException>(() => Lpm4Table.Build([new Lpm4Route(0x0A000001, 24, 1)])).Message);
        Assert.Contains("> 32", Assert.Throws<ArgumentException>(() => Lpm4Table.Build([new Lpm4Route(0, 33, 1)])).Message);
        Assert.Contains("route value", Assert.Throws<ArgumentException>(() => Lpm4Table.Build([new Lpm4Route(0, 0, Lpm4Table.NoRoute)])).Message);
    }

    [Fact]
    public void Route_order_does_not_change_the_arrays()
    {
        DeterministicCheck.Sample(Gen.Select(s_routes, Gen.Int), t =>
        {
            (Lpm4Route[] routes, int shuffleSeed) = t;
            Lpm4Route[] shuffled = [.. routes, .. routes.Take(routes.Length / 3)];
            new Random(shuffleSeed).Shuffle(shuffled);
            AssertSameArrays(Lpm4Table.Build(routes), Lpm4Table.Build(shuffled));
        }, seed: 0x6f726465, iter: 100);

        Lpm4Route[] large = RouteSetGenerator.Ipv4BgpLike(30_000, seed: 3);
        Lpm4Route[] reversed = [.. large];
        Array.Reverse(reversed);
        AssertSameArrays(Lpm4Table.Build(large), Lpm4Table.Build(reversed));
    }

    [Fact]
    public void Routes_are_listed_sorted_and_deduplicated()
    {
        Lpm4Route[] routes = RouteSetGenerator.Ipv4BgpLike(2000, seed: 11);
        Lpm4Route[] doubled = [.. routes, .. routes];
        new Random(5).Shuffle(doubled);
        Lpm4Table table = Lpm4Table.Build(doubled);
        var listed = new List<Lpm4Route>();
        table.CopyRoutes(listed);
        Lpm4Route[] expected = [.. routes.OrderBy(r => r.Prefix).ThenBy(r => r.Length)];
        Assert.Equal(expected, listed);
        Assert.Equal(expected, table.Routes.ToArray());
        Assert.Equal(2000, table.RouteCount);
    }

    [Fact]
    public void Lookups_do_not_allocate()
    {
        Lpm4Route[] routes = RouteSetGenerator.Ipv4BgpLike(20_000, seed: 1);
        Lpm4Table table = Lpm4Table.Build(routes);
        uint[] addresses = RouteSetGenerator.Ipv4Addresses(routes, 1000, seed: 2);
        var results = new uint[addresses.Length];
        table.Lookup(addresses, results);
        uint sink = table.Lookup(addresses[0]);
        AllocationProbe.AssertNone(() =>
        {
            table.Lookup(addresses, results);
            foreach (uint address in addresses)
            {
                sink ^= table.Lookup(address);
            }
        }, roundsPerWindow: 50);
        Assert.NotEqual(sink, results[0] ^ sink ^ 1);
    }

    internal static void AssertSameArrays(Lpm4Table a, Lpm4Table b)
    {
        Assert.Equal(a.DirectoryBits, b.DirectoryBits);
        Assert.True(a.DirectoryArray.AsSpan().SequenceEqual(b.DirectoryArray));
        Assert.True(MemoryMarshal.AsBytes(a.NodeArray.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(b.NodeArray.AsSpan())));
        Assert.True(a.LeafArray.AsSpan().SequenceEqual(b.LeafArray));
        Assert.True(a.Routes.SequenceEqual(b.Routes));
    }

    private static List<uint> ProbeAddresses(Lpm4Route[] routes, uint[] randomAddresses)
    {
        var addresses = new List<uint>(randomAddresses) { 0, uint.MaxValue };
        foreach (Lpm4Route route in routes)
        {
            uint last = route.Prefix | ~Mask(route.Length);
            addresses.Add(route.Prefix);
            addresses.Add(last);
            addresses.Add(route.Prefix - 1);
            addresses.Add(last + 1);
            addresses.Add(route.Prefix | ((uint)FlowHashOf(route) & ~Mask(route.Length)));
        }
        return addresses;
    }

    private static uint NaiveLookup(Lpm4Route[] routes, uint address)
    {
        int best = -1;
        uint value = Lpm4Table.NoRoute;
        foreach (Lpm4Route route in routes)
        {
            if ((address & Mask(route.Length)) == route.Prefix && route.Length > best)
            {
                best = route.Length;
                value = route.Value;
            }
        }
        return value;
    }

    private static uint Mask(int length) => length == 0 ? 0 : uint.MaxValue << (32 - length);

    private static uint ValueFor(uint prefix, int length) => (uint)(Tables.Exact.FlowHash.Hash(prefix, (ulong)length) % 1000);

    private static ulong FlowHashOf(Lpm4Route route) => Tables.Exact.FlowHash.Hash(route.Prefix, route.Length);

    /// <summary>Longest match by probing a dictionary per prefix length: exact and fast enough for big sets.</summary>
    internal sealed class HashReference
    {
        private readonly Dictionary<(uint, int), uint> _routes = [];

        public HashReference(IEnumerable<Lpm4Route> routes)
        {
            foreach (Lpm4Route route in routes)
            {
                _routes[(route.Prefix, route.Length)] = route.Value;
            }
        }

        public uint Lookup(uint address)
        {
            for (int length = 32; length >= 0; length--)
            {
                if (_routes.TryGetValue((address & Mask(length), length), out uint value))
                {
                    return value;
                }
            }
            return Lpm4Table.NoRoute;
        }
    }
}
