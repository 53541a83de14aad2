using MetalAgent.Backends;

namespace MetalAgent.Dataplane.Runtime;

/// <summary>
/// One worker's encapsulated frames waiting for the uplink gateway's MAC (the first packets after
/// start, or after the gateway changed): at most <see cref="Capacity"/>, for at most
/// <see cref="Timeout"/> seconds, like the kernel's queue of packets for an unresolved neighbor.
/// Preallocated; used by the worker thread only.
/// </summary>
internal sealed class GatewayWaitQueue
{
    public const int Capacity = 32;

    /// <summary>Seconds the oldest frame may wait (the coarse clock makes it up to one second more).</summary>
    public const long Timeout = 3;

    private readonly PacketDescriptor[] _packets = new PacketDescriptor[Capacity];
    private long _since;

    public int Count { get; private set; }

    /// <summary>False when full (the caller drops the frame).</summary>
    public bool TryAdd(in PacketDescriptor packet, long now)
    {
        if (Count == Capacity)
        {
            return false;
        }
        if (Count == 0)
        {
            _since = now;
        }
        _packets[Count++] = packet;
        return true;
    }

    public bool Expired(long now) => now - _since > Timeout;

    public ReadOnlySpan<PacketDescriptor> Packets => _packets.AsSpan(0, Count);

    public void Clear() => Count = 0;
}
