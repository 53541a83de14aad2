namespace MetalAgent.Tables.Classifier;

/// <summary>Builds the cut trees of a <see cref="CutTreeTable{TLanes}"/>. A node owns a region that is an
/// aligned power-of-two block in every lane; it drops boxes that a better box covers inside the region,
/// becomes a leaf when few boxes remain, and otherwise cuts one lane into 2^k equal children, choosing the
/// lane and k (bounded by a space factor, as in HiCuts) that minimise the largest child. Identical leaves
/// are shared, and so are sibling subtrees whose boxes look the same relative to their regions.
/// A tree whose construction exceeds a work budget is rebuilt with a smaller space factor, and finally
/// with cuts that never replicate a box, so build time stays bounded for any rule set.
/// Deterministic: dictionaries are only probed, never enumerated.</summary>
internal sealed class CutTreeBuilder
{
    private const int LeafSize = 16;
    private const int SpaceFactor = 4;
    private const int MaxCutBits = 16;
    private const int PruneWindow = 16;
    private const int MaxDepth = 40;
    private const long WorkFloor = 1 << 16;
    private const long WorkPerBox = 256;

    private readonly int _lanes;
    private readonly byte[] _laneBits;
    private readonly ushort[] _lo;
    private readonly ushort[] _hi;
    private readonly List<ulong> _nodes = [];
    private readonly List<int> _leafItems = [];
    private readonly Dictionary<SequenceKey, ulong> _leafCache = [];
    private int _spaceFactor;
    private long _work;
    private long _workLimit;

    public CutTreeBuilder(byte[] laneBits, ushort[] lo, ushort[] hi)
    {
        _lanes = laneBits.Length;
        _laneBits = laneBits;
        _lo = lo;
        _hi = hi;
    }

    /// <summary>Child slots of all internal nodes.</summary>
    public ulong[] Nodes() => [.. _nodes];

    /// <summary>Leaf contents: box ids, and before a leaf longer than the escape count a header item ~count.</summary>
    public int[] LeafItems() => [.. _leafItems];

    /// <summary>Builds trees over <paramref name="boxes"/> (ascending box ids) and adds (root, first box) for
    /// each to <paramref name="roots"/>. Normally one tree; when its construction exceeds the work budget (boxes
    /// wide in different lanes replicate into each other's cuts), the boxes are split by the lane that
    /// separates wide from narrow ones most evenly and each half gets its own trees, as in EffiCuts.</summary>
    public void BuildTrees(int[] boxes, List<(ulong Root, int FirstBox)> roots)
    {
        long limit = Math.Max(WorkFloor, WorkPerBox * boxes.Length);
        if (TryBuildTree(boxes, SpaceFactor, limit, out ulong root))
        {
            roots.Add((root, boxes[0]));
            return;
        }
        if (TrySplit(boxes, out int[] narrow, out int[] wide))
        {
            BuildTrees(narrow, roots);
            BuildTrees(wide, roots);
            return;
        }
        // Boxes alike in every lane: cuts that never replicate a box take O(boxes x depth) work.
        TryBuildTree(boxes, 0, long.MaxValue, out root);
        roots.Add((root, boxes[0]));
    }

    private bool TryBuildTree(int[] boxes, int spaceFactor, long workLimit, out ulong root)
    {
        int nodeCount = _nodes.Count;
        int leafCount = _leafItems.Count;
        _leafCache.Clear(); // leaves are shared within a tree only, so a failed attempt leaves no stale entries
        _spaceFactor = spaceFactor;
        _work = 0;
        _workLimit = workLimit;
        root = BuildNode(boxes, new ushort[_lanes], (byte[])_laneBits.Clone(), 0);
        if (_work <= _workLimit)
        {
            return true;
        }
        _nodes.RemoveRange(nodeCount, _nodes.Count - nodeCount);
        _leafItems.RemoveRange(leafCount, _leafItems.Count - leafCount);
        return false;
    }

    /// <summary>Splits the boxes into those narrow and those wide (covering at least 1/16 of the domain) in the
    /// lane where the two groups are closest in size; false when no lane yields two non-empty groups.</summary>
    private bool TrySplit(int[] boxes, out int[] narrow, out int[] wide)
    {
        int bestLane = -1;
        int bestImbalance = int.MaxValue;
        for (int lane = 0; lane < _lanes; lane++)
        {
            if (_laneBits[lane] == 0)
            {
                continue;
            }
            int wideCount = 0;
            foreach (int b in boxes)
            {
                wideCount += IsWide(b, lane) ? 1 : 0;
            }
            int imbalance = Math.Abs(boxes.Length - (2 * wideCount));
            if (wideCount > 0 && wideCount < boxes.Length && imbalance < bestImbalance)
            {
                bestImbalance = imbalance;
                bestLane = lane;
            }
        }
        var narrowList = new List<int>();
        var wideList = new List<int>();
        if (bestLane >= 0)
        {
            foreach (int b in boxes)
            {
                (IsWide(b, bestLane) ? wideList : narrowList).Add(b);
            }
        }
        narrow = [.. narrowList];
        wide = [.. wideList];
        return bestLane >= 0;
    }

    private bool IsWide(int box, int lane)
    {
        int o = (box * _lanes) + lane;
        int domain = 1 << _laneBits[lane];
        return (Math.Min((int)_hi[o], domain - 1) - _lo[o] + 1) * 16 >= domain;
    }

    private ulong BuildNode(int[] boxes, ushort[] regLo, byte[] regBits, int depth)
    {
        _work += boxes.Length;
        if (_work > _workLimit)
        {
            return 0; // over budget: unwind; BuildTree retries more conservatively
        }
        int[] kept = Prune(boxes, regLo, regBits);
        if (kept.Length <= LeafSize || depth >= MaxDepth || !ChooseCut(kept, regLo, regBits, out int lane, out int bits))
        {
            return Leaf(kept);
        }

        int width = regBits[lane];
        int shift = width - bits;
        int childCount = 1 << bits;
        _work += childCount;
        int regionLo = regLo[lane];
        int regionHi = regionLo + (1 << width) - 1;
        var counts = new int[childCount + 1];
        foreach (int b in kept)
        {
            int o = (b * _lanes) + lane;
            counts[(Math.Max(_lo[o], regionLo) - regionLo) >> shift]++;
            counts[((Math.Min(_hi[o], regionHi) - regionLo) >> shift) + 1]--;
        }
        // Lists per child keep the ascending box order.
        var lists = new int[childCount][];
        int running = 0;
        for (int c = 0; c < childCount; c++)
        {
            running += counts[c];
            lists[c] = running == 0 ? [] : new int[running];
        }
        var fill = new int[childCount];
        foreach (int b in kept)
        {
            int o = (b * _lanes) + lane;
            int a = (Math.Max(_lo[o], regionLo) - regionLo) >> shift;
            int e = (Math.Min(_hi[o], regionHi) - regionLo) >> shift;
            for (int c = a; c <= e; c++)
            {
                lists[c][fill[c]++] = b;
            }
        }

        int firstSlot = _nodes.Count;
        if ((long)firstSlot + childCount > CutTreeRef.MaxOffset)
        {
            throw new InvalidOperationException("classifier too large");
        }
        for (int c = 0; c < childCount; c++)
        {
            _nodes.Add(0);
        }
        var siblings = new Dictionary<SequenceKey, ulong>();
        var childLo = (ushort[])regLo.Clone();
        var childBits = (byte[])regBits.Clone();
        childBits[lane] = (byte)shift;
        int childSize = 1 << shift;
        for (int c = 0; c < childCount; c++)
        {
            int[] list = lists[c];
            if (list.Length == 0)
            {
                continue; // slot stays 0: the empty leaf
            }
            int lo = regionLo + (c << shift);
            // Two siblings whose boxes are clipped identically relative to their regions build the same subtree.
            var keyItems = new int[list.Length * 3];
            for (int i = 0; i < list.Length; i++)
            {
                int o = (list[i] * _lanes) + lane;
                keyItems[3 * i] = list[i];
                keyItems[(3 * i) + 1] = Math.Max(_lo[o], lo) - lo;
                keyItems[(3 * i) + 2] = Math.Min(_hi[o], lo + childSize - 1) - lo;
            }
            var key = new SequenceKey(keyItems);
            if (!siblings.TryGetValue(key, out ulong child))
            {
                childLo[lane] = (ushort)lo;
                child = BuildNode(list, childLo, childBits, depth + 1);
                siblings.Add(key, child);
            }
            _nodes[firstSlot + c] = child;
        }
        return CutTreeRef.Internal(firstSlot, lane, shift, bits, kept[0]);
    }

    /// <summary>Keeps, in order, the boxes not covered inside the region by an earlier kept box (checked against
    /// the first few kept boxes), and stops after the first box that covers the whole region.</summary>
    private int[] Prune(int[] boxes, ushort[] regLo, byte[] regBits)
    {
        int lanes = _lanes;
        Span<int> regHi = stackalloc int[lanes];
        for (int l = 0; l < lanes; l++)
        {
            regHi[l] = regLo[l] + (1 << regBits[l]) - 1;
        }
        var kept = new List<int>(boxes.Length);
        foreach (int b in boxes)
        {
            int bo = b * lanes;
            bool coversRegion = true;
            for (int l = 0; l < lanes; l++)
            {
                if (_lo[bo + l] > regLo[l] || _hi[bo + l] < regHi[l])
                {
                    coversRegion = false;
                    break;
                }
            }
            bool covered = false;
            int window = Math.Min(kept.Count, PruneWindow);
            for (int j = 0; j < window && !covered; j++)
            {
                int ko = kept[j] * lanes;
                covered = true;
                for (int l = 0; l < lanes; l++)
                {
                    int clo = Math.Max(_lo[bo + l], regLo[l]);
                    int chi = Math.Min(_hi[bo + l], regHi[l]);
                    if (_lo[ko + l] > clo || _hi[ko + l] < chi)
                    {
                        covered = false;
                        break;
                    }
                }
            }
            if (!covered)
            {
                kept.Add(b);
            }
            if (coversRegion)
            {
                break;
            }
        }
        return [.. kept];
    }

    private bool ChooseCut(int[] kept, ushort[] regLo, byte[] regBits, out int bestLane, out int bestBits)
    {
        int n = kept.Length;
        bool noReplication = _spaceFactor == 0;
        long budget = noReplication ? (2L * n) + 16 : (long)_spaceFactor * n;
        var relLo = new int[n];
        var relHi = new int[n];
        bestLane = -1;
        bestBits = 0;
        long bestMax = long.MaxValue;
        long bestTotal = long.MaxValue;
        for (int lane = 0; lane < _lanes; lane++)
        {
            int width = regBits[lane];
            if (width == 0)
            {
                continue;
            }
            int regionLo = regLo[lane];
            int full = (1 << width) - 1;
            bool useful = false;
            for (int i = 0; i < n; i++)
            {
                int o = (kept[i] * _lanes) + lane;
                relLo[i] = Math.Max(_lo[o], regionLo) - regionLo;
                relHi[i] = Math.Min(_hi[o], regionLo + full) - regionLo;
                useful |= relLo[i] != 0 || relHi[i] != full;
            }
            if (!useful)
            {
                continue;
            }
            int bits = 0;
            int maxBits = Math.Min(width, MaxCutBits);
            for (int k = 1; k <= maxBits; k++)
            {
                int shift = width - k;
                long entries = 0;
                for (int i = 0; i < n; i++)
                {
                    entries += (relHi[i] >> shift) - (relLo[i] >> shift) + 1;
                }
                if (noReplication ? entries != n || (1L << k) > budget : entries + (1L << k) > budget && k > 1)
                {
                    break;
                }
                bits = k;
            }
            if (bits == 0)
            {
                continue;
            }
            int s = width - bits;
            var counts = new int[(1 << bits) + 1];
            long sum = 0;
            for (int i = 0; i < n; i++)
            {
                int a = relLo[i] >> s;
                int e = relHi[i] >> s;
                counts[a]++;
                counts[e + 1]--;
                sum += e - a + 1;
            }
            long max = 0;
            long running = 0;
            for (int c = 0; c < (1 << bits); c++)
            {
                running += counts[c];
                max = Math.Max(max, running);
            }
            if (max < bestMax || (max == bestMax && sum < bestTotal))
            {
                bestMax = max;
                bestTotal = sum;
                bestLane = lane;
                bestBits = bits;
            }
        }
        return bestLane >= 0 && bestMax < n;
    }

    private ulong Leaf(int[] boxes)
    {
        if (boxes.Length == 0)
        {
            return 0;
        }
        var key = new SequenceKey(boxes);
        if (!_leafCache.TryGetValue(key, out ulong leaf))
        {
            if (boxes.Length >= CutTreeRef.LeafCountEscape)
            {
                _leafItems.Add(~boxes.Length);
            }
            int offset = _leafItems.Count;
            if ((long)offset + boxes.Length > CutTreeRef.MaxOffset)
            {
                throw new InvalidOperationException("classifier too large");
            }
            _leafItems.AddRange(boxes);
            // An escaped leaf points at its header item.
            leaf = CutTreeRef.Leaf(boxes.Length >= CutTreeRef.LeafCountEscape ? offset - 1 : offset, boxes.Length, boxes[0]);
            _leafCache.Add(key, leaf);
        }
        return leaf;
    }

    /// <summary>An int sequence compared by content, with a deterministic hash.</summary>
    private sealed class SequenceKey : IEquatable<SequenceKey>
    {
        private readonly int[] _items;
        private readonly int _hash;

        public SequenceKey(int[] items)
        {
            _items = items;
            uint h = 2166136261;
            foreach (int x in items)
            {
                h = (h ^ (uint)x) * 16777619;
            }
            _hash = (int)h;
        }

        public bool Equals(SequenceKey? other) => other is not null && _items.AsSpan().SequenceEqual(other._items);

        public override bool Equals(object? obj) => Equals(obj as SequenceKey);

        public override int GetHashCode() => _hash;
    }
}
