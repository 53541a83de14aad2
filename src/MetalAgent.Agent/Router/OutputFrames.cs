using MetalAgent.Backends;

namespace MetalAgent.Agent.Router;

/// <summary>Frames the router sends besides forwarded ones (answers it built, ARP requests and
/// solicitations, frames released after resolution), each with its port in <c>Port</c>; drained by the
/// worker after every burst and timer round. Preallocated.</summary>
public sealed class OutputFrames
{
    public const int Capacity = 256;

    private readonly PacketDescriptor[] _packets = new PacketDescriptor[Capacity];

    public int Count { get; private set; }

    public ReadOnlySpan<PacketDescriptor> Packets => _packets.AsSpan(0, Count);

    /// <summary>Queues a frame; when full it is dropped (its buffer returned) and counted.</summary>
    public void Add(in PacketDescriptor packet, PacketPool pool, RouterCounters counters)
    {
        if (Count == Capacity)
        {
            counters.Drop(RouterDropReason.OutputFull);
            pool.Return(packet.Buffer);
            return;
        }
        _packets[Count++] = packet;
    }

    public void Clear() => Count = 0;
}
