using MetalAgent.Backends.Linux.Interop;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace MetalAgent.Backends.Linux;

/// <summary>
/// A port on an existing Linux netdev through AF_PACKET sockets: the underlay uplink, or a VM's
/// device the agent does not own (for example a TAP a hypervisor created).
/// </summary>
/// <remarks>
/// <para>Each queue is one AF_PACKET SOCK_RAW socket bound to the interface (all protocols) with a
/// memory-mapped TPACKET_V3 rx ring (blocks of frames, handed over when full or after
/// <see cref="PacketRingOptions.RxRetireTimeoutMs"/>) and a TPACKET_V3 tx ring (fixed slots, kicked with
/// one send() per burst; PACKET_LOSS so a malformed frame is dropped instead of stalling the ring; a send
/// buffer sized for the whole ring so the kernel takes every requested slot at once; slots left behind by
/// back-pressure or a down link are kicked again on the queue's next Receive or Transmit).
/// Frames the kernel took the VLAN tag out of get it back in, so workers see the frame as on the wire.
/// Frames larger than the rx block room (GRO/LRO aggregates) are dropped and counted in
/// <see cref="RxTruncated"/>: turn GRO/LRO off on an uplink served this way.</para>
/// <para>With several queues the sockets form one PACKET_FANOUT group in hash mode, so the kernel
/// spreads flows over the workers. That hash is not symmetric across a translation (the two sides of a
/// NAT have different tuples) and differs from a TAP's queue selection, so flow consistency across
/// workers is the dataplane's job, not this port's.</para>
/// <para>Frames the host itself sends on the device (including the agent's own) are ignored
/// (PACKET_IGNORE_OUTGOING, and a check of sll_pkttype for kernels that do not apply it to fanout groups).</para>
/// <para>A missing or administratively down interface fails the constructor with an IOException
/// ("uplink 'eth1': no such interface", "... is down"); a link that goes down later is counted in
/// <see cref="LinkDownCount"/> and shows in <see cref="IsUp"/>, frames sent meanwhile wait in the tx
/// ring (or count as drops once it is full).</para>
/// <para>Wakeups: one background thread per port epolls the sockets and sets the wakeup of the worker
/// owning a queue when the kernel hands over an rx block. Dispose only after the workers stopped.</para>
/// </remarks>
public sealed class PacketSocketPort : IPort
{
    private readonly PacketSocketQueue[] _queues;
    private readonly InterfaceControl _control;
    private readonly QueuePoller _poller;
    private long _linkDownCount;
    private int _disposed;

    /// <summary>Opens <paramref name="queueCount"/> packet sockets on <paramref name="interfaceName"/>.</summary>
    /// <param name="name">The pipeline port name ("uplink0", or the interface id of a VM port).</param>
    /// <param name="role">Uplink or VM; also picks the default ring sizes.</param>
    /// <param name="interfaceName">The existing Linux device.</param>
    /// <param name="queueCount">One socket per worker queue (a fanout group when more than one).</param>
    /// <param name="networkNamespace">Namespace name or path that holds the device; null for the agent's own.</param>
    /// <param name="options">Ring sizes; defaults: uplink 32 rx blocks of max(128 KiB, 4 largest frames) and
    /// 256 tx slots (4 MiB + 512 KiB per queue at MTU 1500); VM port 8 rx blocks of max(32 KiB, 4 largest frames)
    /// and 64 tx slots (256 KiB + 128 KiB).</param>
    public PacketSocketPort(string name, PortRole role, string interfaceName, int queueCount = 1, string? networkNamespace = null, PacketRingOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ifreq.ValidateName(interfaceName);
        ArgumentOutOfRangeException.ThrowIfLessThan(queueCount, 1);
        Name = name;
        Role = role;
        InterfaceName = interfaceName;
        NetworkNamespace = networkNamespace;
        options ??= new PacketRingOptions();
        string label = role == PortRole.Uplink ? $"uplink '{interfaceName}'" : $"port '{name}' device '{interfaceName}'";

        var queues = new List<PacketSocketQueue>(queueCount);
        InterfaceControl? control = null;
        try
        {
            control = Linux.NetworkNamespace.Run(networkNamespace, () =>
            {
                var c = new InterfaceControl();
                try
                {
                    int index = c.IndexOf(interfaceName);
                    if (index == 0)
                    {
                        throw new IOException($"{label}: no such interface");
                    }
                    if ((c.Flags(interfaceName) & Native.IFF_UP) == 0)
                    {
                        throw new IOException($"{label}: is down");
                    }
                    RingGeometry geometry = RingGeometry.For(role, c.Mtu(interfaceName), options);
                    int fanoutId = -1;
                    for (int i = 0; i < queueCount; i++)
                    {
                        var q = new PacketSocketQueue(this, label, index, geometry);
                        queues.Add(q);
                        if (queueCount > 1)
                        {
                            fanoutId = q.JoinFanout(fanoutId);
                        }
                    }
                    return c;
                }
                catch
                {
                    c.Dispose();
                    throw;
                }
            });
            _control = control;
            MacAddress = control.HardwareAddress(interfaceName);
            _queues = [.. queues];
            _poller = new QueuePoller(name, _queues);
        }
        catch
        {
            control?.Dispose();
            foreach (PacketSocketQueue q in queues)
            {
                q.Dispose();
            }
            throw;
        }
    }

    public string Name { get; }

    public PortRole Role { get; }

    /// <summary>The device's MAC (SIOCGIFHWADDR at open): the source of frames the agent sends here.</summary>
    public ulong MacAddress { get; }

    public int QueueCount => _queues.Length;

    /// <summary>The Linux device name.</summary>
    public string InterfaceName { get; }

    /// <summary>The namespace the device lives in (as given), or null for the agent's own.</summary>
    public string? NetworkNamespace { get; }

    /// <summary>True while the device exists, is administratively up and has a carrier.</summary>
    public bool IsUp => _control.TryFlags(InterfaceName) is int f && (f & Native.IFF_UP) != 0 && (f & Native.IFF_RUNNING) != 0;

    /// <summary>How many times the kernel told a queue socket that the link went down (ENETDOWN).</summary>
    public long LinkDownCount => Volatile.Read(ref _linkDownCount);

    /// <summary>Frames dropped because they did not fit the rx block (snaplen below the length).</summary>
    public long RxTruncated => Sum(static q => q.RxTruncated);

    /// <summary>Received frames whose offloaded (unfinished) transport checksum the port computed.</summary>
    public long RxChecksumsFinished => Sum(static q => q.RxChecksumsFinished);

    /// <summary>Frames not accepted by Transmit: tx ring full, or larger than a tx slot.</summary>
    public long TxDropped => Sum(static q => q.TxDropped);

    /// <summary>Failed tx kicks for reasons other than back-pressure or the link being down.</summary>
    public long TxErrors => Sum(static q => q.TxErrors);

    /// <summary>Frames the kernel dropped because an rx ring was full (PACKET_STATISTICS, read and reset).</summary>
    public long TakeKernelDrops()
    {
        long sum = 0;
        foreach (PacketSocketQueue q in _queues)
        {
            sum += q.TakeKernelDrops();
        }
        return sum;
    }

    public IPortQueue Queue(int index) => _queues[index];

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        _poller.Dispose();
        foreach (PacketSocketQueue q in _queues)
        {
            q.Dispose();
        }
        _control.Dispose();
    }

    internal void OnLinkDown() => Interlocked.Increment(ref _linkDownCount);

    private long Sum(Func<PacketSocketQueue, long> counter)
    {
        long sum = 0;
        foreach (PacketSocketQueue q in _queues)
        {
            sum += counter(q);
        }
        return sum;
    }
}
