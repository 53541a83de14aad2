namespace MetalAgent.ControlPlane.Allocation;

/// <summary>Where the control plane keeps <see cref="PersistedState"/>. The embedded JSON file is the default;
/// another implementation (etcd) can replace it without touching the allocator.</summary>
public interface IStateStore
{
    /// <summary>The stored state, or a new empty state when nothing was stored yet.</summary>
    PersistedState Load();

    /// <summary>Stores <paramref name="state"/> durably (all or nothing).</summary>
    void Save(PersistedState state);
}
