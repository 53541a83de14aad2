using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace MetalAgent.Tables.Classifier;

/// <summary>One lane-range box with its lower corner and per-lane extent (hi - lo), stored by box id.</summary>
internal struct BoxRange<TLanes>
    where TLanes : unmanaged, IClassifierLanes<TLanes>
{
    public TLanes Lo;
    public TLanes Span;
}

/// <summary>The compiled classifier shared by both address families: boxes are split into partitions by
/// which address fields are narrow (as in EffiCuts/CutSplit), each partition gets a decision tree of
/// multi-bit cuts on one 16-bit lane per node, and leaves list at most a few boxes in priority order that
/// are checked with one SIMD range test each. Immutable; safe for concurrent readers.</summary>
internal sealed class CutTreeTable<TLanes>
    where TLanes : unmanaged, IClassifierLanes<TLanes>
{
    // Node reference (ulong): internal when bit 0 is set: bits 0..15 child index mask, 16..23 shift,
    // 24..31 lane, 32..63 first child slot in _nodes. Leaf otherwise: bits 1..31 box count, 32..63 offset in _leafBoxes.
    private readonly BoxRange<TLanes>[] _boxes;
    private readonly int[] _boxRule;
    private readonly ulong[] _nodes;
    private readonly int[] _leafBoxes;
    private readonly ulong[] _roots;
    private readonly int[] _rootFirstBox;

    private CutTreeTable(BoxRange<TLanes>[] boxes, int[] boxRule, ulong[] nodes, int[] leafBoxes, ulong[] roots, int[] rootFirstBox)
    {
        _boxes = boxes;
        _boxRule = boxRule;
        _nodes = nodes;
        _leafBoxes = leafBoxes;
        _roots = roots;
        _rootFirstBox = rootFirstBox;
    }

    /// <summary>Number of trees searched per lookup at most.</summary>
    public int TreeCount => _roots.Length;

    /// <summary>Child slots of all internal nodes.</summary>
    public int NodeSlots => _nodes.Length;

    /// <summary>Box ids stored in all (deduplicated) leaves.</summary>
    public int LeafEntries => _leafBoxes.Length;

    /// <summary>Boxes the rules turned into.</summary>
    public int BoxCount => _boxes.Length;

    /// <summary>Approximate bytes held by the lookup arrays.</summary>
    public long MemoryBytes =>
        ((long)_boxes.Length * Unsafe.SizeOf<BoxRange<TLanes>>()) + (_boxRule.Length * 4L) + (_nodes.Length * 8L) + (_leafBoxes.Length * 4L);

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
            boxRule[b] = input.Rule(b);
        }

        var builder = new CutTreeBuilder(laneCount, input.LoArray(), input.HiArray());
        // Partitions in order of their first (best) box, so a lookup can stop once its match beats the next one.
        var partitionBoxes = new SortedDictionary<int, List<int>>();
        var firstBoxOfPartition = new List<(int FirstBox, int Partition)>();
        for (int b = 0; b < n; b++)
        {
            int p = input.Partition(b);
            if (!partitionBoxes.TryGetValue(p, out List<int>? list))
            {
                list = [];
                partitionBoxes.Add(p, list);
                firstBoxOfPartition.Add((b, p));
            }
            list.Add(b);
        }
        var roots = new ulong[firstBoxOfPartition.Count];
        var rootFirstBox = new int[firstBoxOfPartition.Count];
        for (int i = 0; i < roots.Length; i++)
        {
            (int firstBox, int partition) = firstBoxOfPartition[i];
            roots[i] = builder.BuildTree([.. partitionBoxes[partition]]);
            rootFirstBox[i] = firstBox;
        }
        return new CutTreeTable<TLanes>(boxes, boxRule, builder.Nodes(), builder.LeafBoxes(), roots, rootFirstBox);
    }

    /// <summary>Rule index of the best box containing <paramref name="key"/>, or -1.</summary>
    public int Classify(in TLanes key)
    {
        ReadOnlySpan<ushort> lanes = MemoryMarshal.Cast<TLanes, ushort>(new ReadOnlySpan<TLanes>(in key));
        ulong[] nodes = _nodes;
        int[] leafBoxes = _leafBoxes;
        BoxRange<TLanes>[] boxes = _boxes;
        ulong[] roots = _roots;
        int[] rootFirstBox = _rootFirstBox;
        int best = int.MaxValue;
        for (int t = 0; t < roots.Length; t++)
        {
            if (rootFirstBox[t] >= best)
            {
                break;
            }
            ulong r = roots[t];
            while ((r & 1) != 0)
            {
                uint v = lanes[(int)((uint)r >> 24)];
                r = nodes[(int)(r >> 32) + (int)((v >> (int)((r >> 16) & 0xFF)) & (uint)(r & 0xFFFF))];
            }
            int offset = (int)(r >> 32);
            int end = offset + (int)((uint)r >> 1);
            for (int i = offset; i < end; i++)
            {
                int b = leafBoxes[i];
                if (b >= best)
                {
                    break;
                }
                ref BoxRange<TLanes> box = ref boxes[b];
                if (TLanes.InRange(in key, in box.Lo, in box.Span))
                {
                    best = b;
                    break;
                }
            }
        }
        return best == int.MaxValue ? -1 : _boxRule[best];
    }
}
