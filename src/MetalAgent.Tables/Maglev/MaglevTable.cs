using System.Runtime.CompilerServices;
using MetalAgent.Packets;
using MetalAgent.Tables.Exact;

namespace MetalAgent.Tables.Maglev;

/// <summary>A Maglev consistent-hashing lookup table (Eisenbud et al., NSDI 2016) over a set of
/// underlay /128 targets: maps a flow hash to a target index with near-perfect balance and little
/// disruption when the target set changes.</summary>
/// <remarks>
/// Targets are sorted before the fill, so the table depends only on the set of targets. Target
/// <c>i</c>'s permutation is <c>(offset + j * skip) mod M</c> with
/// <c>offset = h1 mod M</c> and <c>skip = h2 mod (M - 1) + 1</c>, where h1 and h2 are
/// <see cref="FlowHash"/> hashes of the address with the fixed seeds <see cref="OffsetSeed"/> and
/// <see cref="SkipSeed"/>; targets take turns claiming their next free preferred slot. Every
/// target ends up with floor(M/N) or ceil(M/N) slots.
/// </remarks>
public sealed class MaglevTable
{
    /// <summary>The table size the Maglev paper uses for small backend sets; a prime.</summary>
    public const int DefaultSize = 65537;

    /// <summary>Largest accepted table size.</summary>
    public const int MaxSize = 16_777_259;

    /// <summary>Seed of the hash that picks each target's first slot.</summary>
    public const ulong OffsetSeed = 0x6d61676c65763031UL;

    /// <summary>Seed of the hash that picks each target's step.</summary>
    public const ulong SkipSeed = 0x6d61676c65763032UL;

    private readonly UInt128[] _targets;
    private readonly ushort[] _entries;

    private MaglevTable(UInt128[] targets, ushort[] entries)
    {
        _targets = targets;
        _entries = entries;
    }

    /// <summary>Number of targets.</summary>
    public int TargetCount => _targets.Length;

    /// <summary>The table size M (number of entries).</summary>
    public int Size => _entries.Length;

    /// <summary>The targets in ascending order; entries index into this.</summary>
    public ReadOnlySpan<UInt128> Targets => _targets;

    /// <summary>The lookup table: for each of the M slots, the index of its target.</summary>
    public ReadOnlySpan<ushort> Entries => _entries;

    /// <summary>Bytes held by the table's arrays.</summary>
    public long MemoryBytes => ((long)_entries.Length * sizeof(ushort)) + ((long)_targets.Length * 16);

    /// <summary>Builds the table. <paramref name="m"/> must be a prime no smaller than the number of
    /// targets (use M well above 100 x targets for good balance); targets must be distinct and at
    /// most 65,535. An empty target list gives a table whose lookups return -1.</summary>
    public static MaglevTable Build(ReadOnlySpan<UInt128> targets, int m = DefaultSize)
    {
        if (m < 2 || m > MaxSize || !IsPrime(m))
        {
            throw new ArgumentOutOfRangeException(nameof(m), m, $"Maglev table size must be a prime between 2 and {MaxSize}");
        }
        if (targets.Length > ushort.MaxValue)
        {
            throw new ArgumentException($"at most {ushort.MaxValue} Maglev targets are supported, got {targets.Length}", nameof(targets));
        }
        if (targets.Length > m)
        {
            throw new ArgumentException($"{targets.Length} targets do not fit a Maglev table of size {m}", nameof(targets));
        }
        UInt128[] sorted = targets.ToArray();
        Array.Sort(sorted);
        for (int i = 1; i < sorted.Length; i++)
        {
            if (sorted[i] == sorted[i - 1])
            {
                throw new ArgumentException($"duplicate Maglev target {Addresses.FormatIPv6(sorted[i])}", nameof(targets));
            }
        }
        if (sorted.Length == 0)
        {
            return new MaglevTable(sorted, new ushort[m]);
        }
        return new MaglevTable(sorted, Fill(sorted, m));
    }

    /// <summary>The target with the given index.</summary>
    public UInt128 Target(int index) => _targets[index];

    /// <summary>The index of <paramref name="target"/> in <see cref="Targets"/>, or -1.</summary>
    public int IndexOf(UInt128 target)
    {
        int i = Array.BinarySearch(_targets, target);
        return i >= 0 ? i : -1;
    }

    /// <summary>The target index for a flow hash, or -1 when the table has no targets. The slot is
    /// chosen from the hash's high 32 bits by multiply-shift (no division).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Lookup(ulong flowHash)
    {
        ushort[] entries = _entries;
        if (_targets.Length == 0)
        {
            return -1;
        }
        int slot = (int)(((flowHash >> 32) * (ulong)(uint)entries.Length) >> 32);
        return entries[slot];
    }

    private static ushort[] Fill(UInt128[] sorted, int m)
    {
        int n = sorted.Length;
        var offset = new int[n];
        var skip = new int[n];
        var cursor = new int[n];
        for (int i = 0; i < n; i++)
        {
            ulong high = (ulong)(sorted[i] >> 64);
            ulong low = (ulong)sorted[i];
            offset[i] = (int)(FlowHash.HashSeeded(OffsetSeed, high, low) % (ulong)m);
            skip[i] = (int)(FlowHash.HashSeeded(SkipSeed, high, low) % (ulong)(m - 1)) + 1;
            cursor[i] = offset[i];
        }

        var entries = new ushort[m];
        // Occupancy as a bitmap (8 KiB for M = 65537) keeps the probe loop in L1.
        var taken = new ulong[(m + 63) >> 6];
        int free = m;
        // Stepping through a permutation costs about M / free probes per fill, which explodes for
        // the last few free slots; below this many free slots the tail switches to computing, for
        // each free slot, its position in the target's permutation (same result, O(free) per fill).
        int tailFrom = Math.Max(1, (int)Math.Sqrt(m));
        int turn = 0;
        while (free > tailFrom)
        {
            int c = cursor[turn];
            int step = skip[turn];
            while ((taken[c >> 6] & (1UL << c)) != 0)
            {
                c = NextSlot(c, step, m);
            }
            taken[c >> 6] |= 1UL << c;
            entries[c] = (ushort)turn;
            cursor[turn] = NextSlot(c, step, m);
            free--;
            if (++turn == n)
            {
                turn = 0;
            }
        }
        FillTail(entries, taken, offset, skip, turn, free, m);
        return entries;
    }

    /// <summary>(c + step) mod m for c, step &lt; m, without a branch: the wrap-around is taken at
    /// random, so a branch would mispredict on a large share of all probes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int NextSlot(int c, int step, int m)
    {
        int t = c + step - m;
        return t + (m & (t >> 31));
    }

    /// <summary>Fills the last <paramref name="free"/> slots exactly as the stepping loop would:
    /// target t's next slot is the free slot s with the smallest permutation position
    /// (s - offset) * skip^-1 mod M (every earlier position is taken, and taken slots stay taken).</summary>
    private static void FillTail(ushort[] entries, ulong[] taken, int[] offset, int[] skip, int turn, int free, int m)
    {
        var slots = new int[free];
        int count = 0;
        for (int s = 0; s < m; s++)
        {
            if ((taken[s >> 6] & (1UL << s)) == 0)
            {
                slots[count++] = s;
            }
        }
        ulong barrett = ulong.MaxValue / (ulong)m;
        while (count > 0)
        {
            ulong inverse = (ulong)ModInverse(skip[turn], m);
            int start = offset[turn];
            int best = 0;
            ulong bestPosition = ulong.MaxValue;
            for (int k = 0; k < count; k++)
            {
                int distance = slots[k] - start;
                distance += m & (distance >> 31);
                ulong position = MultiplyMod((ulong)distance * inverse, (ulong)m, barrett);
                if (position < bestPosition)
                {
                    bestPosition = position;
                    best = k;
                }
            }
            entries[slots[best]] = (ushort)turn;
            slots[best] = slots[--count];
            if (++turn == offset.Length)
            {
                turn = 0;
            }
        }
    }

    /// <summary>x mod m for x &lt; 2^48 by Barrett reduction with r = floor((2^64 - 1) / m).</summary>
    private static ulong MultiplyMod(ulong x, ulong m, ulong barrett)
    {
        ulong quotient = Math.BigMul(x, barrett, out _);
        ulong remainder = x - (quotient * m);
        return remainder >= m ? remainder - m : remainder;
    }

    /// <summary>The inverse of <paramref name="a"/> modulo the prime <paramref name="m"/> (extended Euclid).</summary>
    private static int ModInverse(int a, int m)
    {
        int t = 0, newT = 1, r = m, newR = a;
        while (newR != 0)
        {
            int q = r / newR;
            (t, newT) = (newT, t - (q * newT));
            (r, newR) = (newR, r - (q * newR));
        }
        return t < 0 ? t + m : t;
    }

    private static bool IsPrime(int m)
    {
        if (m < 4)
        {
            return m >= 2;
        }
        if (m % 2 == 0)
        {
            return false;
        }
        for (int d = 3; (long)d * d <= m; d += 2)
        {
            if (m % d == 0)
            {
                return false;
            }
        }
        return true;
    }
}
