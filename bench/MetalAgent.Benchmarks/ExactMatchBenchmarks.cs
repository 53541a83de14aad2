using BenchmarkDotNet.Attributes;
using MetalAgent.Tables.Exact;

namespace MetalAgent.Benchmarks;

/// <summary>Exact-match lookups of (VNI, address) keys in a 1M-entry table: bursts of 64 keys
/// through <see cref="ExactTable{TKey, TValue}.LookupBatch"/> versus one TryGetValue per key.
/// 1M random present keys per invocation, so the table is measured out of cache.</summary>
[MemoryDiagnoser]
public class ExactMatchBenchmarks
{
    private const int Entries = 1_000_000;
    private const int Lookups = 1 << 20;
    private const int Burst = 64;

    private ExactTable<VniAddressKey, uint> _table = ExactTable<VniAddressKey, uint>.Empty;
    private VniAddressKey[] _keys = [];
    private uint[] _values = [];
    private bool[] _found = [];

    [GlobalSetup]
    public void Setup()
    {
        var entries = new KeyValuePair<VniAddressKey, uint>[Entries];
        for (int i = 0; i < Entries; i++)
        {
            UInt128 address = i % 4 == 0
                ? ((UInt128)0x20010db8u << 96) | FlowHash.Hash((ulong)i)
                : 0x0A000000u + (uint)(i / 64);
            entries[i] = new(new VniAddressKey((uint)(i % 64), i % 4 == 0 ? (byte)6 : (byte)4, address), (uint)i);
        }
        _table = ExactTable<VniAddressKey, uint>.Build(entries);
        var random = new Random(42);
        _keys = new VniAddressKey[Lookups];
        for (int i = 0; i < Lookups; i++)
        {
            _keys[i] = entries[random.Next(Entries)].Key;
        }
        _values = new uint[Lookups];
        _found = new bool[Lookups];
    }

    [Benchmark(OperationsPerInvoke = Lookups)]
    public int Batched()
    {
        ExactTable<VniAddressKey, uint> table = _table;
        int hits = 0;
        for (int start = 0; start < Lookups; start += Burst)
        {
            hits += table.LookupBatch(_keys.AsSpan(start, Burst), _values.AsSpan(start, Burst), _found.AsSpan(start, Burst));
        }
        return hits;
    }

    [Benchmark(OperationsPerInvoke = Lookups)]
    public uint Single()
    {
        ExactTable<VniAddressKey, uint> table = _table;
        uint sum = 0;
        foreach (VniAddressKey key in _keys)
        {
            if (table.TryGetValue(key, out uint value))
            {
                sum += value;
            }
        }
        return sum;
    }
}
