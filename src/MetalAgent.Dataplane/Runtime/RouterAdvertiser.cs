using MetalAgent.Backends;
using MetalAgent.Dataplane.Stages;
using MetalAgent.Tables.Snapshot;

namespace MetalAgent.Dataplane.Runtime;

/// <summary>
/// One worker's schedule of unsolicited router advertisements (RFC 4861 section 6.2.4) on the VM
/// ports whose queue it owns: one as soon as it owns a port (agent start, a new port), then one
/// per interval, to ff02::1. The worker compares <see cref="NextDue"/> with the clock once per
/// round; only when an advertisement is due does it walk the ports and build frames into its pool.
/// Used by the worker thread only.
/// </summary>
internal sealed class RouterAdvertiser
{
    private long[] _due = [];
    private IPortQueue?[] _owned = [];

    /// <summary>Earliest due time over the owned VM ports (long.MaxValue: none).</summary>
    public long NextDue { get; private set; } = long.MaxValue;

    /// <summary>Takes the worker's queues of a new snapshot: VM ports it already advertised on keep
    /// their schedule, ports it did not own before are due at once.</summary>
    public void Attach(BoundSnapshot bound, IPortQueue?[] queues)
    {
        PortEntry[] ports = bound.Tables.Ports;
        long[] due = new long[queues.Length];
        long next = long.MaxValue;
        for (int i = 0; i < queues.Length; i++)
        {
            if (queues[i] is null || i >= ports.Length || !ports[i].Present || ports[i].Kind != PortKind.Vm)
            {
                due[i] = long.MaxValue;
            }
            else
            {
                due[i] = i < _owned.Length && ReferenceEquals(_owned[i], queues[i]) ? _due[i] : long.MinValue;
            }
            next = Math.Min(next, due[i]);
        }
        _due = due;
        _owned = queues;
        NextDue = next;
    }

    /// <summary>Writes the advertisements due at <paramref name="now"/> into buffers rented from
    /// <paramref name="pool"/>, at most <paramref name="packets"/>.Length (the rest stay due for
    /// the next round), and schedules each port's next one <paramref name="interval"/> seconds later.
    /// Returns how many descriptors it filled.</summary>
    public int Build(BoundSnapshot bound, PacketPool pool, WorkerCounters counters, long now, long interval, Span<PacketDescriptor> packets)
    {
        PortEntry[] ports = bound.Tables.Ports;
        int n = 0;
        long next = long.MaxValue;
        for (int port = 0; port < _due.Length; port++)
        {
            long due = _due[port];
            if (due <= now && n < packets.Length)
            {
                int buffer = pool.Rent();
                if (buffer < 0)
                {
                    counters.Drop(DropReason.NoBuffer);
                }
                else
                {
                    int length = NeighborDiscoveryStage.WriteRouterAdvertisement(
                        pool.Buffer(buffer)[PacketPool.Headroom..], bound.Tables.Host, ports[port].GatewayMac, GatewayStage.AllNodesMac, GatewayStage.AllNodes);
                    packets[n++] = new PacketDescriptor { Buffer = buffer, Offset = PacketPool.Headroom, Length = length, Port = (ushort)port };
                }
                due = now + interval;
                _due[port] = due;
            }
            next = Math.Min(next, due);
        }
        NextDue = next;
        return n;
    }
}
