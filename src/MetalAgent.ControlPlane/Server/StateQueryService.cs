using Grpc.Core;
using MetalAgent.ControlPlane.State;
using MetalAgent.ControlPlane.V1;
using ManifestProblem = MetalAgent.ControlPlane.Manifests.ManifestProblem;

namespace MetalAgent.ControlPlane.Server;

/// <summary>Read calls: a host's state (operators, or the host itself) and object statuses (operators).</summary>
public sealed class StateQueryService(ControlPlaneRuntime runtime) : StateQuery.StateQueryBase
{
    public override Task<GetHostStateResponse> GetHostState(GetHostStateRequest request, ServerCallContext context)
    {
        ClientIdentity identity = Identify(context);
        if (!identity.Has(ClientRoles.Operator) && !(identity.Name is not null && identity.MayActAsHost(request.Host)))
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied, $"{identity.Describe()} may not read {request.Host}'s state: only operators and the host itself may"));
        }
        if (!runtime.Current.Hosts.TryGetValue(request.Host, out VersionedHostState? state))
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"{request.Host}: not a configured host"));
        }
        HostAgentRecord agent = runtime.AgentRecord(request.Host);
        var response = new GetHostStateResponse
        {
            Spec = state.Spec,
            Version = state.Version,
            StateSha256 = state.Sha256,
            AckedVersion = agent.AckedVersion,
            NackedVersion = agent.NackedVersion,
            Connected = agent.Connected,
        };
        response.NackErrors.AddRange(agent.NackErrors);
        response.Interfaces.AddRange(agent.Interfaces.Values.OrderBy(i => i.Id, StringComparer.Ordinal));
        return Task.FromResult(response);
    }

    public override Task<GetObjectsResponse> GetObjects(GetObjectsRequest request, ServerCallContext context)
    {
        ClientIdentity identity = Identify(context);
        if (!identity.Has(ClientRoles.Operator))
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied, $"{identity.Describe()} may not read object status: that needs an operator certificate (OU=operator)"));
        }
        ControlPlaneSnapshot snapshot = runtime.Current;
        var response = new GetObjectsResponse();
        foreach (ObjectStatus status in snapshot.Objects)
        {
            if ((request.Kind.Length == 0 || string.Equals(request.Kind, status.Kind, StringComparison.OrdinalIgnoreCase))
                && (request.Name.Length == 0 || request.Name == status.Name)
                && (request.Namespace.Length == 0 || request.Namespace == status.Namespace))
            {
                response.Objects.Add(WithAgentState(status));
            }
        }
        if (request.Kind.Length == 0 && request.Name.Length == 0)
        {
            foreach (ManifestProblem problem in snapshot.Problems)
            {
                var p = new V1.ManifestProblem { Source = problem.Source };
                p.Errors.AddRange(problem.Errors.Select(Sync.FieldErrors.ToWire));
                response.Problems.Add(p);
            }
        }
        return Task.FromResult(response);
    }

    /// <summary>A NetworkInterface's state comes from its host's agent once the agent has reported it.</summary>
    private ObjectStatus WithAgentState(ObjectStatus status)
    {
        if (status.NetworkInterface is not { Host.Length: > 0 } nic)
        {
            return status;
        }
        HostAgentRecord agent = runtime.AgentRecord(nic.Host);
        string id = ObjectIds.For(new Manifests.ObjectMeta(status.Namespace, status.Name, new Dictionary<string, string>(), string.Empty));
        if (!agent.Interfaces.TryGetValue(id, out InterfaceStatus? reported))
        {
            return status;
        }
        ObjectStatus copy = status.Clone();
        copy.NetworkInterface.State = reported.State switch
        {
            InterfaceState.Available => "Available",
            InterfaceState.Error => "Error",
            _ => "Pending",
        };
        copy.NetworkInterface.Reason = reported.Reason;
        return copy;
    }

    private ClientIdentity Identify(ServerCallContext context) =>
        runtime.Identities.Resolve(context) ?? throw CertificateIdentityResolver.NotIdentified(context);
}
