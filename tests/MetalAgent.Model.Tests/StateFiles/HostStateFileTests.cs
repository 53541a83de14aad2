using MetalAgent.Model.StateFiles;
using MetalAgent.Model.Tests.Validation;
using MetalAgent.Model.V1;

namespace MetalAgent.Model.Tests.StateFiles;

public sealed class HostStateFileTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("metalagent-statefile-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Format_then_parse_round_trips()
    {
        HostSpec spec = BaselineSpec.Create();
        string json = HostStateFile.Format(spec);
        HostSpec back = HostStateFile.Parse(json);
        Assert.Equal(spec, back);
        // Explicit presence survives: an ICMP code of 0 is "code 0", not "any code".
        Assert.True(back.PolicyRules[1].Ports[1].HasIcmpCode);
        Assert.Equal(json, HostStateFile.Format(back));
    }

    [Fact]
    public void Format_is_indented_proto_json()
    {
        string json = HostStateFile.Format(BaselineSpec.Create());
        Assert.StartsWith("{\n  \"schemaVersion\": 1,\n  \"version\": \"7\",\n  \"host\": {\n    \"name\": \"host-a\",", json, StringComparison.Ordinal);
        Assert.Contains("\"protocol\": \"PROTOCOL_TCP\"", json, StringComparison.Ordinal);
        Assert.EndsWith("}\n", json, StringComparison.Ordinal);
    }

    [Fact]
    public void Save_then_load_round_trips_and_replaces_atomically()
    {
        string path = Path.Combine(_directory, "state.json");
        HostSpec first = BaselineSpec.Create();
        HostStateFile.Save(path, first);
        Assert.Equal(first, HostStateFile.Load(path));

        HostSpec second = BaselineSpec.Create();
        second.Version = 8;
        second.Interfaces.RemoveAt(2);
        HostStateFile.Save(path, second);
        Assert.Equal(second, HostStateFile.Load(path));

        // Only the state file remains: temporary files are renamed, never left behind.
        Assert.Equal([path], Directory.GetFiles(_directory));
    }

    [Fact]
    public void Unknown_field_is_rejected()
    {
        var e = Assert.Throws<StateFileException>(() => HostStateFile.Parse("""{"schemaVersion": 1, "networks": [{"vni": 200, "nmae": "x"}]}"""));
        Assert.Contains("nmae", e.Reason, StringComparison.Ordinal);
        Assert.Null(e.Path);
    }

    [Fact]
    public void Bad_schema_version_is_rejected_with_message()
    {
        var e = Assert.Throws<StateFileException>(() => HostStateFile.Parse("""{"schemaVersion": 2}"""));
        Assert.Equal("unsupported schemaVersion 2 (this agent reads version 1)", e.Message);

        e = Assert.Throws<StateFileException>(() => HostStateFile.Parse("""{"host": {"name": "host-a"}}"""));
        Assert.Equal("schemaVersion is missing (this agent reads version 1)", e.Message);
    }

    [Theory]
    [InlineData("""{"schemaVersion": 1,""")]
    [InlineData("""not json""")]
    [InlineData("""{"schemaVersion": 1, "networks": [{"vni": "two hundred"}]}""")]
    [InlineData("""{"schemaVersion": 1, "networks": [{"vni": -1}]}""")]
    [InlineData("""{"schemaVersion": 1, "loadBalancers": [{"type": "LOAD_BALANCER_TYPE_GLOBAL"}]}""")]
    [InlineData("""{"schemaVersion": 1, "host": []}""")]
    public void Malformed_json_is_rejected(string json)
    {
        var e = Assert.Throws<StateFileException>(() => HostStateFile.Parse(json));
        Assert.NotEmpty(e.Reason);
        Assert.NotNull(e.InnerException);
    }

    [Fact]
    public void Load_names_the_file_in_errors()
    {
        string path = Path.Combine(_directory, "bad.json");
        File.WriteAllText(path, """{"schemaVersion": 9}""");
        var e = Assert.Throws<StateFileException>(() => HostStateFile.Load(path));
        Assert.Equal(path, e.Path);
        Assert.Equal($"{path}: unsupported schemaVersion 9 (this agent reads version 1)", e.Message);
    }

    [Fact]
    public void Load_of_a_missing_file_is_an_io_error()
    {
        Assert.Throws<FileNotFoundException>(() => HostStateFile.Load(Path.Combine(_directory, "none.json")));
    }
}
