using MetalAgent.Backends;
using MetalAgent.Dataplane.Runtime;
using MetalAgent.Packets;
using MetalAgent.Tables.Snapshot;

namespace MetalAgent.Dataplane;

/// <summary>
/// One packet on its way through the stages: its buffer (headroom included), its descriptor
/// (where the frame lies; stages move it when they add or strip headers), the parsed headers and
/// the snapshot of this burst. Lives on the stack; never escapes the worker.
/// </summary>
public ref struct PacketContext
{
    public readonly BoundSnapshot Bound;
    public readonly WorkerContext Worker;
    public readonly DataplaneSnapshot Tables;
    /// <summary>The whole pool buffer, headroom included.</summary>
    public readonly Span<byte> Buffer;
    public ref PacketDescriptor Packet;
    public PacketHeaders Headers;

    public PacketContext(BoundSnapshot bound, WorkerContext worker, Span<byte> buffer, ref PacketDescriptor packet)
    {
        Bound = bound;
        Worker = worker;
        Tables = bound.Tables;
        Buffer = buffer;
        Packet = ref packet;
        Headers = default;
    }

    /// <summary>The current frame.</summary>
    public readonly Span<byte> Frame => Buffer.Slice(Packet.Offset, Packet.Length);

    /// <summary>Port the packet arrived on.</summary>
    public readonly int InPort => Packet.Port;
}
