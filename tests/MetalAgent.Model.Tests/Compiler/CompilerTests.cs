using System.Runtime.CompilerServices;
using MetalAgent.Compiler;
using MetalAgent.Model.StateFiles;
using MetalAgent.Model.V1;
using MetalAgent.Model.Validation;
using MetalAgent.Tables.Snapshot;

namespace MetalAgent.Model.Tests.Compiler;

public class CompilerTests
{
    private static HostSpec Load(string name)
    {
        HostSpec spec = HostStateFile.Load(Path.Combine(AppContext.BaseDirectory, "Data", name + ".json"));
        Assert.Empty(HostSpecValidator.Validate(spec));
        return spec;
    }

    private static string GoldenPath(string name, [CallerFilePath] string source = "") =>
        Path.Combine(Path.GetDirectoryName(source)!, "..", "Golden", name + ".tables.txt");

    /// <summary>A readable dump of the compiled tables is checked in, so a change in compilation shows
    /// in review. Set UPDATE_GOLDEN=1 to rewrite the files.</summary>
    [Theory]
    [InlineData("host-a")]
    [InlineData("host-b")]
    public void Compiled_tables_match_the_golden_dump(string host)
    {
        string dump = SnapshotDump.Format(HostCompiler.Compile(Load(host)).Snapshot);
        string path = GoldenPath(host);
        if (Environment.GetEnvironmentVariable("UPDATE_GOLDEN") == "1")
        {
            File.WriteAllText(path, dump);
        }
        Assert.True(File.Exists(path), $"missing golden file {path}; run the tests with UPDATE_GOLDEN=1");
        Assert.Equal(File.ReadAllText(path), dump);
    }

    [Fact]
    public void Compilation_is_deterministic_and_independent_of_spec_order()
    {
        HostSpec spec = Load("host-a");
        string first = SnapshotDump.Format(HostCompiler.Compile(spec).Snapshot);
        Assert.Equal(first, SnapshotDump.Format(HostCompiler.Compile(spec).Snapshot));

        HostSpec shuffled = spec.Clone();
        Reverse(shuffled.Interfaces);
        Reverse(shuffled.Networks);
        Reverse(shuffled.Routes);
        Reverse(shuffled.PolicyRules);
        Reverse(shuffled.NeighborNats);
        foreach (LoadBalancerSpec lb in shuffled.LoadBalancers)
        {
            Reverse(lb.Targets);
        }
        Assert.Equal(first, SnapshotDump.Format(HostCompiler.Compile(shuffled).Snapshot));
    }

    private static void Reverse<T>(Google.Protobuf.Collections.RepeatedField<T> field)
    {
        var items = field.ToList();
        items.Reverse();
        field.Clear();
        field.AddRange(items);
    }

    [Fact]
    public void An_update_keeps_the_ids_of_unchanged_objects_and_reuses_their_tables()
    {
        HostSpec spec = Load("host-a");
        CompiledHost first = HostCompiler.Compile(spec);
        DataplaneSnapshot a = first.Snapshot;

        HostSpec next = spec.Clone();
        InterfaceSpec removed = next.Interfaces.First(i => i.Id == "db-1");
        next.Interfaces.Remove(removed);
        next.PolicyRules.Clear();
        next.Version++;
        Assert.Empty(HostSpecValidator.Validate(next));
        CompiledHost second = HostCompiler.Compile(next, first);
        DataplaneSnapshot b = second.Snapshot;

        foreach (InterfaceSpec i in next.Interfaces)
        {
            Assert.Equal(a.FindInterface(i.Id), b.FindInterface(i.Id));
            Assert.Equal(a.FindPort(i.Id), b.FindPort(i.Id));
        }
        Assert.Equal(-1, b.FindInterface("db-1"));
        // The isolated network did not change: its routing tables are the same objects.
        int isolated = a.VniIndex.Find(202);
        Assert.Same(a.Vnis[isolated], b.Vnis[b.VniIndex.Find(202)]);

        // Putting db-1 back gives it its old slot back (the lowest hole).
        CompiledHost third = HostCompiler.Compile(spec, second);
        Assert.Equal(a.FindInterface("db-1"), third.Snapshot.FindInterface("db-1"));
    }

    [Fact]
    public void Changing_one_interface_among_many_reuses_every_other_vni()
    {
        HostSpec spec = ManyInterfaces(2000, networks: 200);
        CompiledHost first = HostCompiler.Compile(spec);
        HostSpec next = spec.Clone();
        next.Interfaces[7].Ipv4 = "10.200.0.1";
        CompiledHost second = HostCompiler.Compile(next, first);
        int reused = 0;
        for (int i = 0; i < first.Snapshot.Vnis.Length; i++)
        {
            reused += ReferenceEquals(first.Snapshot.Vnis[i], second.Snapshot.Vnis[i]) ? 1 : 0;
        }
        Assert.Equal(first.Snapshot.Vnis.Length - 1, reused);
        Assert.Equal(first.Snapshot.FindInterface(next.Interfaces[7].Id), second.Snapshot.FindInterface(next.Interfaces[7].Id));
    }

    internal static HostSpec ManyInterfaces(int count, int networks, int rulesPerInterface = 0) =>
        SyntheticHostSpec.Create(count, networks, rulesPerInterface);
}
