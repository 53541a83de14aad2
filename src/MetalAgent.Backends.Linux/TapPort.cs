using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using MetalAgent.Backends.Linux.Interop;
using static Tmds.Linux.LibC;

namespace MetalAgent.Backends.Linux;

/// <summary>
/// An agent-owned TAP device serving a VM port: the agent holds the tun file descriptors (one per
/// queue) and the device's kernel side is the guest's NIC, possibly in the guest's network namespace.
/// </summary>
/// <remarks>
/// <para>The device is opened with IFF_TAP | IFF_NO_PI | IFF_MULTI_QUEUE, always multi-queue (also
/// for one queue) so that an agent restarted with another worker count can re-attach to the same
/// persistent device; the kernel allows up to 256 queues. Every fd is non-blocking.</para>
/// <para>The device is made persistent (TUNSETPERSIST), so it survives the agent: a new TapPort with the
/// same device name and namespace re-attaches to it. <see cref="Delete"/> removes it.</para>
/// <para>Creation and attachment run inside <c>networkNamespace</c> (a name under /var/run/netns or a
/// path) on a dedicated thread (see <see cref="NetworkNamespace"/>); the fds work from any thread after.</para>
/// <para>Wakeups: one background thread per port epolls the queue fds and sets the wakeup of the worker
/// owning a queue when its fd becomes readable.</para>
/// <para>Dispose only after the workers stopped using the queues.</para>
/// </remarks>
public sealed unsafe class TapPort : IPort
{
    private readonly TapQueue[] _queues;
    private readonly InterfaceControl _control;
    private readonly QueuePoller _poller;
    private int _disposed;

    /// <summary>Creates the TAP device <paramref name="deviceName"/> (or attaches to it when it exists),
    /// makes it persistent and brings it up.</summary>
    /// <param name="name">The pipeline port name (the interface id).</param>
    /// <param name="deviceName">The Linux device name, at most 15 characters (see <see cref="DeviceName"/>).</param>
    /// <param name="queueCount">One tun fd per worker queue.</param>
    /// <param name="networkNamespace">Namespace name or path that holds (or will hold) the device; null for the agent's own.</param>
    /// <param name="mtu">The device MTU to set, or null to leave it (1500 for a new device).</param>
    /// <param name="macAddress">The agent's MAC on this port (the virtual gateway's); null derives a locally
    /// administered one from <paramref name="name"/>.</param>
    public TapPort(string name, string deviceName, int queueCount = 1, string? networkNamespace = null, int? mtu = null, ulong? macAddress = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ifreq.ValidateName(deviceName);
        ArgumentOutOfRangeException.ThrowIfLessThan(queueCount, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(queueCount, 256);
        Name = name;
        Device = deviceName;
        NetworkNamespace = networkNamespace;
        MacAddress = macAddress ?? LocalMac(name);

        var fds = new int[queueCount];
        fds.AsSpan().Fill(-1);
        InterfaceControl? control = null;
        bool created = false;
        try
        {
            control = Linux.NetworkNamespace.Run(networkNamespace, () =>
            {
                var c = new InterfaceControl();
                try
                {
                    created = c.IndexOf(deviceName) == 0;
                    for (int i = 0; i < queueCount; i++)
                    {
                        fds[i] = OpenQueue(deviceName, !created || i > 0);
                    }
                    if (mtu is int m)
                    {
                        c.SetMtu(deviceName, m);
                    }
                    c.BringUp(deviceName);
                    // Persistent last: a failure above leaves no new device behind once the fds close.
                    if (ioctl(fds[0], Native.TUNSETPERSIST, 1) != 0)
                    {
                        throw Native.Error($"TAP '{deviceName}': TUNSETPERSIST", errno);
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
            WasCreated = created;
            DeviceMacAddress = control.HardwareAddress(deviceName);
            _queues = new TapQueue[queueCount];
            for (int i = 0; i < queueCount; i++)
            {
                _queues[i] = new TapQueue(fds[i]);
            }
            _poller = new QueuePoller(name, _queues);
        }
        catch
        {
            control?.Dispose();
            if (created && fds[0] >= 0)
            {
                _ = ioctl(fds[0], Native.TUNSETPERSIST, 0);
            }
            foreach (int fd in fds)
            {
                if (fd >= 0)
                {
                    _ = close(fd);
                }
            }
            throw;
        }
    }

    public string Name { get; }

    public PortRole Role => PortRole.Vm;

    /// <summary>The agent's own MAC on this port (the virtual gateway's), not the device's.</summary>
    public ulong MacAddress { get; }

    public int QueueCount => _queues.Length;

    /// <summary>The Linux device name.</summary>
    public string Device { get; }

    /// <summary>The namespace the device lives in (as given), or null for the agent's own.</summary>
    public string? NetworkNamespace { get; }

    /// <summary>True when this port created the device, false when it re-attached to an existing one.</summary>
    public bool WasCreated { get; }

    /// <summary>The MAC of the device's kernel side (the guest's NIC when the namespace is the guest).</summary>
    public ulong DeviceMacAddress { get; }

    /// <summary>True while the device is administratively up and has a carrier (an fd is attached).</summary>
    public bool IsUp => _control.TryFlags(Device) is int f && (f & Native.IFF_UP) != 0 && (f & Native.IFF_RUNNING) != 0;

    /// <summary>Frames a read() failed on for a reason other than "nothing pending".</summary>
    public long RxErrors => Sum(static q => Volatile.Read(ref q.RxErrors));

    /// <summary>Frames write() refused (device down, no memory).</summary>
    public long TxDropped => Sum(static q => Volatile.Read(ref q.TxDropped));

    public IPortQueue Queue(int index) => _queues[index];

    /// <summary>
    /// The deterministic device name for an interface id: "ma" + the first 12 hex digits of
    /// SHA-256(UTF-8 id), 14 characters (Linux allows 15). 48 bits make a collision between two
    /// interfaces of one host negligible, and the same id always maps to the same device across restarts.
    /// </summary>
    public static string DeviceName(string interfaceId)
    {
        ArgumentException.ThrowIfNullOrEmpty(interfaceId);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(interfaceId), hash);
        return "ma" + Convert.ToHexStringLower(hash[..6]);
    }

    /// <summary>Whether a device of that name exists in the namespace (null: the agent's own).</summary>
    public static bool Exists(string deviceName, string? networkNamespace = null)
    {
        ifreq.ValidateName(deviceName);
        return Linux.NetworkNamespace.Run(networkNamespace, () =>
        {
            using var c = new InterfaceControl();
            return c.IndexOf(deviceName) != 0;
        });
    }

    /// <summary>Clears persistence and closes the port, which removes the device (once no other
    /// process holds a queue fd of it).</summary>
    public void Delete()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (ioctl(_queues[0].Fd, Native.TUNSETPERSIST, 0) != 0)
        {
            throw Native.Error($"TAP '{Device}': TUNSETPERSIST 0", errno);
        }
        Dispose();
    }

    /// <summary>Closes the queue fds; the persistent device stays (with no carrier) for a later re-attach.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        _poller.Dispose();
        foreach (TapQueue q in _queues)
        {
            _ = close(q.Fd);
        }
        _control.Dispose();
    }

    private long Sum(Func<TapQueue, long> counter)
    {
        long sum = 0;
        foreach (TapQueue q in _queues)
        {
            sum += counter(q);
        }
        return sum;
    }

    private static int OpenQueue(string deviceName, bool attach)
    {
        fixed (byte* path = "/dev/net/tun\0"u8)
        {
            int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC, default);
            if (fd < 0)
            {
                throw Native.Error("open /dev/net/tun", errno);
            }
            ifreq req = ifreq.ForName(deviceName);
            req.ifr_flags = Native.IFF_TAP | Native.IFF_NO_PI | Native.IFF_MULTI_QUEUE;
            if (ioctl(fd, Native.TUNSETIFF, &req) != 0)
            {
                int e = errno;
                _ = close(fd);
                string hint = e == EINVAL && attach
                    ? " (the device exists but is not a multi-queue TAP without packet info)"
                    : "";
                throw Native.Error($"TAP '{deviceName}': TUNSETIFF{hint}", e);
            }
            return fd;
        }
    }

    private static ulong LocalMac(string name)
    {
        // Locally administered unicast (0x02 first octet) from a stable hash of the port name.
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(name), hash);
        ulong mac = 0x02;
        for (int i = 0; i < 5; i++)
        {
            mac = (mac << 8) | hash[i];
        }
        return mac;
    }

    private sealed class TapQueue : IPortQueue, IPolledQueue
    {
        public long RxErrors;
        public long TxDropped;
        private WorkerWakeup? _wakeup;

        public TapQueue(int fd) => Fd = fd;

        public int Fd { get; }

        public int Receive(Span<PacketDescriptor> packets, PacketPool pool)
        {
            int n = 0;
            while (n < packets.Length)
            {
                int buffer = pool.Rent();
                if (buffer < 0)
                {
                    break;
                }
                Span<byte> room = pool.Buffer(buffer)[PacketPool.Headroom..];
                long r;
                fixed (byte* p = &MemoryMarshal.GetReference(room))
                {
                    r = read(Fd, p, room.Length);
                }
                if (r <= 0)
                {
                    pool.Return(buffer);
                    if (r < 0 && errno != EAGAIN)
                    {
                        RxErrors++;
                    }
                    break;
                }
                packets[n++] = new PacketDescriptor { Buffer = buffer, Offset = PacketPool.Headroom, Length = (int)r };
            }
            return n;
        }

        public int Transmit(ReadOnlySpan<PacketDescriptor> packets, PacketPool pool)
        {
            int sent = 0;
            foreach (ref readonly PacketDescriptor packet in packets)
            {
                Span<byte> frame = pool.Frame(packet);
                long r;
                fixed (byte* p = &MemoryMarshal.GetReference(frame))
                {
                    r = write(Fd, p, frame.Length);
                }
                if (r == frame.Length)
                {
                    sent++;
                }
                else
                {
                    TxDropped++;
                }
            }
            return sent;
        }

        public void AttachWakeup(WorkerWakeup wakeup) => Volatile.Write(ref _wakeup, wakeup);

        public void OnReady(int events) => Volatile.Read(ref _wakeup)?.Set();
    }
}
