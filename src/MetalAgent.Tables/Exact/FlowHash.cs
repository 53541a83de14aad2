using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace MetalAgent.Tables.Exact;

/// <summary>Fast, deterministic 64-bit hashing of small fixed-size data (wyhash-style multiply-fold
/// with fixed constants) for table keys, flow hashing and Maglev. Results are identical across
/// processes, machines and runs (unlike <see cref="HashCode"/>), so they may be persisted or compared
/// between hosts. Not a cryptographic hash and not keyed: do not rely on it against adversarial keys.</summary>
public static class FlowHash
{
    /// <summary>The seed used when none is given.</summary>
    public const ulong DefaultSeed = 0x2d358dccaa6c78a5UL;

    // wyhash's secret constants: odd, balanced bit patterns.
    private const ulong P0 = 0xa0761d6478bd642fUL;
    private const ulong P1 = 0xe7037ed1a0b428dbUL;
    private const ulong P2 = 0x8ebc6af09c88c6e3UL;
    private const ulong P3 = 0x589965cc75374cc3UL;

    // The seed is pre-mixed into a key (as wyhash does) so that different seeds give unrelated
    // functions rather than the same function of XOR-shifted input.
    private static readonly ulong s_defaultKey = KeyOf(DefaultSeed);

    /// <summary>The 128-bit product of <paramref name="a"/> and <paramref name="b"/>, folded to 64 bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Mix(ulong a, ulong b)
    {
        // The UInt128 product compiles to one MULX without the stack round trip of BigMul's out parameter.
        UInt128 product = (UInt128)a * b;
        return (ulong)(product >> 64) ^ (ulong)product;
    }

    /// <summary>Hashes one 64-bit word.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Hash(ulong a) => Core(s_defaultKey, a);

    /// <summary>Hashes two 64-bit words (16 bytes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Hash(ulong a, ulong b) => Core(s_defaultKey, a, b);

    /// <summary>Hashes three 64-bit words (24 bytes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Hash(ulong a, ulong b, ulong c) => Core(s_defaultKey, a, b, c);

    /// <summary>Hashes five 64-bit words (40 bytes), e.g. a 5-tuple with IPv6 addresses.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Hash(ulong a, ulong b, ulong c, ulong d, ulong e) => Core(s_defaultKey, a, b, c, d, e);

    /// <summary>Hashes a 128-bit value such as an IPv6 address.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Hash(UInt128 value) => Core(s_defaultKey, (ulong)(value >> 64), (ulong)value);

    // The seeded forms have their own name: with an optional seed, Hash(a, b, c) would silently
    // bind to Hash(a, b, seed: c).

    /// <summary>Hashes one 64-bit word with a given seed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong HashSeeded(ulong seed, ulong a) => Core(KeyOf(seed), a);

    /// <summary>Hashes two 64-bit words with a given seed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong HashSeeded(ulong seed, ulong a, ulong b) => Core(KeyOf(seed), a, b);

    /// <summary>Hashes three 64-bit words with a given seed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong HashSeeded(ulong seed, ulong a, ulong b, ulong c) => Core(KeyOf(seed), a, b, c);

    /// <summary>Hashes five 64-bit words with a given seed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong HashSeeded(ulong seed, ulong a, ulong b, ulong c, ulong d, ulong e) => Core(KeyOf(seed), a, b, c, d, e);

    /// <summary>Hashes a 128-bit value with a given seed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong HashSeeded(ulong seed, UInt128 value) => Core(KeyOf(seed), (ulong)(value >> 64), (ulong)value);

    /// <summary>Hashes a flow: addresses (IPv4 in the low 32 bits), ports, protocol and a context
    /// (e.g. the VNI). Direction matters: swapping source and destination gives another hash.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong HashFlow(UInt128 source, UInt128 destination, ushort sourcePort, ushort destinationPort, byte protocol, uint context, ulong seed = DefaultSeed)
    {
        ulong ports = ((ulong)sourcePort << 48) | ((ulong)destinationPort << 32) | context;
        ulong s = Mix((ulong)(source >> 64) ^ P1, (ulong)source ^ KeyOf(seed));
        s = Mix((ulong)(destination >> 64) ^ P2, (ulong)destination ^ s ^ P3);
        return Mix(P1 ^ 40 ^ ((ulong)protocol << 8), Mix(ports ^ P1, s ^ P0));
    }

    /// <summary>Like <see cref="HashFlow"/> but the same for both directions of a connection: the
    /// (address, port) endpoints are put in a canonical order first. Use it to steer both directions
    /// of a flow to the same worker.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong HashFlowSymmetric(UInt128 source, UInt128 destination, ushort sourcePort, ushort destinationPort, byte protocol, uint context, ulong seed = DefaultSeed)
    {
        bool swap = source > destination || (source == destination && sourcePort > destinationPort);
        return swap
            ? HashFlow(destination, source, destinationPort, sourcePort, protocol, context, seed)
            : HashFlow(source, destination, sourcePort, destinationPort, protocol, context, seed);
    }

    /// <summary>Hashes arbitrary bytes (length is mixed in). Slower than the fixed-size overloads;
    /// meant for build-time use and for keys without a fixed layout.</summary>
    public static ulong Hash(ReadOnlySpan<byte> data, ulong seed = DefaultSeed)
    {
        ulong s = KeyOf(seed);
        int i = 0;
        for (; i + 16 <= data.Length; i += 16)
        {
            ulong a = BinaryPrimitives.ReadUInt64LittleEndian(data[i..]);
            ulong b = BinaryPrimitives.ReadUInt64LittleEndian(data[(i + 8)..]);
            s = Mix(a ^ P1, b ^ s);
        }
        Span<byte> tail = stackalloc byte[16];
        tail.Clear();
        data[i..].CopyTo(tail);
        ulong ta = BinaryPrimitives.ReadUInt64LittleEndian(tail);
        ulong tb = BinaryPrimitives.ReadUInt64LittleEndian(tail[8..]);
        s = Mix(ta ^ P2, tb ^ s ^ P3);
        return Mix(P1 ^ (ulong)data.Length, s);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong KeyOf(ulong seed) => Mix(seed ^ P0, P1) ^ seed;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Core(ulong key, ulong a) => Mix(P1 ^ 8, Mix(a ^ P1, key ^ P0));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Core(ulong key, ulong a, ulong b) => Mix(P1 ^ 16, Mix(a ^ P1, b ^ key));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Core(ulong key, ulong a, ulong b, ulong c)
    {
        ulong s = Mix(a ^ P1, b ^ key);
        return Mix(P1 ^ 24, Mix(c ^ P2, s ^ P3));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Core(ulong key, ulong a, ulong b, ulong c, ulong d, ulong e)
    {
        ulong s = Mix(a ^ P1, b ^ key);
        s = Mix(c ^ P2, d ^ s ^ P3);
        return Mix(P1 ^ 40, Mix(e ^ P1, s ^ P0));
    }
}
