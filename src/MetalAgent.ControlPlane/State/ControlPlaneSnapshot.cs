using ManifestProblem = MetalAgent.ControlPlane.Manifests.ManifestProblem;
using MetalAgent.ControlPlane.V1;
using MetalAgent.Model.V1;

namespace MetalAgent.ControlPlane.State;

/// <summary>One host's state with its version and the SHA-256 of its binary encoding (version included).</summary>
public sealed record VersionedHostState(HostSpec Spec, string Sha256)
{
    public ulong Version => Spec.Version;
}

/// <summary>Everything the control plane serves after one manifest load: per-host states, the router view,
/// object statuses and unreadable documents. Immutable once published; <see cref="Generation"/> counts loads.</summary>
public sealed class ControlPlaneSnapshot
{
    public ControlPlaneSnapshot(
        long generation,
        IReadOnlyDictionary<string, VersionedHostState> hosts,
        RouterViewUpdate routerView,
        IReadOnlyList<ObjectStatus> objects,
        IReadOnlyList<ManifestProblem> problems)
    {
        Generation = generation;
        Hosts = hosts;
        RouterView = routerView;
        Objects = objects;
        Problems = problems;
    }

    public long Generation { get; }

    public IReadOnlyDictionary<string, VersionedHostState> Hosts { get; }

    public RouterViewUpdate RouterView { get; }

    /// <summary>Every object of the manifests (and none other), in manifest order.</summary>
    public IReadOnlyList<ObjectStatus> Objects { get; }

    public IReadOnlyList<ManifestProblem> Problems { get; }
}
