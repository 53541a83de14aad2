using System.Runtime.CompilerServices;
using MetalAgent.Dataplane.Flows;
using MetalAgent.Tables.Exact;

namespace MetalAgent.Benchmarks.DpdkCompare;

/// <summary>A <see cref="FlowKey"/> as an <see cref="ExactTable{TKey, TValue}"/> key, to show what the flat
/// immutable table does with the flow table's keys next to rte_hash.</summary>
internal readonly struct FlowExactKey(FlowKey key) : IExactKey<FlowExactKey>
{
    private readonly FlowKey _key = key;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Hash(in FlowExactKey key) => key._key.Hash();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Equals(FlowExactKey other) => _key.Equals(other._key);

    public override bool Equals(object? obj) => obj is FlowExactKey other && Equals(other);

    public override int GetHashCode() => _key.GetHashCode();
}
