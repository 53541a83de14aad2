using BenchmarkDotNet.Attributes;
using MetalAgent.Tables.Lpm;

namespace MetalAgent.Benchmarks;

/// <summary>IPv4 longest-prefix match on BGP-like route sets; 1M lookup addresses per invocation
/// (95% inside a route), so large tables are measured with realistic cache misses.</summary>
[MemoryDiagnoser]
public class LpmBenchmarks
{
    private const int Lookups = 1 << 20;
    private const int Burst = 64;

    private Lpm4Table _table = Lpm4Table.Empty;
    private uint[] _addresses = [];
    private uint[] _results = [];

    [Params(1_000, 1_000_000)]
    public int Routes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        Lpm4Route[] routes = RouteSetGenerator.Ipv4BgpLike(Routes, seed: 2024);
        _table = Lpm4Table.Build(routes);
        _addresses = RouteSetGenerator.Ipv4Addresses(routes, Lookups, seed: 7);
        _results = new uint[Lookups];
    }

    [Benchmark(OperationsPerInvoke = Lookups)]
    public uint Single()
    {
        Lpm4Table table = _table;
        uint sum = 0;
        foreach (uint address in _addresses)
        {
            sum += table.Lookup(address);
        }
        return sum;
    }

    /// <summary>Bursts of 64 addresses, as the dataplane looks them up per rx burst.</summary>
    [Benchmark(OperationsPerInvoke = Lookups)]
    public uint Batched()
    {
        Lpm4Table table = _table;
        for (int start = 0; start < Lookups; start += Burst)
        {
            table.Lookup(_addresses.AsSpan(start, Burst), _results.AsSpan(start, Burst));
        }
        return _results[^1];
    }
}

/// <summary>IPv6 longest-prefix match on provider-like route sets (mostly /48 and /64).</summary>
[MemoryDiagnoser]
public class Lpm6Benchmarks
{
    private const int Lookups = 1 << 20;
    private const int Burst = 64;

    private Lpm6Table _table = Lpm6Table.Empty;
    private UInt128[] _addresses = [];
    private uint[] _results = [];

    [Params(1_000, 100_000)]
    public int Routes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        Lpm6Route[] routes = RouteSetGenerator.Ipv6Like(Routes, seed: 2024);
        _table = Lpm6Table.Build(routes);
        _addresses = RouteSetGenerator.Ipv6Addresses(routes, Lookups, seed: 7);
        _results = new uint[Lookups];
    }

    [Benchmark(OperationsPerInvoke = Lookups)]
    public uint Single()
    {
        Lpm6Table table = _table;
        uint sum = 0;
        foreach (UInt128 address in _addresses)
        {
            sum += table.Lookup(address);
        }
        return sum;
    }

    [Benchmark(OperationsPerInvoke = Lookups)]
    public uint Batched()
    {
        Lpm6Table table = _table;
        for (int start = 0; start < Lookups; start += Burst)
        {
            table.Lookup(_addresses.AsSpan(start, Burst), _results.AsSpan(start, Burst));
        }
        return _results[^1];
    }
}
