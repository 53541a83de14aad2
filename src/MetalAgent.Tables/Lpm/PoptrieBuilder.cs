namespace MetalAgent.Tables.Lpm;

/// <summary>Builds the arrays of a Poptrie (direct-pointing directory, 64-way nodes, compressed
/// leaves) from sorted routes. Shared by <see cref="Lpm4Table"/> and <see cref="Lpm6Table"/>.</summary>
/// <remarks>
/// Keys are left-aligned in a <see cref="UInt128"/> (an IPv4 address occupies the top 32 bits),
/// so one builder serves both families; key bits beyond the address width read as zero, exactly as
/// the lookups see them. The input must be sorted by (prefix, length) without duplicates: then a
/// covering route always precedes the routes it covers, painting routes in input order yields the
/// longest match, and the routes below one child form a contiguous run. Everything is driven by that
/// order, so equal route sets give identical arrays.
/// </remarks>
internal sealed class PoptrieBuilder
{
    public const int Stride = 6;

    /// <summary>Longest path a skip node may collapse.</summary>
    public const int MaxSkipBits = 60;

    /// <summary>Directory entry flag: the entry is a leaf, not a node index.</summary>
    public const uint LeafFlag = 0x8000_0000;

    private readonly UInt128[] _prefixes;
    private readonly byte[] _lengths;
    private readonly uint[] _values;
    private readonly List<PoptrieNode> _nodes = [];
    private readonly List<uint> _leaves = [];

    private PoptrieBuilder(UInt128[] prefixes, byte[] lengths, uint[] values)
    {
        _prefixes = prefixes;
        _lengths = lengths;
        _values = values;
    }

    /// <summary>Encodes a leaf value (at most 0x7FFF_FFFE, or <see cref="uint.MaxValue"/> for no
    /// route) as a directory entry; <see cref="DecodeLeaf"/> undoes it without a branch.</summary>
    public static uint EncodeLeaf(uint value) => LeafFlag | ((value + 1) & 0x7FFF_FFFF);

    public static uint DecodeLeaf(uint entry) => (entry & 0x7FFF_FFFF) - 1;

    public static void Build(UInt128[] prefixes, byte[] lengths, uint[] values, int directoryBits,
        out uint[] directory, out PoptrieNode[] nodes, out uint[] leaves)
    {
        var builder = new PoptrieBuilder(prefixes, lengths, values);
        directory = builder.BuildDirectory(directoryBits);
        nodes = [.. builder._nodes];
        leaves = [.. builder._leaves];
    }

    private uint[] BuildDirectory(int bits)
    {
        int size = 1 << bits;
        int dropBits = 128 - bits;
        // Paint leaf entries straight into the directory (it may be 64 MiB; no second array).
        var directory = new uint[size];
        Array.Fill(directory, EncodeLeaf(uint.MaxValue));
        for (int r = 0; r < _prefixes.Length; r++)
        {
            int length = _lengths[r];
            if (length <= bits)
            {
                int start = (int)(_prefixes[r] >> dropBits);
                directory.AsSpan(start, 1 << (bits - length)).Fill(EncodeLeaf(_values[r]));
            }
        }

        int next = 0;
        while (next < _prefixes.Length)
        {
            if (_lengths[next] <= bits)
            {
                next++;
                continue;
            }
            int index = (int)(_prefixes[next] >> dropBits);
            int end = next + 1;
            while (end < _prefixes.Length && (int)(_prefixes[end] >> dropBits) == index)
            {
                end++;
            }
            int node = _nodes.Count;
            _nodes.Add(default);
            uint inherited = DecodeLeaf(directory[index]);
            directory[index] = (uint)node;
            BuildNode(node, bits, next, end, inherited);
            next = end;
        }
        return directory;
    }

    /// <summary>Fills node <paramref name="nodeIndex"/>, which consumes key bits
    /// [<paramref name="offset"/>, offset + 6), from the routes in [<paramref name="first"/>,
    /// <paramref name="end"/>) (all below the node, some possibly no longer than the node's own
    /// prefix); <paramref name="inherited"/> is the longest match of the node's prefix.</summary>
    private void BuildNode(int nodeIndex, int offset, int first, int end, uint inherited)
    {
        // Path compression: while no route ends in the next 6 bits and all deeper routes share
        // them, the node would have one inner child and only inherited leaves; collapse such a
        // chain into one skip node. Chains stop at 64 key bits (IPv6 lookups switch words there)
        // and at 60 bits (the path must fit a shift).
        int chainEnd = offset;
        ulong path = 0;
        while (chainEnd + Stride - offset <= MaxSkipBits
            && !(offset < 64 && chainEnd + Stride > 64)
            && SoleChild(chainEnd, first, end) is int child and >= 0)
        {
            path = (path << Stride) + (ulong)child;
            chainEnd += Stride;
        }
        if (chainEnd > offset)
        {
            int bits = chainEnd - offset;
            int target = _nodes.Count;
            _nodes.Add(default);
            int leaf = _leaves.Count;
            _leaves.Add(inherited);
            _nodes[nodeIndex] = new PoptrieNode
            {
                Vector = path,
                LeafVector = (uint)(bits | (bits / Stride << 8)),
                LeafBase = ~leaf,
                ChildBase = target,
            };
            BuildFullNode(target, chainEnd, first, end, inherited);
            return;
        }
        BuildFullNode(nodeIndex, offset, first, end, inherited);
    }

    /// <summary>The child index (0-63) at key bits [offset, offset + 6) shared by all routes of the
    /// range that are longer than <paramref name="offset"/>, if none of them ends within those 6 bits;
    /// otherwise -1.</summary>
    private int SoleChild(int offset, int first, int end)
    {
        int sole = -1;
        for (int r = first; r < end; r++)
        {
            int length = _lengths[r];
            if (length <= offset)
            {
                continue;
            }
            if (length <= offset + Stride)
            {
                return -1;
            }
            int child = (int)((_prefixes[r] << offset) >> (128 - Stride));
            if (sole >= 0 && child != sole)
            {
                return -1;
            }
            sole = child;
        }
        return sole;
    }

    /// <summary>Fills a regular 64-way node (see <see cref="BuildNode"/>).</summary>
    private void BuildFullNode(int nodeIndex, int offset, int first, int end, uint inherited)
    {
        int limit = offset + Stride;
        Span<uint> paint = stackalloc uint[64];
        paint.Fill(inherited);
        Span<int> groupStart = stackalloc int[64];
        Span<int> groupEnd = stackalloc int[64];
        ulong vector = 0;
        int lastChild = -1;
        for (int r = first; r < end; r++)
        {
            int length = _lengths[r];
            if (length <= offset)
            {
                continue;
            }
            int child = (int)((_prefixes[r] << offset) >> (128 - Stride));
            if (length <= limit)
            {
                paint.Slice(child, 1 << (limit - length)).Fill(_values[r]);
                continue;
            }
            if (child != lastChild)
            {
                vector |= 1UL << child;
                groupStart[child] = r;
                lastChild = child;
            }
            groupEnd[child] = r + 1;
        }

        ulong leafVector = 0;
        int leafBase = _leaves.Count;
        bool previousIsLeaf = false;
        uint previous = 0;
        for (int v = 0; v < 64; v++)
        {
            if ((vector & (1UL << v)) != 0)
            {
                previousIsLeaf = false;
                continue;
            }
            if (!previousIsLeaf || paint[v] != previous)
            {
                leafVector |= 1UL << v;
                _leaves.Add(paint[v]);
            }
            previousIsLeaf = true;
            previous = paint[v];
        }

        int childBase = _nodes.Count;
        int children = System.Numerics.BitOperations.PopCount(vector);
        for (int i = 0; i < children; i++)
        {
            _nodes.Add(default);
        }
        _nodes[nodeIndex] = new PoptrieNode { Vector = vector, LeafVector = leafVector, LeafBase = leafBase, ChildBase = childBase };

        int slot = childBase;
        for (int v = 0; v < 64; v++)
        {
            if ((vector & (1UL << v)) != 0)
            {
                BuildNode(slot++, limit, groupStart[v], groupEnd[v], paint[v]);
            }
        }
    }
}
