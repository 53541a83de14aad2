using System.Diagnostics.CodeAnalysis;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
using MetalAgent.Packets;

namespace MetalAgent.Tables.Lpm;

/// <summary>An immutable IPv4 longest-prefix-match table mapping addresses to next-hop ids.</summary>
/// <remarks>
/// The structure is a Poptrie (Asai and Ohara, SIGCOMM 2015): a direct-pointing directory indexed
/// by the top s address bits, then 64-way nodes whose children are located with popcount, with
/// runs of equal leaves stored once; chains of single-child nodes without routes of their own are
/// collapsed into one skip node (path compression). The directory size adapts to the route count: s = 6, 12 or 18
/// (256 B, 16 KiB, 1 MiB) below <see cref="FullDirectoryRoutes"/> routes, so a thousand small tables
/// stay small; from that size on s = 24 (64 MiB, the DIR-24-8 trade-off), so every prefix up to /24
/// resolves with a single memory access, which dominates lookup time once a table outgrows the caches.
/// Build rules: host bits of a prefix must be zero; identical duplicate routes are merged; two routes
/// with the same prefix and length but different values are rejected. The arrays depend only on the
/// set of routes, never on their order.
/// </remarks>
public sealed class Lpm4Table
{
    /// <summary>Lookup result for an address no route covers.</summary>
    public const uint NoRoute = uint.MaxValue;

    /// <summary>Largest route value (values are stored in 31 bits in the directory).</summary>
    public const uint MaxValue = 0x7FFF_FFFE;

    /// <summary>Route count from which the table uses a 2^24-entry directory (64 MiB).</summary>
    public const int FullDirectoryRoutes = 262_144;

    private const int DirectoryPrefetchDistance = 16;
    private const int NodePrefetchDistance = 8;

    private readonly uint[] _directory;
    private readonly PoptrieNode[] _nodes;
    private readonly uint[] _leaves;
    private readonly Lpm4Route[] _routes;
    private readonly int _directoryShift;
    private readonly int _directoryBits;

    private Lpm4Table(uint[] directory, PoptrieNode[] nodes, uint[] leaves, Lpm4Route[] routes, int directoryBits)
    {
        _directory = directory;
        _nodes = nodes;
        _leaves = leaves;
        _routes = routes;
        _directoryBits = directoryBits;
        _directoryShift = 32 - directoryBits;
    }

    /// <summary>A table without routes.</summary>
    public static Lpm4Table Empty { get; } = Build([]);

    /// <summary>Number of distinct routes.</summary>
    public int RouteCount => _routes.Length;

    /// <summary>The routes, sorted by prefix then length (for dumps and diffs).</summary>
    public ReadOnlySpan<Lpm4Route> Routes => _routes;

    /// <summary>Bytes held by the table's arrays (lengths times element sizes, routes included).</summary>
    public long MemoryBytes =>
        ((long)_directory.Length * sizeof(uint))
        + ((long)_nodes.Length * Unsafe.SizeOf<PoptrieNode>())
        + ((long)_leaves.Length * sizeof(uint))
        + ((long)_routes.Length * Unsafe.SizeOf<Lpm4Route>());

    internal int DirectoryBits => _directoryBits;

    internal uint[] DirectoryArray => _directory;

    internal PoptrieNode[] NodeArray => _nodes;

    internal uint[] LeafArray => _leaves;

    /// <summary>Builds a table; throws <see cref="ArgumentException"/> listing the first invalid or
    /// conflicting route.</summary>
    public static Lpm4Table Build(ReadOnlySpan<Lpm4Route> routes)
    {
        Lpm4Route[] sorted = routes.ToArray();
        foreach (Lpm4Route route in sorted)
        {
            if (route.Length > 32)
            {
                throw new ArgumentException($"IPv4 prefix length {route.Length} > 32 in route {route}", nameof(routes));
            }
            uint mask = route.Length == 0 ? 0 : uint.MaxValue << (32 - route.Length);
            if ((route.Prefix & ~mask) != 0)
            {
                throw new ArgumentException($"host bits set in route {Addresses.FormatIPv4(route.Prefix)}/{route.Length}", nameof(routes));
            }
            if (route.Value > MaxValue)
            {
                throw new ArgumentException($"route value {route.Value} > {MaxValue} in route {route}", nameof(routes));
            }
        }
        // Sort by (prefix, length) through a primitive key: much faster than a comparison delegate.
        var sortKeys = new ulong[sorted.Length];
        for (int i = 0; i < sorted.Length; i++)
        {
            sortKeys[i] = ((ulong)sorted[i].Prefix << 8) | sorted[i].Length;
        }
        Array.Sort(sortKeys, sorted);

        int count = 0;
        for (int i = 0; i < sorted.Length; i++)
        {
            if (count > 0 && sorted[count - 1].Prefix == sorted[i].Prefix && sorted[count - 1].Length == sorted[i].Length)
            {
                if (sorted[count - 1].Value != sorted[i].Value)
                {
                    throw new ArgumentException(
                        $"conflicting routes for {Addresses.FormatIPv4(sorted[i].Prefix)}/{sorted[i].Length}: values {sorted[count - 1].Value} and {sorted[i].Value}",
                        nameof(routes));
                }
                continue;
            }
            sorted[count++] = sorted[i];
        }
        Array.Resize(ref sorted, count);

        var prefixes = new UInt128[count];
        var lengths = new byte[count];
        var values = new uint[count];
        for (int i = 0; i < count; i++)
        {
            prefixes[i] = (UInt128)sorted[i].Prefix << 96;
            lengths[i] = sorted[i].Length;
            values[i] = sorted[i].Value;
        }
        int directoryBits = count >= FullDirectoryRoutes ? 24 : count >= 16_384 ? 18 : count >= 512 ? 12 : 6;
        PoptrieBuilder.Build(prefixes, lengths, values, directoryBits, out uint[] directory, out PoptrieNode[] nodes, out uint[] leaves);
        return new Lpm4Table(directory, nodes, leaves, sorted, directoryBits);
    }

    /// <summary>Appends the routes, sorted by prefix then length.</summary>
    public void CopyRoutes(List<Lpm4Route> destination) => destination.AddRange(_routes);

    /// <summary>The value of the longest route covering <paramref name="address"/>, or <see cref="NoRoute"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint Lookup(uint address)
    {
        uint entry = _directory[address >> _directoryShift];
        return (int)entry < 0 ? PoptrieBuilder.DecodeLeaf(entry) : Walk(entry, (ulong)address << (32 + _directoryBits));
    }

    /// <summary>Looks up many addresses as a software pipeline: while resolving address i it
    /// prefetches the directory entry of address i + 16 and the first node of address i + 8, so
    /// the cache misses of consecutive lookups overlap even when the caller does other work.</summary>
    public unsafe void Lookup(ReadOnlySpan<uint> addresses, Span<uint> results)
    {
        if (results.Length < addresses.Length)
        {
            ThrowResultsTooShort();
        }
        uint[] directory = _directory;
        PoptrieNode[] nodes = _nodes;
        int shift = _directoryShift;
        int keyShift = 32 + _directoryBits;
        int n = addresses.Length;
        for (int i = 0; i < n; i++)
        {
            if (Sse.IsSupported)
            {
                if (i + DirectoryPrefetchDistance < n)
                {
                    Sse.Prefetch0(Unsafe.AsPointer(ref directory[addresses[i + DirectoryPrefetchDistance] >> shift]));
                }
                if (i + NodePrefetchDistance < n)
                {
                    uint ahead = directory[addresses[i + NodePrefetchDistance] >> shift];
                    if ((int)ahead >= 0)
                    {
                        Sse.Prefetch0(Unsafe.AsPointer(ref nodes[ahead]));
                    }
                }
            }
            uint address = addresses[i];
            uint entry = directory[address >> shift];
            results[i] = (int)entry < 0 ? PoptrieBuilder.DecodeLeaf(entry) : Walk(entry, (ulong)address << keyShift);
        }
    }

    /// <summary>Descends from node <paramref name="nodeIndex"/>; the next 6 key bits are the top bits of <paramref name="key"/>.</summary>
    private uint Walk(uint nodeIndex, ulong key)
    {
        PoptrieNode[] nodes = _nodes;
        ref readonly PoptrieNode node = ref nodes[nodeIndex];
        while (true)
        {
            if (node.LeafBase < 0)
            {
                int bits = (byte)node.LeafVector;
                if ((key >> (64 - bits)) != node.Vector)
                {
                    return _leaves[~node.LeafBase];
                }
                key <<= bits;
                node = ref nodes[node.ChildBase];
                continue;
            }
            int v = (int)(key >> 58);
            if ((node.Vector & (1UL << v)) == 0)
            {
                return _leaves[node.LeafBase + BitOperations.PopCount(node.LeafVector & (ulong.MaxValue >> (63 - v))) - 1];
            }
            node = ref nodes[node.ChildBase + BitOperations.PopCount(node.Vector & (ulong.MaxValue >> (63 - v))) - 1];
            key <<= PoptrieBuilder.Stride;
        }
    }

    [DoesNotReturn]
    private static void ThrowResultsTooShort() =>
        throw new ArgumentException("results must be at least as long as addresses");
}
