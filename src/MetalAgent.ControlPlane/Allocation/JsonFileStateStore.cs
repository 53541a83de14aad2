using System.Text;
using System.Text.Json;

namespace MetalAgent.ControlPlane.Allocation;

/// <summary>The default store: one JSON file, replaced atomically (write a temporary file, flush, rename).</summary>
public sealed class JsonFileStateStore : IStateStore
{
    internal static readonly JsonSerializerOptions Options = new() { WriteIndented = true };

    private readonly string _path;

    public JsonFileStateStore(string path) => _path = System.IO.Path.GetFullPath(path);

    public string Path => _path;

    public PersistedState Load()
    {
        if (!File.Exists(_path))
        {
            return new PersistedState();
        }
        string json = File.ReadAllText(_path, Encoding.UTF8);
        try
        {
            return Deserialize(json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{_path}: not a control-plane state file: {e.Message}", e);
        }
    }

    public void Save(PersistedState state)
    {
        string directory = System.IO.Path.GetDirectoryName(_path)!;
        Directory.CreateDirectory(directory);
        string temp = System.IO.Path.Combine(directory, $".{System.IO.Path.GetFileName(_path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                JsonSerializer.Serialize(stream, state, Options);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, _path, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    internal static PersistedState Deserialize(string json)
    {
        PersistedState state = JsonSerializer.Deserialize<PersistedState>(json, Options) ?? new PersistedState();
        if (state.Format != PersistedState.CurrentFormat)
        {
            throw new InvalidDataException($"unsupported control-plane state format {state.Format} (this server reads {PersistedState.CurrentFormat})");
        }
        // Deserialized dictionaries use the default comparer; rebuild them with ordinal order.
        state.Vnis = new SortedDictionary<string, uint>(state.Vnis, StringComparer.Ordinal);
        state.NetworkUids = new SortedDictionary<string, string>(state.NetworkUids, StringComparer.Ordinal);
        state.Underlay = new SortedDictionary<string, SortedDictionary<string, string>>(
            state.Underlay.ToDictionary(p => p.Key, p => new SortedDictionary<string, string>(p.Value, StringComparer.Ordinal)), StringComparer.Ordinal);
        state.PublicIps = new SortedDictionary<string, string>(state.PublicIps, StringComparer.Ordinal);
        foreach (NatGatewayAllocation gateway in state.NatGateways.Values)
        {
            gateway.Slots = new SortedDictionary<string, int>(gateway.Slots, StringComparer.Ordinal);
        }
        state.NatGateways = new SortedDictionary<string, NatGatewayAllocation>(state.NatGateways, StringComparer.Ordinal);
        state.Claims = new SortedDictionary<string, string>(state.Claims, StringComparer.Ordinal);
        state.LastValid = new SortedDictionary<string, string>(state.LastValid, StringComparer.Ordinal);
        state.HostVersions = new SortedDictionary<string, VersionRecord>(state.HostVersions, StringComparer.Ordinal);
        return state;
    }
}
