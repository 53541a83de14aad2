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
    /// <summary>Keys classified together by <see cref="ClassifyQuad"/>.</summary>
    public const int QuadSize = 4;

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

    /// <summary>Classifies four keys (the first four of <paramref name="keys"/>) with their tree walks
    /// interleaved, so the dependent loads of different keys overlap in the memory system.</summary>
    public void ClassifyQuad(ReadOnlySpan<TLanes> keys, Span<int> results)
    {
        int laneCount = TLanes.Count;
        keys = keys[..QuadSize];
        results = results[..QuadSize];
        ReadOnlySpan<ushort> all = MemoryMarshal.Cast<TLanes, ushort>(keys);
        ReadOnlySpan<ushort> l0 = all[..laneCount];
        ReadOnlySpan<ushort> l1 = all.Slice(laneCount, laneCount);
        ReadOnlySpan<ushort> l2 = all.Slice(2 * laneCount, laneCount);
        ReadOnlySpan<ushort> l3 = all.Slice(3 * laneCount, laneCount);
        ulong[] nodes = _nodes;
        ulong[] roots = _roots;
        int b0 = int.MaxValue, b1 = int.MaxValue, b2 = int.MaxValue, b3 = int.MaxValue;
        for (int t = 0; t < roots.Length; t++)
        {
            ulong root = roots[t];
            int min = CutTreeRef.MinBox(root);
            ulong r0 = min < b0 ? root : 0;
            ulong r1 = min < b1 ? root : 0;
            ulong r2 = min < b2 ? root : 0;
            ulong r3 = min < b3 ? root : 0;
            if ((r0 | r1 | r2 | r3) == 0)
            {
                break;
            }
            while (((r0 | r1 | r2 | r3) & 1) != 0)
            {
                if ((r0 & 1) != 0)
                {
                    r0 = nodes[ChildSlot(r0, l0)];
                    r0 = CutTreeRef.MinBox(r0) >= b0 ? 0 : r0;
                }
                if ((r1 & 1) != 0)
                {
                    r1 = nodes[ChildSlot(r1, l1)];
                    r1 = CutTreeRef.MinBox(r1) >= b1 ? 0 : r1;
                }
                if ((r2 & 1) != 0)
                {
                    r2 = nodes[ChildSlot(r2, l2)];
                    r2 = CutTreeRef.MinBox(r2) >= b2 ? 0 : r2;
                }
                if ((r3 & 1) != 0)
                {
                    r3 = nodes[ChildSlot(r3, l3)];
                    r3 = CutTreeRef.MinBox(r3) >= b3 ? 0 : r3;
                }
            }
            b0 = ScanLeaf(r0, in keys[0], b0);
            b1 = ScanLeaf(r1, in keys[1], b1);
            b2 = ScanLeaf(r2, in keys[2], b2);
            b3 = ScanLeaf(r3, in keys[3], b3);
        }
        int[] boxRule = _boxRule;
        results[0] = b0 == int.MaxValue ? -1 : boxRule[b0];
        results[1] = b1 == int.MaxValue ? -1 : boxRule[b1];
        results[2] = b2 == int.MaxValue ? -1 : boxRule[b2];
        results[3] = b3 == int.MaxValue ? -1 : boxRule[b3];
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
}
