using BenchmarkDotNet.Attributes;
using MetalAgent.Tables.Classifier;

namespace MetalAgent.Benchmarks;

/// <summary>Baseline: the linear first-match scan on acl1 10K, per lookup, over the first
/// <see cref="TraceKeys"/> headers of its trace.</summary>
[MemoryDiagnoser]
public class ClassifierLinearBenchmarks
{
    public const int TraceKeys = 2_000;

    private ClassifierRule4[] _rules = [];
    private FlowKey4[] _keys = [];
    private int[] _results = [];

    [GlobalSetup]
    public void Setup()
    {
        _rules = ClassBenchData.LoadRules("acl1_10000").Rules;
        _keys = ClassBenchData.LoadTrace("acl1_10000_trace").Keys[..TraceKeys];
        _results = new int[_keys.Length];
    }

    [Benchmark(OperationsPerInvoke = TraceKeys)]
    public void LinearAcl1() => LinearClassifier.Classify(_rules, _keys, _results);
}
