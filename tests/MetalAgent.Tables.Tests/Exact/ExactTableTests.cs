using CsCheck;
using MetalAgent.Tables.Exact;

namespace MetalAgent.Tables.Tests.Exact;

public class ExactTableTests
{
    // Small pools for every field so that keys differing in one field only are common.
    private static readonly Gen<UInt128> s_address = Gen.OneOf(
        Gen.UInt128,
        Gen.UInt[0, 7].Select(v => (UInt128)(0x0A000000u + v)),
        Gen.UInt[0, 7].Select(v => ((UInt128)0x20010db8u << 96) | v));

    private static readonly Gen<VniAddressKey> s_vniAddress =
        Gen.Select(Gen.UInt[0, 3], Gen.OneOf((byte)4, (byte)6), s_address, (v, ip, a) => new VniAddressKey(v, ip, a));

    private static readonly Gen<NatPortKey> s_natPort =
        Gen.Select(s_address, Gen.OneOf((byte)6, (byte)17, (byte)1), Gen.UShort, (a, p, port) => new NatPortKey(a, p, (ushort)(port % 8)));

    private static readonly Gen<LbFrontendKey> s_lbFrontend =
        Gen.Select(Gen.UInt[0, 3], s_address, Gen.OneOf((byte)6, (byte)17), Gen.UShort[0, 4], (v, a, p, port) => new LbFrontendKey(v, a, p, port));

    private static readonly Gen<Underlay128Key> s_underlay = s_address.Select(a => new Underlay128Key(a));

    [Fact]
    public void VniAddressKey_table_matches_dictionary() => MatchesDictionary(s_vniAddress, 0x766e6961);

    [Fact]
    public void NatPortKey_table_matches_dictionary() => MatchesDictionary(s_natPort, 0x6e617470);

    [Fact]
    public void LbFrontendKey_table_matches_dictionary() => MatchesDictionary(s_lbFrontend, 0x6c626665);

    [Fact]
    public void Underlay128Key_table_matches_dictionary() => MatchesDictionary(s_underlay, 0x756e646c);

    [Fact]
    public void Duplicate_keys_are_rejected()
    {
        var key = new VniAddressKey(7, 4, 0x0A000001);
        var error = Assert.Throws<ArgumentException>(() => ExactTable<VniAddressKey, int>.Build(
        [
            new(key, 1),
            new(new VniAddressKey(7, 4, 0x0A000002), 2),
            new(key, 1),
        ]));
        Assert.Contains("duplicate key", error.Message);
        Assert.Contains("vni 7 10.0.0.1", error.Message);
    }

    [Fact]
    public void Layout_does_not_depend_on_input_order()
    {
        DeterministicCheck.Sample(Gen.Select(s_vniAddress.Array[0, 200], Gen.Int), t =>
        {
            (VniAddressKey[] keys, int shuffleSeed) = t;
            KeyValuePair<VniAddressKey, int>[] entries = [.. keys.Distinct().Select((k, i) => new KeyValuePair<VniAddressKey, int>(k, i))];
            KeyValuePair<VniAddressKey, int>[] shuffled = [.. entries];
            new Random(shuffleSeed).Shuffle(shuffled);
            var a = new List<KeyValuePair<VniAddressKey, int>>();
            var b = new List<KeyValuePair<VniAddressKey, int>>();
            ExactTable<VniAddressKey, int>.Build(entries).CopyEntries(a);
            ExactTable<VniAddressKey, int>.Build(shuffled).CopyEntries(b);
            Assert.Equal(a, b);
            Assert.Equal(entries.Length, a.Count);
        }, seed: 0x6f726465, iter: 100);
    }

    [Fact]
    public void Empty_table_finds_nothing()
    {
        ExactTable<Underlay128Key, int> table = ExactTable<Underlay128Key, int>.Empty;
        Assert.False(table.TryGetValue(new Underlay128Key(0), out _));
        Assert.False(table.TryGetValue(new Underlay128Key(UInt128.MaxValue), out _));
        Assert.Equal(0, table.Count);
    }

    [Fact]
    public void Million_entries_are_all_found_and_misses_are_not()
    {
        const int Count = 1_000_000;
        var entries = new KeyValuePair<VniAddressKey, uint>[Count];
        for (int i = 0; i < Count; i++)
        {
            // Dense, structured keys: consecutive addresses in a few VNIs (the common real shape).
            entries[i] = new(new VniAddressKey((uint)(i % 16), 4, 0x0A000000u + (uint)(i / 16)), (uint)i);
        }
        ExactTable<VniAddressKey, uint> table = ExactTable<VniAddressKey, uint>.Build(entries);
        Assert.Equal(Count, table.Count);
        Assert.True(table.Count <= table.Capacity * 0.75);
        Assert.InRange(table.MaxProbeDistance(), 0, 40);
        Assert.Equal(table.Capacity * 32L, table.MemoryBytes);

        var keys = new VniAddressKey[4096];
        var values = new uint[keys.Length];
        var found = new bool[keys.Length];
        int hits = 0;
        int wrong = 0;
        for (int start = 0; start < Count; start += keys.Length)
        {
            int n = Math.Min(keys.Length, Count - start);
            for (int i = 0; i < n; i++)
            {
                keys[i] = entries[start + i].Key;
            }
            hits += table.LookupBatch(keys.AsSpan(0, n), values, found);
            for (int i = 0; i < n; i++)
            {
                wrong += found[i] && values[i] == (uint)(start + i) ? 0 : 1;
            }
        }
        Assert.Equal(Count, hits);
        Assert.Equal(0, wrong);
        for (int i = 0; i < keys.Length; i++)
        {
            // Same addresses in VNIs that hold none, and an IPv6 twin of each address.
            keys[i] = i % 2 == 0
                ? new VniAddressKey(16 + (uint)i, 4, 0x0A000000u + (uint)i)
                : new VniAddressKey((uint)(i % 16), 6, 0x0A000000u + (uint)(i / 16));
        }
        Assert.Equal(0, table.LookupBatch(keys, values, found));
        Assert.DoesNotContain(true, found);
        Assert.False(table.TryGetValue(keys[0], out _));
    }

    [Fact]
    public void Lookups_do_not_allocate()
    {
        var entries = new KeyValuePair<VniAddressKey, uint>[10_000];
        for (int i = 0; i < entries.Length; i++)
        {
            entries[i] = new(new VniAddressKey(1, 6, (UInt128)i * 7919), (uint)i);
        }
        ExactTable<VniAddressKey, uint> table = ExactTable<VniAddressKey, uint>.Build(entries);
        var keys = new VniAddressKey[1000];
        for (int i = 0; i < keys.Length; i++)
        {
            keys[i] = new VniAddressKey(1, 6, (UInt128)(i * 17) * 7919);
        }
        var values = new uint[keys.Length];
        var found = new bool[keys.Length];
        int hits = table.LookupBatch(keys, values, found);
        table.TryGetValue(keys[0], out uint sink);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int round = 0; round < 100; round++)
        {
            hits += table.LookupBatch(keys, values, found);
            foreach (VniAddressKey key in keys)
            {
                if (table.TryGetValue(key, out uint value))
                {
                    sink += value;
                }
            }
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(101 * 589, hits);
        Assert.NotEqual(0u, sink);
    }

    [Fact]
    public void Reference_type_values_work()
    {
        ExactTable<NatPortKey, string> table = ExactTable<NatPortKey, string>.Build(
        [
            new(new NatPortKey(0x0A000001, 6, 1024), "a"),
            new(new NatPortKey(0x0A000001, 17, 1024), "b"),
        ]);
        Assert.True(table.TryGetValue(new NatPortKey(0x0A000001, 17, 1024), out string? value));
        Assert.Equal("b", value);
        var values = new string[3];
        var found = new bool[3];
        Assert.Equal(1, table.LookupBatch([new NatPortKey(0x0A000001, 6, 1024), new NatPortKey(0x0A000002, 6, 1024), default], values, found));
        Assert.Equal(["a", null!, null!], values);
    }

    [Fact]
    public void Key_accessors_round_trip()
    {
        UInt128 ip = ((UInt128)0x20010db8u << 96) | 0xabcdef;
        var vniAddress = new VniAddressKey(5, 6, ip);
        Assert.Equal((5u, (byte)6, ip), (vniAddress.Vni, vniAddress.IpVersion, vniAddress.Address));
        var nat = new NatPortKey(ip, 17, 4096);
        Assert.Equal((ip, (byte)17, (ushort)4096), (nat.PublicIp, nat.Protocol, nat.Port));
        var lb = new LbFrontendKey(9, ip, 6, 443);
        Assert.Equal((9u, ip, (byte)6, (ushort)443), (lb.Vni, lb.Ip, lb.Protocol, lb.Port));
        Assert.Equal(ip, new Underlay128Key(ip).Address);
        Assert.NotEqual(new LbFrontendKey(9, ip, 6, 443), new LbFrontendKey(9, ip, 17, 443));
        Assert.NotEqual(VniAddressKey.Hash(new VniAddressKey(1, 4, 5)), VniAddressKey.Hash(new VniAddressKey(1, 6, 5)));
    }

    private static void MatchesDictionary<TKey>(Gen<TKey> keyGen, ulong seed)
        where TKey : unmanaged, IExactKey<TKey>
    {
        DeterministicCheck.Sample(Gen.Select(keyGen.Array[0, 300], keyGen.Array[0, 100]), t =>
        {
            (TKey[] keys, TKey[] probes) = t;
            var reference = new Dictionary<TKey, int>();
            foreach (TKey key in keys)
            {
                reference.TryAdd(key, reference.Count);
            }
            ExactTable<TKey, int> table = ExactTable<TKey, int>.Build([.. reference]);
            Assert.Equal(reference.Count, table.Count);
            TKey[] all = [.. keys, .. probes];
            var values = new int[all.Length];
            var found = new bool[all.Length];
            int hits = table.LookupBatch(all, values, found);
            int expectedHits = 0;
            for (int i = 0; i < all.Length; i++)
            {
                bool present = reference.TryGetValue(all[i], out int expected);
                expectedHits += present ? 1 : 0;
                Assert.Equal(present, table.TryGetValue(all[i], out int value));
                Assert.Equal(present, found[i]);
                Assert.Equal(present ? expected : 0, value);
                Assert.Equal(present ? expected : 0, values[i]);
            }
            Assert.Equal(expectedHits, hits);
        }, seed, iter: 200);
    }
}
