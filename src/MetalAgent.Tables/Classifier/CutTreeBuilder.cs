namespace MetalAgent.Tables.Classifier;

/// <summary>Builds the cut trees of a <see cref="CutTreeTable{TLanes}"/>. A node owns a region that is an
/// aligned power-of-two block in every lane; it drops boxes that a better box covers inside the region,
/// becomes a leaf when few boxes remain, and otherwise cuts one lane into 2^k equal children, choosing the
/// lane and k (bounded by a space factor, as in HiCuts) that minimise the largest child. Identical leaves
/// are shared, and so are sibling subtrees whose boxes look the same relative to their regions.
/// Deterministic: dictionaries are only probed, never enumerated.</summary>
internal sealed class CutTreeBuilder
{
    private const int LeafSize = 8;
    private const int SpaceFactor = 4;
    private const int MaxCutBits = 16;
    private const int PruneWindow = 16;
    private const int MaxDepth = 40;

    private readonly int _lanes;
    private readonly ushort[] _lo;
    private readonly ushort[] _hi;
    private readonly List<ulong> _nodes = [];
    private readonly List<int> _leafBoxes = [];
    private readonly Dictionary<SequenceKey, ulong> _leafCache = [];

    public CutTreeBuilder(int lanes, ushort[] lo, ushort[] hi)
    {
        _lanes = lanes;
        _lo = lo;
        _hi = hi;
    }

    public ulong[] Nodes() => [.. _nodes];

    public int[] LeafBoxes() => [.. _leafBoxes];

    /// <summary>Builds a tree over <paramref name="boxes"/> (ascending box ids) and returns its root reference.</summary>
    public ulong BuildTree(int[] boxes)
    {
        var regLo = new ushort[_lanes];
        var regBits = new byte[_lanes];
        regBits.AsSpan().Fill(16);
        return BuildNode(boxes, regLo, regBits, 0);
    }

    private ulong BuildNode(int[] boxes, ushort[] regLo, byte[] regBits, int depth)
    {
        int[] kept = Prune(boxes, regLo, regBits);
        if (kept.Length <= LeafSize || depth >= MaxDepth || !ChooseCut(kept, regLo, regBits, out int lane, out int bits))
        {
            return Leaf(kept);
        }

        int width = regBits[lane];
        int shift = width - bits;
        int childCount = 1 << bits;
        int regionLo = regLo[lane];
        int regionHi = regionLo + (1 << width) - 1;
        var counts = new int[childCount + 1];
        foreach (int b in kept)
        {
            int o = (b * _lanes) + lane;
            int a = (Math.Max(_lo[o], regionLo) - regionLo) >> shift;
            int e = (Math.Min(_hi[o], regionHi) - regionLo) >> shift;
            counts[a]++;
            counts[e + 1]--;
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
        if ((long)firstSlot + childCount > int.MaxValue)
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
        return ((ulong)(uint)firstSlot << 32) | ((ulong)(uint)lane << 24) | ((ulong)(uint)shift << 16) | (uint)(childCount - 1);
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
        long budget = (long)SpaceFactor * n;
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
                long total = 1L << k;
                for (int i = 0; i < n; i++)
                {
                    total += (relHi[i] >> shift) - (relLo[i] >> shift) + 1;
                }
                if (total > budget && k > 1)
                {
                    break;
                }
                bits = k;
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
            int offset = _leafBoxes.Count;
            _leafBoxes.AddRange(boxes);
            leaf = ((ulong)(uint)offset << 32) | ((ulong)(uint)boxes.Length << 1);
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
