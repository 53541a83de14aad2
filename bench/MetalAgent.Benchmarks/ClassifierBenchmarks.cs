using BenchmarkDotNet.Attributes;
using MetalAgent.Tables.Classifier;

namespace MetalAgent.Benchmarks;

/// <summary>Packet classifier on the ClassBench 10K rule sets with their traces (read from data/classbench).
/// Lookup benchmarks classify the first <see cref="TraceKeys"/> headers per invoke and report per lookup;
/// Build reports the time to compile the rule set.</summary>
[MemoryDiagnoser]
public class ClassifierBenchmarks
{
    public const int TraceKeys = 90_000;

    private ClassifierRule4[] _rules = [];
    private FlowKey4[] _keys = [];
    private int[] _results = [];
    private Classifier4Table _table = null!;

    [Params("acl1", "fw1", "ipc1")]
    public string Set { get; set; } = "acl1";

    [GlobalSetup]
    public void Setup()
    {
        _rules = ClassBenchData.LoadRules(Set + "_10000").Rules;
        _keys = ClassBenchData.LoadTrace(Set + "_10000_trace").Keys[..TraceKeys];
        _results = new int[_keys.Length];
        _table = Classifier4Table.Build(_rules);
    }

    /// <summary>Batched lookups (the dataplane's path).</summary>
    [Benchmark(OperationsPerInvoke = TraceKeys)]
    public void LookupBatched() => _table.Classify(_keys, _results);

    /// <summary>One key per call.</summary>
    [Benchmark(OperationsPerInvoke = TraceKeys)]
    public int LookupSingle()
    {
        int sum = 0;
        Classifier4Table table = _table;
        FlowKey4[] keys = _keys;
        for (int i = 0; i < keys.Length; i++)
        {
            sum += table.Classify(in keys[i]);
        }
        return sum;
    }

    [Benchmark]
    public Classifier4Table Build() => Classifier4Table.Build(_rules);
}
