using BenchmarkDotNet.Attributes;
using MetalAgent.Tables.Exact;
using MetalAgent.Tables.Maglev;

namespace MetalAgent.Benchmarks;

/// <summary>Maglev table construction for M = 65537 (the target is at most 1 ms for 1000 targets),
/// and lookups of 1M flow hashes.</summary>
[MemoryDiagnoser]
public class MaglevBenchmarks
{
    private const int Lookups = 1 << 20;

    private UInt128[] _targets = [];
    private MaglevTable _table = MaglevTable.Build([]);
    private ulong[] _hashes = [];

    [Params(10, 100, 1000)]
    public int Targets { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        UInt128 prefix = ((UInt128)0x20010db8_00010002UL) << 64;
        _targets = new UInt128[Targets];
        for (int i = 0; i < Targets; i++)
        {
            _targets[i] = prefix | FlowHash.Hash((ulong)i);
        }
        _table = MaglevTable.Build(_targets);
        _hashes = new ulong[Lookups];
        for (int i = 0; i < Lookups; i++)
        {
            _hashes[i] = FlowHash.Hash((ulong)i, 99UL);
        }
    }

    [Benchmark]
    public MaglevTable Build() => MaglevTable.Build(_targets);

    [Benchmark(OperationsPerInvoke = Lookups)]
    public int Lookup()
    {
        MaglevTable table = _table;
        int sum = 0;
        foreach (ulong hash in _hashes)
        {
            sum += table.Lookup(hash);
        }
        return sum;
    }
}
