using MetalAgent.ControlPlane.V1;
using MetalAgent.Model.V1;

namespace MetalAgent.ControlPlane.State;

/// <summary>What the control plane computed from the manifests and its configuration: every configured
/// host's HostSpec (version not yet assigned), the router view and each object's status.</summary>
public sealed class ControlPlaneState
{
    public ControlPlaneState(
        IReadOnlyDictionary<string, HostSpec> hosts,
        IReadOnlyList<PublicIpRoute> routerRoutes,
        IReadOnlyDictionary<string, ObjectStatus> objects)
    {
        Hosts = hosts;
        RouterRoutes = routerRoutes;
        Objects = objects;
    }

    /// <summary>Host name to its state, for every configured host (hosts without interfaces get an empty state).</summary>
    public IReadOnlyDictionary<string, HostSpec> Hosts { get; }

    /// <summary>Public IP to owners, sorted by IP.</summary>
    public IReadOnlyList<PublicIpRoute> RouterRoutes { get; }

    /// <summary>"Kind/namespace/name" to status (computed part: allocations, phases, conditions).</summary>
    public IReadOnlyDictionary<string, ObjectStatus> Objects { get; }
}
