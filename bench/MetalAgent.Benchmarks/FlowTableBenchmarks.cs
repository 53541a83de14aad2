using BenchmarkDotNet.Attributes;
using MetalAgent.Dataplane.Flows;
using MetalAgent.Tables.Exact;

namespace MetalAgent.Benchmarks;

/// <summary>
/// Connection-table lookups with 1M flows (2M keys: each flow holds its forward and reply key), in
/// random order so the table is out of cache. The batched variants prefetch ahead: the bucket heads
/// of a whole burst of 32 (or a sliding window of 8) and then look up one by one; or, as the workers
/// do, every bucket of the burst, then every first entry, then the lookups (<see cref="BurstTwoPass32"/>).
/// </summary>
[MemoryDiagnoser]
public class FlowTableBenchmarks
{
    private const int Flows = 1 << 20;
    private const int Lookups = 1 << 20;
    private const int Burst = 32;
    private const int Ahead = 8;

    private FlowTable<FlowState> _table = null!;
    private FlowKey[] _keys = [];

    [GlobalSetup]
    public void Setup()
    {
        _table = new FlowTable<FlowState>(Flows, 1);
        var flows = new FlowKey[Flows];
        for (int i = 0; i < Flows; i++)
        {
            UInt128 src = 0x0A000000u + (uint)(i >> 12);
            UInt128 dst = 0x0A010000u + (uint)(FlowHash.Hash((ulong)i) & 0xFFFF);
            var forward = new FlowKey((uint)(1 + (i & 7)), 4, 17, src, (ushort)(1024 + (i & 0xFFF)), dst, 53);
            var state = new FlowState { Interface = i & 7, PeerInterface = -1, LoadBalancer = -1 };
            _table.Insert(0, in forward, forward.Reversed, in state, 1000, out InsertOutcome outcome);
            if (outcome != InsertOutcome.Created)
            {
                throw new InvalidOperationException($"insert {i}: {outcome}");
            }
            flows[i] = forward;
        }
        var random = new Random(42);
        _keys = new FlowKey[Lookups];
        for (int i = 0; i < Lookups; i++)
        {
            FlowKey key = flows[random.Next(Flows)];
            _keys[i] = (i & 1) == 0 ? key : key.Reversed;
        }
    }

    /// <summary>One lookup after the other, no prefetch.</summary>
    [Benchmark(OperationsPerInvoke = Lookups)]
    public int Single()
    {
        FlowTable<FlowState> table = _table;
        int sum = 0;
        foreach (ref readonly FlowKey key in _keys.AsSpan())
        {
            sum += table.Lookup(in key, out int direction) + direction;
        }
        return sum;
    }

    /// <summary>Bursts of 32: prefetch every key's bucket, then look each up (how a worker would use it).</summary>
    [Benchmark(OperationsPerInvoke = Lookups)]
    public int BatchedBurst32()
    {
        FlowTable<FlowState> table = _table;
        ReadOnlySpan<FlowKey> keys = _keys;
        int sum = 0;
        for (int start = 0; start < keys.Length; start += Burst)
        {
            ReadOnlySpan<FlowKey> burst = keys.Slice(start, Burst);
            foreach (ref readonly FlowKey key in burst)
            {
                table.Prefetch(in key);
            }
            foreach (ref readonly FlowKey key in burst)
            {
                sum += table.Lookup(in key, out int direction) + direction;
            }
        }
        return sum;
    }

    /// <summary>How a worker looks up a burst: hash all 32 keys and prefetch their buckets, then
    /// prefetch their first entries, then look each up with its hash.</summary>
    [Benchmark(OperationsPerInvoke = Lookups)]
    public int BurstTwoPass32()
    {
        FlowTable<FlowState> table = _table;
        ReadOnlySpan<FlowKey> keys = _keys;
        Span<ulong> hashes = stackalloc ulong[Burst];
        int sum = 0;
        for (int start = 0; start < keys.Length; start += Burst)
        {
            ReadOnlySpan<FlowKey> burst = keys.Slice(start, Burst);
            for (int i = 0; i < burst.Length; i++)
            {
                hashes[i] = burst[i].Hash();
                table.PrefetchBucket(hashes[i]);
            }
            for (int i = 0; i < burst.Length; i++)
            {
                table.PrefetchEntry(hashes[i]);
            }
            for (int i = 0; i < burst.Length; i++)
            {
                sum += table.Lookup(in burst[i], hashes[i], out int direction) + direction;
            }
        }
        return sum;
    }

    /// <summary>A sliding window: prefetch the bucket of key i + 8 while looking up key i.</summary>
    [Benchmark(OperationsPerInvoke = Lookups)]
    public int PrefetchAhead8()
    {
        FlowTable<FlowState> table = _table;
        ReadOnlySpan<FlowKey> keys = _keys;
        int sum = 0;
        for (int i = 0; i < Ahead; i++)
        {
            table.Prefetch(in keys[i]);
        }
        for (int i = 0; i < keys.Length; i++)
        {
            if (i + Ahead < keys.Length)
            {
                table.Prefetch(in keys[i + Ahead]);
            }
            sum += table.Lookup(in keys[i], out int direction) + direction;
        }
        return sum;
    }
}
