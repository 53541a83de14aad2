using System.Security.Cryptography;
using System.Text.Json;
using Google.Protobuf;
using MetalAgent.ControlPlane.Allocation;
using MetalAgent.ControlPlane.Configuration;
using MetalAgent.ControlPlane.Manifests;
using MetalAgent.ControlPlane.Sync;
using MetalAgent.ControlPlane.V1;
using MetalAgent.Model.V1;

namespace MetalAgent.ControlPlane.State;

/// <summary>The control plane's core without any transport: turns a <see cref="ManifestSet"/> into a
/// <see cref="ControlPlaneSnapshot"/>. Keeps the last valid version of every object in force while its current
/// manifest is invalid (so a broken policy edit does not open an interface), bumps a host's version only when
/// its state changed, and persists allocations, last valid versions and versions through an
/// <see cref="IStateStore"/>. Not thread-safe: one caller applies manifests at a time.</summary>
public sealed class ControlPlaneEngine
{
    private readonly ControlPlaneConfig _config;
    private readonly IStateStore _store;
    private readonly PersistedState _state;
    private readonly Allocator _allocator;
    private string _savedJson;
    private long _generation;

    public ControlPlaneEngine(ControlPlaneConfig config, IStateStore store)
    {
        _config = config;
        _store = store;
        _state = store.Load();
        _allocator = new Allocator(config, _state);
        _savedJson = JsonSerializer.Serialize(_state, JsonFileStateStore.Options);
        Current = new ControlPlaneSnapshot(0, new SortedDictionary<string, VersionedHostState>(StringComparer.Ordinal), new RouterViewUpdate(), [], []);
    }

    public ControlPlaneConfig Config => _config;

    /// <summary>The last snapshot computed (an empty state per host before the first <see cref="Apply"/>).</summary>
    public ControlPlaneSnapshot Current { get; private set; }

    public ControlPlaneSnapshot Apply(ManifestSet manifests)
    {
        var resources = new List<Resource>();
        var stale = new HashSet<string>(StringComparer.Ordinal);
        var present = new HashSet<string>(StringComparer.Ordinal);
        foreach (ManifestObject obj in manifests.Objects)
        {
            present.Add(obj.Key);
            if (obj.Resource is not null)
            {
                resources.Add(obj.Resource);
                _state.LastValid[obj.Key] = obj.Text;
            }
            else if (_state.LastValid.TryGetValue(obj.Key, out string? text)
                && ManifestReader.Read(text, obj.Source).Object is { Resource: Resource previous })
            {
                resources.Add(previous);
                stale.Add(obj.Key);
            }
        }
        foreach (string key in _state.LastValid.Keys.Where(k => !present.Contains(k)).ToList())
        {
            _state.LastValid.Remove(key);
        }

        ControlPlaneState computed = HostStateBuilder.Build(_config, _allocator, resources);

        var hosts = new SortedDictionary<string, VersionedHostState>(StringComparer.Ordinal);
        foreach ((string name, HostSpec spec) in computed.Hosts)
        {
            spec.Version = NextVersion(_state.HostVersions, name, spec.ToByteArray());
            hosts[name] = new VersionedHostState(spec, HostSpecDiff.Sha256(spec));
        }
        var view = new RouterViewUpdate();
        view.Routes.AddRange(computed.RouterRoutes);
        var routerRecords = new SortedDictionary<string, VersionRecord>(StringComparer.Ordinal);
        if (_state.RouterVersion is not null)
        {
            routerRecords["router"] = _state.RouterVersion;
        }
        view.Version = NextVersion(routerRecords, "router", view.ToByteArray());
        _state.RouterVersion = routerRecords["router"];

        var objects = new List<ObjectStatus>();
        foreach (ManifestObject obj in manifests.Objects)
        {
            ObjectStatus status = computed.Objects.TryGetValue(obj.Key, out ObjectStatus? s)
                ? s.Clone()
                : new ObjectStatus { Kind = obj.Kind, Namespace = obj.Namespace, Name = obj.Name };
            status.Source = obj.Source;
            status.Errors.AddRange(obj.Errors.Select(FieldErrors.ToWire));
            status.Stale = stale.Contains(obj.Key);
            status.InForce = obj.Resource is not null || status.Stale;
            objects.Add(status);
        }

        Save();
        _generation++;
        Current = new ControlPlaneSnapshot(_generation, hosts, view, objects, manifests.Problems);
        return Current;
    }

    /// <summary>The version for new content: unchanged when its digest is the stored one, else one more.</summary>
    private static ulong NextVersion(SortedDictionary<string, VersionRecord> records, string name, byte[] content)
    {
        string digest = Convert.ToHexStringLower(SHA256.HashData(content));
        if (records.TryGetValue(name, out VersionRecord? record) && record.Sha256 == digest)
        {
            return record.Version;
        }
        ulong version = (record?.Version ?? 0) + 1;
        records[name] = new VersionRecord { Version = version, Sha256 = digest };
        return version;
    }

    private void Save()
    {
        string json = JsonSerializer.Serialize(_state, JsonFileStateStore.Options);
        if (json != _savedJson)
        {
            _store.Save(_state);
            _savedJson = json;
        }
    }
}
