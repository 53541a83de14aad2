using BenchmarkDotNet.Attributes;
using MetalAgent.Compiler;
using MetalAgent.Model.V1;

namespace MetalAgent.Benchmarks;

/// <summary>
/// Compiling a host state: from scratch for 10,000 interfaces with 100,000 policy rules (target
/// 1 s), and an update that changes one interface against the previous result (target 10 ms).
/// </summary>
[MemoryDiagnoser]
public class CompileBenchmarks
{
    private HostSpec _spec = null!;
    private HostSpec _changed = null!;
    private CompiledHost _previous = null!;

    [GlobalSetup]
    public void Setup()
    {
        _spec = SyntheticHostSpec.Create(10_000, networks: 100, rulesPerInterface: 10);
        _changed = _spec.Clone();
        _changed.Interfaces[4321].Ipv4 = "10.250.0.1";
        _changed.Version = 2;
        _previous = HostCompiler.Compile(_spec);
    }

    [Benchmark(Description = "full compile: 10k interfaces, 100k rules")]
    public CompiledHost FullCompile() => HostCompiler.Compile(_spec);

    [Benchmark(Description = "one-interface change against the previous compile")]
    public CompiledHost OneInterfaceChange() => HostCompiler.Compile(_changed, _previous);
}
