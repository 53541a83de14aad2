namespace MetalAgent.Backends;

/// <summary>What kind of traffic a port carries: a VM's Ethernet, or the underlay.</summary>
public enum PortRole : byte
{
    /// <summary>A virtual machine's port (TAP, host netdev, memory).</summary>
    Vm = 0,
    /// <summary>The underlay uplink (AF_PACKET, memory).</summary>
    Uplink = 1,
}

/// <summary>
/// A named packet port with one queue per worker (TAP multi-queue, AF_PACKET fanout sockets,
/// in-memory rings). Worker i only ever touches queue i, so queues need no locks.
/// </summary>
public interface IPort : IDisposable
{
    /// <summary>The pipeline port name (interface id for a VM port, for example "uplink0").</summary>
    string Name { get; }

    PortRole Role { get; }

    /// <summary>The port's own MAC address (low 48 bits): the source of frames the agent sends on an uplink.</summary>
    ulong MacAddress { get; }

    int QueueCount { get; }

    IPortQueue Queue(int index);
}

/// <summary>One queue of a port, used by exactly one worker thread. Calls are per burst, never per packet.</summary>
public interface IPortQueue
{
    /// <summary>Receives up to <paramref name="packets"/>.Length frames into buffers rented from
    /// <paramref name="pool"/>; returns how many. Never blocks.</summary>
    int Receive(Span<PacketDescriptor> packets, PacketPool pool);

    /// <summary>Sends the frames (copying them out); buffer ownership stays with the caller.
    /// Returns how many were accepted; the rest count as tx drops.</summary>
    int Transmit(ReadOnlySpan<PacketDescriptor> packets, PacketPool pool);

    /// <summary>Registers the wakeup the owning worker blocks on when idle; the queue sets it when frames arrive.</summary>
    void AttachWakeup(WorkerWakeup wakeup);
}
