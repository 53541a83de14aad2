using Grpc.Core;
using MetalAgent.Agent.Hosting;
using MetalAgent.Agent.Local.V1;
using MetalAgent.Dataplane.Runtime;

namespace MetalAgent.Agent.Local;

/// <summary>The local control API (status, flows, trace) of a running agent; read-only.</summary>
public sealed class AgentControlService(AgentService agent) : AgentControl.AgentControlBase
{
    public override Task<StatusReply> GetStatus(StatusRequest request, ServerCallContext context) =>
        Task.FromResult(StatusBuilder.Build(agent));

    public override Task<FlowsReply> ListFlows(FlowsRequest request, ServerCallContext context)
    {
        BoundSnapshot bound = Live();
        try
        {
            var dataplane = agent.Host.Dataplane;
            return Task.FromResult(FlowQuery.Run(dataplane.Conntrack.Table, bound.Tables, dataplane.Clock.Now, request));
        }
        catch (ArgumentException e)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, e.Message));
        }
    }

    public override Task<TraceReply> Trace(TraceRequest request, ServerCallContext context)
    {
        BoundSnapshot bound = Live();
        var dataplane = agent.Host.Dataplane;
        try
        {
            var notes = new List<string>();
            IReadOnlyList<byte[]> frames;
            if (request.Frames.Count > 0)
            {
                frames = [.. request.Frames.Select(f => f.ToByteArray())];
            }
            else if (request.Packet is { } packet)
            {
                int port = bound.Tables.FindPort(request.Port);
                if (port < 0)
                {
                    throw new ArgumentException($"no port named '{request.Port}' in the live state");
                }
                frames = [TracePacketBuilder.Build(bound, port, packet, notes)];
            }
            else
            {
                throw new ArgumentException("give frames or a packet description");
            }
            return Task.FromResult(LiveTracer.Trace(bound, dataplane.Conntrack.Table, dataplane.Conntrack.Options, dataplane.Clock.Now, request.Port, frames, notes));
        }
        catch (ArgumentException e)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, e.Message));
        }
    }

    private BoundSnapshot Live() =>
        agent.Host.Dataplane.Current ?? throw new RpcException(new Status(StatusCode.FailedPrecondition, "the agent holds no state yet"));
}
