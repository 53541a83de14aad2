using System.Text.Json;

namespace MetalAgent.ControlPlane.Allocation;

/// <summary>A store in memory (tests, and servers started without a state file). Saves a deep copy so later
/// changes to the saved object do not leak into the store.</summary>
public sealed class MemoryStateStore : IStateStore
{
    private string? _json;

    public PersistedState Load() => _json is null ? new PersistedState() : JsonFileStateStore.Deserialize(_json);

    public void Save(PersistedState state) => _json = JsonSerializer.Serialize(state, JsonFileStateStore.Options);
}
