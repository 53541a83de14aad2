using MetalAgent.Tables.Snapshot;

namespace MetalAgent.Compiler;

/// <summary>The result of a compile: the snapshot the dataplane reads, plus what the next compile
/// needs to keep ids stable and reuse unchanged tables.</summary>
public sealed class CompiledHost
{
    internal CompiledHost(
        DataplaneSnapshot snapshot,
        IdAllocator portIds,
        IdAllocator interfaceIds,
        IdAllocator vniIds,
        IdAllocator nextHopIds,
        IdAllocator loadBalancerIds,
        Dictionary<uint, CachedVni> vniCache,
        Dictionary<string, CachedMaglev> maglevCache,
        Dictionary<string, object> policyCache,
        VniTable emptyVni)
    {
        Snapshot = snapshot;
        PortIds = portIds;
        InterfaceIds = interfaceIds;
        VniIds = vniIds;
        NextHopIds = nextHopIds;
        LoadBalancerIds = loadBalancerIds;
        VniCache = vniCache;
        MaglevCache = maglevCache;
        PolicyCache = policyCache;
        EmptyVni = emptyVni;
    }

    public DataplaneSnapshot Snapshot { get; }

    internal IdAllocator PortIds { get; }
    internal IdAllocator InterfaceIds { get; }
    internal IdAllocator VniIds { get; }
    internal IdAllocator NextHopIds { get; }
    internal IdAllocator LoadBalancerIds { get; }
    internal Dictionary<uint, CachedVni> VniCache { get; }
    internal Dictionary<string, CachedMaglev> MaglevCache { get; }
    internal Dictionary<string, object> PolicyCache { get; }
    internal VniTable EmptyVni { get; }
}
