namespace MetalAgent.Backends.Memory;

/// <summary>
/// A port backed by rings in memory, one rx and one tx ring per queue: tests and tools
/// <see cref="Inject"/> frames that the workers receive, and <see cref="TakeAll"/> what the
/// workers sent. Used by unit tests, benchmarks and pcap replay.
/// </summary>
public sealed class InMemoryPort : IPort
{
    private readonly MemoryQueue[] _queues;

    public InMemoryPort(string name, PortRole role, int queueCount = 1, int capacity = 256, int slotSize = 9216 + 64)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(queueCount, 1);
        Name = name;
        Role = role;
        MacAddress = NameToMac(name);
        _queues = new MemoryQueue[queueCount];
        for (int i = 0; i < queueCount; i++)
        {
            _queues[i] = new MemoryQueue(capacity, slotSize);
        }
    }

    public string Name { get; }

    public PortRole Role { get; }

    /// <summary>A locally administered MAC derived from the port name, so replays are reproducible.</summary>
    public ulong MacAddress { get; }

    public int QueueCount => _queues.Length;

    /// <summary>Frames the port could not take because a tx ring was full.</summary>
    public long TxDropped
    {
        get
        {
            long sum = 0;
            foreach (MemoryQueue q in _queues)
            {
                sum += Volatile.Read(ref q.TxDropped);
            }
            return sum;
        }
    }

    /// <summary>Frames waiting to be received by the workers.</summary>
    public int PendingRx
    {
        get
        {
            int sum = 0;
            foreach (MemoryQueue q in _queues)
            {
                sum += q.Rx.Count;
            }
            return sum;
        }
    }

    public IPortQueue Queue(int index) => _queues[index];

    /// <summary>Queues a frame for the worker of <paramref name="queue"/> (one producer per queue at a
    /// time). False when the ring is full.</summary>
    public bool Inject(ReadOnlySpan<byte> frame, int queue = 0)
    {
        MemoryQueue q = _queues[queue];
        bool ok = q.Rx.TryWrite(frame);
        q.Wakeup?.Set();
        return ok;
    }

    /// <summary>Discards every frame the workers sent so far without copying (benchmarks, allocation
    /// tests); returns how many there were.</summary>
    public int DiscardSent()
    {
        int n = 0;
        foreach (MemoryQueue q in _queues)
        {
            while (q.Tx.TryPeek(out _))
            {
                q.Tx.Advance();
                n++;
            }
        }
        return n;
    }

    /// <summary>Takes every frame the workers sent so far, queue by queue.</summary>
    public List<byte[]> TakeAll()
    {
        var frames = new List<byte[]>();
        foreach (MemoryQueue q in _queues)
        {
            while (q.Tx.TryReadCopy() is { } frame)
            {
                frames.Add(frame);
            }
        }
        return frames;
    }

    public void Dispose()
    {
    }

    private static ulong NameToMac(string name)
    {
        // FNV-1a over the name; 0x02 first octet = locally administered unicast.
        ulong h = 14695981039346656037UL;
        foreach (char c in name)
        {
            h = (h ^ c) * 1099511628211UL;
        }
        return 0x0200_0000_0000UL | (h & 0x00FF_FFFF_FFFFUL);
    }

    private sealed class MemoryQueue : IPortQueue
    {
        public readonly FrameRing Rx;
        public readonly FrameRing Tx;
        public WorkerWakeup? Wakeup;
        public long TxDropped;

        public MemoryQueue(int capacity, int slotSize)
        {
            Rx = new FrameRing(capacity, slotSize);
            Tx = new FrameRing(capacity, slotSize);
        }

        public int Receive(Span<PacketDescriptor> packets, PacketPool pool)
        {
            int n = 0;
            while (n < packets.Length && Rx.TryPeek(out ReadOnlySpan<byte> frame))
            {
                int buffer = pool.Rent();
                if (buffer < 0)
                {
                    break;
                }
                frame.CopyTo(pool.Buffer(buffer)[PacketPool.Headroom..]);
                packets[n] = new PacketDescriptor { Buffer = buffer, Offset = PacketPool.Headroom, Length = frame.Length };
                Rx.Advance();
                n++;
            }
            return n;
        }

        public int Transmit(ReadOnlySpan<PacketDescriptor> packets, PacketPool pool)
        {
            int sent = 0;
            foreach (ref readonly PacketDescriptor p in packets)
            {
                if (Tx.TryWrite(pool.Frame(p)))
                {
                    sent++;
                }
                else
                {
                    Interlocked.Increment(ref TxDropped);
                }
            }
            return sent;
        }

        public void AttachWakeup(WorkerWakeup wakeup) => Wakeup = wakeup;
    }
}
