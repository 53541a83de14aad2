using MetalAgent.Backends;
using MetalAgent.Dataplane.Runtime;
using MetalAgent.Dataplane.Stages;
using MetalAgent.Packets;
using MetalAgent.Tables.Snapshot;

namespace MetalAgent.Dataplane;

/// <summary>
/// The per-packet path: parse, then the stages of the packet's ingress side. Each stage returns a
/// <see cref="Verdict"/>: continue, drop with a named reason, or forward to a port (a local
/// answer is a forward to the ingress port). Static and allocation-free.
/// </summary>
public static class Pipeline
{
    public static Verdict Process(BoundSnapshot bound, PacketPool pool, ref PacketDescriptor packet, WorkerContext worker)
    {
        var ctx = new PacketContext(bound, worker, pool.Buffer(packet.Buffer), ref packet);
        ParseError error = PacketParser.ParseEthernet(ctx.Frame, ref ctx.Headers);
        if (error != ParseError.None)
        {
            return Verdict.Drop(DropReasons.FromParse(error));
        }
        return Dispatch(ref ctx);
    }

    /// <summary><see cref="Process"/> for a frame the worker already parsed without error (its burst
    /// prefetch pass, <see cref="Runtime.FlowPrefetch"/>): the frame is not parsed again.</summary>
    public static Verdict ProcessParsed(BoundSnapshot bound, PacketPool pool, ref PacketDescriptor packet, WorkerContext worker, in PacketHeaders parsed)
    {
        var ctx = new PacketContext(bound, worker, pool.Buffer(packet.Buffer), ref packet);
        ctx.Headers = parsed;
        return Dispatch(ref ctx);
    }

    private static Verdict Dispatch(ref PacketContext ctx)
    {
        PortEntry[] ports = ctx.Tables.Ports;
        if ((uint)ctx.InPort >= (uint)ports.Length || !ports[ctx.InPort].Present)
        {
            return Verdict.Drop(DropReason.UnknownPort);
        }
        return ports[ctx.InPort].Kind == PortKind.Vm
            ? VmIngressStage.Process(ref ctx)
            : UplinkIngressStage.Process(ref ctx);
    }
}
