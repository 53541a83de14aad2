using System.Runtime.InteropServices;
using CsCheck;
using MetalAgent.Tables.Exact;
using MetalAgent.Tables.Maglev;
using Xunit.Abstractions;
using MetalAgent.Tests.Shared;

namespace MetalAgent.Tables.Tests.Maglev;

public class MaglevTableTests(ITestOutputHelper output)
{
    private static readonly int[] s_primes = [2, 3, 7, 251, 1009, 4099, 65537];

    [Fact]
    public void Thousand_targets_are_balanced_within_one_percent()
    {
        MaglevTable table = MaglevTable.Build(Targets(1000, seed: 1));
        int[] counts = Counts(table);
        double mean = 65537.0 / 1000;
        output.WriteLine($"min {counts.Min()}, max {counts.Max()}, mean {mean}");
        Assert.True(counts.Max() <= 1.01 * mean);
        Assert.All(counts, c => Assert.InRange(c, 65, 66));
    }

    [Fact]
    public void Removing_a_target_moves_few_other_entries()
    {
        UInt128[] targets = Targets(1000, seed: 2);
        MaglevTable before = MaglevTable.Build(targets);
        double worst = 0;
        foreach (int removedIndex in new[] { 0, 137, 500, 999 })
        {
            UInt128 removed = targets[removedIndex];
            MaglevTable after = MaglevTable.Build([.. targets.Where(t => t != removed)]);
            int others = 0;
            int moved = 0;
            for (int slot = 0; slot < before.Size; slot++)
            {
                UInt128 old = before.Target(before.Entries[slot]);
                if (old == removed)
                {
                    continue;
                }
                others++;
                moved += after.Target(after.Entries[slot]) != old ? 1 : 0;
            }
            worst = Math.Max(worst, (double)moved / others);
        }
        output.WriteLine($"worst disruption {worst:P2}");
        Assert.True(worst <= 0.015, $"{worst:P2} of the other entries moved");
    }

    [Fact]
    public void Target_order_does_not_matter()
    {
        UInt128[] targets = Targets(1000, seed: 3);
        MaglevTable a = MaglevTable.Build(targets);
        UInt128[] shuffled = [.. targets];
        new Random(4).Shuffle(shuffled);
        MaglevTable b = MaglevTable.Build(shuffled);
        Assert.True(a.Entries.SequenceEqual(b.Entries));
        Assert.True(a.Targets.SequenceEqual(b.Targets));
        Assert.True(a.Targets.SequenceEqual([.. targets.Order()]));
    }

    [Fact]
    public void Table_is_fixed_across_processes()
    {
        // Hosts that compute the same table send a flow to the same target; this pins the fill.
        MaglevTable table = MaglevTable.Build(Targets(10, seed: 5), 251);
        Assert.Equal(0xC0219AE244F0920AUL, FlowHash.Hash(MemoryMarshal.AsBytes(table.Entries)));
    }

    [Fact]
    public void Small_target_sets_are_complete_and_balanced()
    {
        var gen = Gen.Select(Gen.UInt128.Array[1, 60], Gen.Int[0, s_primes.Length - 1], Gen.ULong.Array[20]);
        DeterministicCheck.Sample(gen, t =>
        {
            (UInt128[] raw, int primeIndex, ulong[] hashes) = t;
            UInt128[] targets = [.. raw.Distinct()];
            int m = s_primes[primeIndex];
            if (targets.Length > m)
            {
                Assert.Throws<ArgumentException>(() => MaglevTable.Build(targets, m));
                return;
            }
            MaglevTable table = MaglevTable.Build(targets, m);
            Assert.Equal(targets.Length, table.TargetCount);
            Assert.Equal(m, table.Size);
            int[] counts = Counts(table);
            Assert.All(counts, c => Assert.InRange(c, m / targets.Length, (m + targets.Length - 1) / targets.Length));
            Assert.Equal(m, counts.Sum());
            foreach (ulong hash in hashes)
            {
                int index = table.Lookup(hash);
                Assert.InRange(index, 0, targets.Length - 1);
                Assert.Equal(table.Entries[(int)((hash >> 32) * (ulong)m >> 32)], index);
                Assert.Equal(index, table.IndexOf(table.Target(index)));
            }
        }, seed: 0x6d61676c, iter: 200);
    }

    [Fact]
    public void Fill_matches_the_classic_maglev_population()
    {
        // The build switches to a computed tail for the last free slots; it must give exactly the
        // table of the paper's plain loop, for small and large M and N.
        var gen = Gen.Select(Gen.UInt128.Array[1, 300], Gen.Int[3, s_primes.Length - 1]);
        DeterministicCheck.Sample(gen, t =>
        {
            int m = s_primes[t.Item2];
            UInt128[] targets = [.. t.Item1.Distinct().Order().Take(m)];
            Assert.Equal(ClassicPopulate(targets, m), MaglevTable.Build(targets, m).Entries.ToArray());
        }, seed: 0x636c6173, iter: 40);
        UInt128[] thousand = Targets(1000, seed: 8);
        Assert.Equal(ClassicPopulate(thousand, 65537), MaglevTable.Build(thousand).Entries.ToArray());
    }

    [Fact]
    public void Empty_table_returns_minus_one()
    {
        MaglevTable table = MaglevTable.Build([]);
        Assert.Equal(0, table.TargetCount);
        Assert.Equal(-1, table.Lookup(12345));
        Assert.Equal(-1, table.IndexOf(1));
    }

    [Fact]
    public void Invalid_inputs_are_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => MaglevTable.Build([1, 2], 65536));
        Assert.Throws<ArgumentOutOfRangeException>(() => MaglevTable.Build([1, 2], 1));
        Assert.Contains("duplicate", Assert.Throws<ArgumentException>(() => MaglevTable.Build([1, 2, 1])).Message);
        Assert.Throws<ArgumentException>(() => MaglevTable.Build([1, 2, 3, 4], 3));
    }

    [Fact]
    public void Lookups_do_not_allocate()
    {
        MaglevTable table = MaglevTable.Build(Targets(100, seed: 6));
        long sum = table.Lookup(1);
        ulong h = 0;
        AllocationProbe.AssertNone(() =>
        {
            for (int i = 0; i < 1000; i++, h++)
            {
                sum += table.Lookup(h * 0x9E3779B97F4A7C15UL);
            }
        }, roundsPerWindow: 50);
        Assert.True(sum > 0);
    }

    /// <summary>Populate() from the Maglev paper, verbatim: targets take turns, each stepping through its
    /// permutation (offset + j * skip) mod M to its next free slot.</summary>
    private static ushort[] ClassicPopulate(UInt128[] sortedTargets, int m)
    {
        int n = sortedTargets.Length;
        var offset = new ulong[n];
        var skip = new ulong[n];
        var next = new ulong[n];
        for (int i = 0; i < n; i++)
        {
            offset[i] = FlowHash.HashSeeded(MaglevTable.OffsetSeed, sortedTargets[i]) % (ulong)m;
            skip[i] = (FlowHash.HashSeeded(MaglevTable.SkipSeed, sortedTargets[i]) % (ulong)(m - 1)) + 1;
        }
        var entry = new int[m];
        Array.Fill(entry, -1);
        int filled = 0;
        while (true)
        {
            for (int i = 0; i < n; i++)
            {
                ulong c = (offset[i] + (next[i] * skip[i])) % (ulong)m;
                while (entry[c] >= 0)
                {
                    next[i]++;
                    c = (offset[i] + (next[i] * skip[i])) % (ulong)m;
                }
                entry[c] = i;
                next[i]++;
                if (++filled == m)
                {
                    return [.. entry.Select(e => (ushort)e)];
                }
            }
        }
    }

    private static int[] Counts(MaglevTable table)
    {
        var counts = new int[table.TargetCount];
        foreach (ushort entry in table.Entries)
        {
            counts[entry]++;
        }
        return counts;
    }

    /// <summary>Distinct underlay /128s in one /64, like the LB targets of one region.</summary>
    private static UInt128[] Targets(int count, ulong seed)
    {
        UInt128 prefix = ((UInt128)0x20010db8_00010002UL) << 64;
        var set = new HashSet<UInt128>();
        ulong i = 0;
        while (set.Count < count)
        {
            set.Add(prefix | FlowHash.HashSeeded(seed, i++));
        }
        return [.. set.Order()];
    }
}
