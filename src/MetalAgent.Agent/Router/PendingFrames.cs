using MetalAgent.Backends;
using MetalAgent.Packets;

namespace MetalAgent.Agent.Router;

/// <summary>
/// Frames complete but for the next hop's MAC, waiting for its ARP reply or neighbor advertisement:
/// at most <see cref="Capacity"/>, for at most <see cref="Timeout"/> seconds. Preallocated; used by the
/// router's worker thread only.
/// </summary>
public sealed class PendingFrames
{
    public const int Capacity = 64;

    /// <summary>Seconds a frame may wait (the coarse clock makes it up to one second more).</summary>
    public const long Timeout = 3;

    private readonly Entry[] _entries = new Entry[Capacity];

    private struct Entry
    {
        public PacketDescriptor Packet;
        public UInt128 NextHop;
        public long Since;
        public byte Version;
    }

    public int Count { get; private set; }

    /// <summary>False when full. The frame goes out of <c>packet.Port</c>.</summary>
    public bool TryAdd(in PacketDescriptor packet, byte version, UInt128 nextHop, long now)
    {
        if (Count == Capacity)
        {
            return false;
        }
        _entries[Count++] = new Entry { Packet = packet, NextHop = nextHop, Version = version, Since = now };
        return true;
    }

    /// <summary>Writes the now known MAC into every frame waiting for this next hop on this port and
    /// moves them to <paramref name="output"/>.</summary>
    public void Release(int port, byte version, UInt128 nextHop, ulong mac, PacketPool pool, OutputFrames output, RouterCounters counters)
    {
        int kept = 0;
        for (int i = 0; i < Count; i++)
        {
            ref Entry e = ref _entries[i];
            if (e.Packet.Port == port && e.Version == version && e.NextHop == nextHop)
            {
                Addresses.WriteMac(pool.Frame(e.Packet), mac);
                output.Add(e.Packet, pool, counters);
            }
            else
            {
                _entries[kept++] = e;
            }
        }
        Count = kept;
    }

    /// <summary>Drops (and counts) the frames that waited too long.</summary>
    public void Expire(long now, PacketPool pool, RouterCounters counters)
    {
        int kept = 0;
        for (int i = 0; i < Count; i++)
        {
            ref Entry e = ref _entries[i];
            if (now - e.Since > Timeout)
            {
                counters.Drop(RouterDropReason.NeighborTimeout);
                pool.Return(e.Packet.Buffer);
            }
            else
            {
                _entries[kept++] = e;
            }
        }
        Count = kept;
    }

    /// <summary>The port, family and next hop of waiting frame <paramref name="index"/>.</summary>
    public (int Port, byte Version, UInt128 NextHop) WaitingFor(int index)
    {
        ref Entry e = ref _entries[index];
        return (e.Packet.Port, e.Version, e.NextHop);
    }
}
