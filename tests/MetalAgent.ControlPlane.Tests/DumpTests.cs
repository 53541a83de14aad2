using MetalAgent.ControlPlane.Allocation;
using MetalAgent.ControlPlane.State;
using MetalAgent.Model.StateFiles;
using MetalAgent.Model.Validation;
using Xunit.Abstractions;

namespace MetalAgent.ControlPlane.Tests;

public class DumpTests(ITestOutputHelper output)
{
    [Fact]
    public void Dump()
    {
        var set = TestData.Quickstart();
        foreach (var p in set.Problems) output.WriteLine(p.ToString());
        foreach (var o in set.Objects) output.WriteLine($"{o.Key} {string.Join("; ", o.Errors)}");
        var config = TestData.Config();
        var allocator = new Allocator(config, new PersistedState());
        var state = HostStateBuilder.Build(config, allocator, set.Objects.Where(o => o.Resource is not null).Select(o => o.Resource!));
        foreach (var (name, spec) in state.Hosts)
        {
            output.WriteLine(name + ": " + HostStateFile.Format(spec));
            foreach (var e in HostSpecValidator.Validate(spec)) output.WriteLine("  ERR " + e);
        }
        foreach (var r in state.RouterRoutes) output.WriteLine(r.ToString());
        foreach (var o in state.Objects.Values) output.WriteLine(o.ToString());
    }
}
