using System.Runtime.CompilerServices;
using MetalAgent.Packets;

namespace MetalAgent.Tables.Exact;

/// <summary>An underlay IPv6 /128 (the outer destination that names a VNI and target).</summary>
public readonly struct Underlay128Key : IExactKey<Underlay128Key>
{
    // Two ulongs keep the key 8-byte aligned (16 bytes instead of a 16-byte-aligned UInt128).
    private readonly ulong _high;
    private readonly ulong _low;

    public Underlay128Key(UInt128 address)
    {
        _high = (ulong)(address >> 64);
        _low = (ulong)address;
    }

    public UInt128 Address => new(_high, _low);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Hash(in Underlay128Key key) => FlowHash.Hash(key._high, key._low);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Equals(Underlay128Key other) => _low == other._low && _high == other._high;

    public override bool Equals(object? obj) => obj is Underlay128Key other && Equals(other);

    public override int GetHashCode() => (int)Hash(this);

    public static bool operator ==(Underlay128Key left, Underlay128Key right) => left.Equals(right);

    public static bool operator !=(Underlay128Key left, Underlay128Key right) => !left.Equals(right);

    public override string ToString() => Addresses.FormatIPv6(Address);
}
