using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace MetalAgent.Tables.Classifier;

/// <summary>One lane-range box: lower corner and per-lane extent (hi - lo), its box id in the padding lanes.</summary>
internal struct BoxRange<TLanes>
    where TLanes : unmanaged, IClassifierLanes<TLanes>
{
    public TLanes Lo;
    public TLanes Span;
}

/// <summary>The compiled classifier shared by both address families: boxes are split into partitions by
/// which address fields are narrow (as in EffiCuts/CutSplit), each partition gets a decision tree of
/// multi-bit cuts on one 16-bit lane per node, and leaves hold copies of at most a few boxes in priority
/// order, each checked with one SIMD range test. Every node reference carries the best box id below it, so
/// a lookup abandons a subtree that cannot beat the match it already has. Immutable; safe for concurrent readers.</summary>
internal sealed class CutTreeTable<TLanes>
    where TLanes : unmanaged, IClassifierLanes<TLanes>
{
    /// <summary>Keys classified together by <see cref="ClassifyGroup"/>.</summary>
    public static readonly int GroupSize = int.Parse(Environment.GetEnvironmentVariable("CT_G") ?? "8");
    private static readonly bool s_branchless = Environment.GetEnvironmentVariable("CT_BL") == "1";
    private static readonly bool s_prefetch = Environment.GetEnvironmentVariable("CT_PF") == "1";

    private readonly int[] _boxRule;
    private readonly ulong[] _nodes;
    private readonly BoxRange<TLanes>[] _leafEntries;
    private readonly ulong[] _roots;

    private CutTreeTable(int[] boxRule, ulong[] nodes, BoxRange<TLanes>[] leafEntries, ulong[] roots)
    {
        _boxRule = boxRule;
        _nodes = nodes;
        _leafEntries = leafEntries;
        _roots = roots;
    }

    /// <summary>Number of trees a lookup may visit.</summary>
    public int TreeCount => _roots.Length;

    /// <summary>Approximate bytes held by the lookup arrays.</summary>
    public long MemoryBytes =>
        ((long)_leafEntries.Length * Unsafe.SizeOf<BoxRange<TLanes>>()) + (_boxRule.Length * 4L) + (_nodes.Length * 8L);

    public static CutTreeTable<TLanes> Build(ClassifierBoxes input)
    {
        int laneCount = TLanes.Count;
        if (input.LaneCount != laneCount)
        {
            throw new ArgumentException("lane count mismatch", nameof(input));
        }
        int n = input.Count;
        var boxes = new BoxRange<TLanes>[n];
        var boxRule = new int[n];
        for (int b = 0; b < n; b++)
        {
            Span<ushort> lo = MemoryMarshal.Cast<TLanes, ushort>(new Span<TLanes>(ref boxes[b].Lo));
            Span<ushort> span = MemoryMarshal.Cast<TLanes, ushort>(new Span<TLanes>(ref boxes[b].Span));
            for (int l = 0; l < laneCount; l++)
            {
                lo[l] = input.Lo(b, l);
                span[l] = (ushort)(input.Hi(b, l) - input.Lo(b, l));
            }
            TLanes.SetTag(ref boxes[b].Lo, ref boxes[b].Span, b);
            boxRule[b] = input.Rule(b);
        }

        var builder = new CutTreeBuilder(input.LaneBits, input.LoArray(), input.HiArray());
        var partitionBoxes = new SortedDictionary<int, List<int>>();
        var partitionOrder = new List<int>();
        for (int b = 0; b < n; b++)
        {
            int p = input.Partition(b);
            if (!partitionBoxes.TryGetValue(p, out List<int>? list))
            {
                list = [];
                partitionBoxes.Add(p, list);
                partitionOrder.Add(p);
            }
            list.Add(b);
        }
        var trees = new List<(ulong Root, int FirstBox)>();
        foreach (int partition in partitionOrder)
        {
            builder.BuildTrees([.. partitionBoxes[partition]], trees);
        }
        // Ordered by first box (distinct across trees), so a lookup can stop at the first tree it cannot improve on.
        trees.Sort((a, b) => a.FirstBox.CompareTo(b.FirstBox));
        var roots = new ulong[trees.Count];
        for (int i = 0; i < roots.Length; i++)
        {
            roots[i] = trees[i].Root;
        }

        int[] items = builder.LeafItems();
        var entries = new BoxRange<TLanes>[items.Length];
        for (int i = 0; i < items.Length; i++)
        {
            if (items[i] >= 0)
            {
                entries[i] = boxes[items[i]];
            }
            else
            {
                TLanes.SetTag(ref entries[i].Lo, ref entries[i].Span, ~items[i]); // header of a long leaf: its length
            }
        }
        return new CutTreeTable<TLanes>(boxRule, builder.Nodes(), entries, roots);
    }

    /// <summary>A hash of the whole lookup structure, for determinism tests.</summary>
    internal ulong Fingerprint()
    {
        ulong h = 14695981039346656037UL;
        void Mix(ulong x) => h = (h ^ x) * 1099511628211UL;
        foreach (ulong r in _roots)
        {
            Mix(r);
        }
        foreach (ulong r in _nodes)
        {
            Mix(r);
        }
        foreach (BoxRange<TLanes> e in _leafEntries)
        {
            foreach (ushort v in MemoryMarshal.Cast<BoxRange<TLanes>, ushort>(new ReadOnlySpan<BoxRange<TLanes>>(in e)))
            {
                Mix(v);
            }
        }
        foreach (int r in _boxRule)
        {
            Mix((ulong)r);
        }
        return h;
    }

    /// <summary>Rule index of the best box containing <paramref name="key"/>, or -1.</summary>
    public int Classify(in TLanes key)
    {
        ReadOnlySpan<ushort> lanes = MemoryMarshal.Cast<TLanes, ushort>(new ReadOnlySpan<TLanes>(in key));
        ulong[] nodes = _nodes;
        ulong[] roots = _roots;
        int best = int.MaxValue;
        for (int t = 0; t < roots.Length; t++)
        {
            ulong r = roots[t];
            if (CutTreeRef.MinBox(r) >= best)
            {
                break; // trees are ordered by their best box
            }
            while ((r & 1) != 0)
            {
                r = nodes[ChildSlot(r, lanes)];
                if (CutTreeRef.MinBox(r) >= best)
                {
                    r = 0;
                }
            }
            best = ScanLeaf(r, in key, best);
        }
        return best == int.MaxValue ? -1 : _boxRule[best];
    }

    /// <summary>Classifies up to <see cref="GroupSize"/> keys at once. Each tree is descended by all keys in
    /// lock step, so the node loads of different keys are independent and overlap in the memory system.</summary>
    public void ClassifyGroup(ReadOnlySpan<TLanes> keys, Span<int> results)
    {
        int count = keys.Length;
        if (count > GroupSize)
        {
            ThrowGroupTooLarge();
        }
        results = results[..count];
        ReadOnlySpan<ushort> lanes = MemoryMarshal.Cast<TLanes, ushort>(keys);
        int laneCount = TLanes.Count;
        ulong[] nodes = _nodes;
        ulong[] roots = _roots;
        Span<ulong> refs = stackalloc ulong[32];
        Span<int> best = stackalloc int[32];
        best.Fill(int.MaxValue);
        for (int t = 0; t < roots.Length; t++)
        {
            ulong root = roots[t];
            int rootMin = CutTreeRef.MinBox(root);
            ulong pending = 0;
            for (int g = 0; g < count; g++)
            {
                ulong r = rootMin < best[g] ? root : 0;
                refs[g] = r;
                pending |= r;
            }
            if (pending == 0)
            {
                break; // trees are ordered by their best box: no key needs this one or any later one
            }
            if (s_branchless)
            {
                while ((pending & 1) != 0)
                {
                    pending = 0;
                    for (int g = 0; g < count; g++)
                    {
                        ulong r = refs[g];
                        bool inner = (r & 1) != 0;
                        int lane = Math.Min((int)(r >> 9) & 31, laneCount - 1);
                        uint v = lanes[(g * laneCount) + lane];
                        uint mask = (2u << (int)((r >> 1) & 15)) - 1;
                        int slot = CutTreeRef.Offset(r) + (int)((v >> (int)((r >> 5) & 15)) & mask);
                        slot = inner ? slot : 0;
                        ulong next = nodes[slot];
                        next = CutTreeRef.MinBox(next) >= best[g] ? 0 : next;
                        r = inner ? next : r;
                        refs[g] = r;
                        pending |= r;
                    }
                }
            }
            else
            {
            while ((pending & 1) != 0)
            {
                pending = 0;
                for (int g = 0; g < count; g++)
                {
                    ulong r = refs[g];
                    if ((r & 1) != 0)
                    {
                        r = nodes[ChildSlot(r, lanes.Slice(g * laneCount, laneCount))];
                        if (CutTreeRef.MinBox(r) >= best[g])
                        {
                            r = 0;
                        }
                        refs[g] = r;
                        pending |= r;
                    }
                }
            }
            }
            if (s_prefetch)
            {
                BoxRange<TLanes>[] entries = _leafEntries;
                for (int g = 0; g < count; g++)
                {
                    int o = CutTreeRef.Offset(refs[g]);
                    if ((uint)o < (uint)entries.Length)
                    {
                        unsafe
                        {
                            System.Runtime.Intrinsics.X86.Sse.Prefetch0(Unsafe.AsPointer(ref entries[o]));
                        }
                    }
                }
            }
            for (int g = 0; g < count; g++)
            {
                best[g] = ScanLeaf(refs[g], in keys[g], best[g]);
            }
        }
        int[] boxRule = _boxRule;
        for (int g = 0; g < count; g++)
        {
            results[g] = best[g] == int.MaxValue ? -1 : boxRule[best[g]];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int ChildSlot(ulong r, ReadOnlySpan<ushort> lanes)
    {
        uint v = lanes[(int)(r >> 9) & 31];
        uint mask = (2u << (int)((r >> 1) & 15)) - 1;
        return CutTreeRef.Offset(r) + (int)((v >> (int)((r >> 5) & 15)) & mask);
    }

    /// <summary>First box of leaf <paramref name="r"/> containing the key that beats <paramref name="best"/>,
    /// else <paramref name="best"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int ScanLeaf(ulong r, in TLanes key, int best)
    {
        BoxRange<TLanes>[] entries = _leafEntries;
        int i = CutTreeRef.Offset(r);
        int count = (int)(r >> 1) & CutTreeRef.LeafCountEscape;
        if (count == CutTreeRef.LeafCountEscape)
        {
            count = TLanes.GetTag(in entries[i].Lo, in entries[i].Span);
            i++;
        }
        for (int end = i + count; i < end; i++)
        {
            ref BoxRange<TLanes> entry = ref entries[i];
            int b = TLanes.GetTag(in entry.Lo, in entry.Span);
            if (b >= best)
            {
                break;
            }
            if (TLanes.InRange(in key, in entry.Lo, in entry.Span))
            {
                return b;
            }
        }
        return best;
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowGroupTooLarge() => throw new ArgumentException("too many keys for one group");

    internal string Path(in TLanes key, int tree)
    {
        ReadOnlySpan<ushort> lanes = MemoryMarshal.Cast<TLanes, ushort>(new ReadOnlySpan<TLanes>(in key));
        var sb = new System.Text.StringBuilder();
        ulong r = _roots[tree];
        while ((r & 1) != 0)
        {
            sb.Append($"L{(r >> 9) & 31}s{(r >> 5) & 15}k{((r >> 1) & 15) + 1} ");
            r = _nodes[ChildSlot(r, lanes)];
        }
        sb.Append($"leaf{(r >> 1) & 0x1FFF}");
        return sb.ToString();
    }

    /// <summary>Diagnostics: adds node steps to stats[0], scanned boxes to stats[1], trees to stats[2], per tree at 3 + 3t.</summary>
    internal void Probe(in TLanes key, Span<long> stats)
    {
        ReadOnlySpan<ushort> lanes = MemoryMarshal.Cast<TLanes, ushort>(new ReadOnlySpan<TLanes>(in key));
        int best = int.MaxValue;
        for (int t = 0; t < _roots.Length; t++)
        {
            ulong r = _roots[t];
            if (CutTreeRef.MinBox(r) >= best)
            {
                break;
            }
            stats[2]++;
            stats[5 + (3 * t)]++;
            while ((r & 1) != 0)
            {
                stats[0]++;
                stats[3 + (3 * t)]++;
                r = _nodes[ChildSlot(r, lanes)];
                if (CutTreeRef.MinBox(r) >= best)
                {
                    r = 0;
                }
            }
            int i = CutTreeRef.Offset(r);
            int count = (int)(r >> 1) & CutTreeRef.LeafCountEscape;
            for (int end = i + count; i < end; i++)
            {
                int b = TLanes.GetTag(in _leafEntries[i].Lo, in _leafEntries[i].Span);
                if (b >= best)
                {
                    break;
                }
                stats[1]++;
                stats[4 + (3 * t)]++;
                if (TLanes.InRange(in key, in _leafEntries[i].Lo, in _leafEntries[i].Span))
                {
                    stats[16 + t]++;
                    best = b;
                    break;
                }
            }
        }
    }
}
