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
