using System.Diagnostics.CodeAnalysis;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
using MetalAgent.Packets;

namespace MetalAgent.Tables.Lpm;

/// <summary>An immutable IPv6 longest-prefix-match table mapping addresses to next-hop ids.</summary>
/// <remarks>
/// The structure is a Poptrie (Asai and Ohara, SIGCOMM 2015): a direct-pointing directory indexed
/// by the top s address bits, then 64-way nodes whose children are located with popcount, with
/// runs of equal leaves stored once; chains of single-child nodes without routes of their own are
/// collapsed into one skip node (path compression). The directory size adapts to the route count (s = 4, 10 or 16,
/// i.e. 64 B, 4 KB or 256 KB); s is 4 mod 6 so that no 6-bit step straddles the two 64-bit halves
/// of the address. Path compression keeps sparse parts shallow, e.g. a lone /128 below a /64.
/// Build rules: host bits of a prefix must be zero; identical duplicate routes are merged; two routes
/// with the same prefix and length but different values are rejected. The arrays depend only on the
/// set of routes, never on their order.
/// </remarks>
public sealed class Lpm6Table
{
    /// <summary>Lookup result for an address no route covers.</summary>
    public const uint NoRoute = uint.MaxValue;

    /// <summary>Largest route value (values are stored in 31 bits in the directory).</summary>
    public const uint MaxValue = 0x7FFF_FFFE;

    private const int DirectoryPrefetchDistance = 16;
    private const int NodePrefetchDistance = 8;

    private readonly uint[] _directory;
    private readonly PoptrieNode[] _nodes;
    private readonly uint[] _leaves;
    private readonly Lpm6Route[] _routes;
    private readonly int _directoryShift;
    private readonly int _directoryBits;
    private readonly int _groupsInHigh;

    private Lpm6Table(uint[] directory, PoptrieNode[] nodes, uint[] leaves, Lpm6Route[] routes, int directoryBits)
    {
        _directory = directory;
        _nodes = nodes;
        _leaves = leaves;
        _routes = routes;
        _directoryBits = directoryBits;
        _directoryShift = 64 - directoryBits;
        _groupsInHigh = (64 - directoryBits) / PoptrieBuilder.Stride;
    }

    /// <summary>A table without routes.</summary>
    public static Lpm6Table Empty { get; } = Build([]);

    /// <summary>Number of distinct routes.</summary>
    public int RouteCount => _routes.Length;

    /// <summary>The routes, sorted by prefix then length (for dumps and diffs).</summary>
    public ReadOnlySpan<Lpm6Route> Routes => _routes;

    /// <summary>Bytes held by the table's arrays (lengths times element sizes, routes included).</summary>
    public long MemoryBytes =>
        ((long)_directory.Length * sizeof(uint))
        + ((long)_nodes.Length * Unsafe.SizeOf<PoptrieNode>())
        + ((long)_leaves.Length * sizeof(uint))
        + ((long)_routes.Length * Unsafe.SizeOf<Lpm6Route>());

    internal int DirectoryBits => _directoryBits;

    internal uint[] DirectoryArray => _directory;

    internal PoptrieNode[] NodeArray => _nodes;

    internal uint[] LeafArray => _leaves;

    /// <summary>Builds a table; throws <see cref="ArgumentException"/> listing the first invalid or
    /// conflicting route.</summary>
    public static Lpm6Table Build(ReadOnlySpan<Lpm6Route> routes)
    {
        Lpm6Route[] sorted = routes.ToArray();
        foreach (Lpm6Route route in sorted)
        {
            if (route.Length > 128)
            {
                throw new ArgumentException($"IPv6 prefix length {route.Length} > 128 in route {route}", nameof(routes));
            }
            UInt128 mask = route.Length == 0 ? UInt128.Zero : UInt128.MaxValue << (128 - route.Length);
            if ((route.Prefix & ~mask) != UInt128.Zero)
            {
                throw new ArgumentException($"host bits set in route {Addresses.FormatIPv6(route.Prefix)}/{route.Length}", nameof(routes));
            }
            if (route.Value > MaxValue)
            {
                throw new ArgumentException($"route value {route.Value} > {MaxValue} in route {route}", nameof(routes));
            }
        }
        Array.Sort(sorted, static (a, b) => a.Prefix != b.Prefix ? a.Prefix.CompareTo(b.Prefix) : a.Length.CompareTo(b.Length));

        int count = 0;
        for (int i = 0; i < sorted.Length; i++)
        {
            if (count > 0 && sorted[count - 1].Prefix == sorted[i].Prefix && sorted[count - 1].Length == sorted[i].Length)
            {
                if (sorted[count - 1].Value != sorted[i].Value)
                {
                    throw new ArgumentException(
                        $"conflicting routes for {Addresses.FormatIPv6(sorted[i].Prefix)}/{sorted[i].Length}: values {sorted[count - 1].Value} and {sorted[i].Value}",
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
            prefixes[i] = sorted[i].Prefix;
            lengths[i] = sorted[i].Length;
            values[i] = sorted[i].Value;
        }
        int directoryBits = count >= 16_384 ? 16 : count >= 512 ? 10 : 4;
        PoptrieBuilder.Build(prefixes, lengths, values, directoryBits, out uint[] directory, out PoptrieNode[] nodes, out uint[] leaves);
        return new Lpm6Table(directory, nodes, leaves, sorted, directoryBits);
    }

    /// <summary>Appends the routes, sorted by prefix then length.</summary>
    public void CopyRoutes(List<Lpm6Route> destination) => destination.AddRange(_routes);

    /// <summary>The value of the longest route covering <paramref name="address"/>, or <see cref="NoRoute"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint Lookup(UInt128 address)
    {
        ulong high = (ulong)(address >> 64);
        uint entry = _directory[high >> _directoryShift];
        return (int)entry < 0 ? PoptrieBuilder.DecodeLeaf(entry) : Walk(entry, high, (ulong)address);
    }

    /// <summary>Looks up many addresses as a software pipeline: while resolving address i it
    /// prefetches the directory entry of address i + 16 and the first node of address i + 8, so
    /// the cache misses of consecutive lookups overlap even when the caller does other work.</summary>
    public unsafe void Lookup(ReadOnlySpan<UInt128> addresses, Span<uint> results)
    {
        if (results.Length < addresses.Length)
        {
            ThrowResultsTooShort();
        }
        uint[] directory = _directory;
        PoptrieNode[] nodes = _nodes;
        int shift = _directoryShift;
        int n = addresses.Length;
        for (int i = 0; i < n; i++)
        {
            if (Sse.IsSupported)
            {
                if (i + DirectoryPrefetchDistance < n)
                {
                    Sse.Prefetch0(Unsafe.AsPointer(ref directory[(ulong)(addresses[i + DirectoryPrefetchDistance] >> 64) >> shift]));
                }
                if (i + NodePrefetchDistance < n)
                {
                    uint ahead = directory[(ulong)(addresses[i + NodePrefetchDistance] >> 64) >> shift];
                    if ((int)ahead >= 0)
                    {
                        Sse.Prefetch0(Unsafe.AsPointer(ref nodes[ahead]));
                    }
                }
            }
            UInt128 address = addresses[i];
            ulong high = (ulong)(address >> 64);
            uint entry = directory[high >> shift];
            results[i] = (int)entry < 0 ? PoptrieBuilder.DecodeLeaf(entry) : Walk(entry, high, (ulong)address);
        }
    }

    /// <summary>Descends from node <paramref name="nodeIndex"/>, which consumes the 6 address bits after the directory's.</summary>
    private uint Walk(uint nodeIndex, ulong high, ulong low)
    {
        PoptrieNode[] nodes = _nodes;
        ref readonly PoptrieNode node = ref nodes[nodeIndex];
        ulong key = high << _directoryBits;
        int groupsLeft = _groupsInHigh;
        while (true)
        {
            int steps;
            if (node.LeafBase < 0)
            {
                int bits = (byte)node.LeafVector;
                if ((key >> (64 - bits)) != node.Vector)
                {
                    return _leaves[~node.LeafBase];
                }
                steps = (byte)(node.LeafVector >> 8);
                key <<= bits;
                node = ref nodes[node.ChildBase];
            }
            else
            {
                int v = (int)(key >> 58);
                if ((node.Vector & (1UL << v)) == 0)
                {
                    return _leaves[node.LeafBase + BitOperations.PopCount(node.LeafVector & (ulong.MaxValue >> (63 - v))) - 1];
                }
                node = ref nodes[node.ChildBase + BitOperations.PopCount(node.Vector & (ulong.MaxValue >> (63 - v))) - 1];
                steps = 1;
                key <<= PoptrieBuilder.Stride;
            }
            groupsLeft -= steps;
            if (groupsLeft == 0)
            {
                // The steps never straddle the halves: continue with the low 64 bits.
                key = low;
                groupsLeft = int.MaxValue;
            }
        }
    }

    [DoesNotReturn]
    private static void ThrowResultsTooShort() =>
        throw new ArgumentException("results must be at least as long as addresses");
}
