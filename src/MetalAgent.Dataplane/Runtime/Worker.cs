using MetalAgent.Backends;

namespace MetalAgent.Dataplane.Runtime;

/// <summary>
/// One packet worker: owns a buffer pool, one queue of every port, and its counters. Each round
/// it reads the current snapshot once, takes a burst from each queue, runs every packet through
/// the <see cref="Pipeline"/>, and sends bursts out. Idle workers block on a wakeup.
/// </summary>
public sealed class Worker : IDisposable
{
    public const int BurstSize = 32;

    private readonly Dataplane _dataplane;
    private readonly PacketPool _pool;
    private readonly WorkerWakeup _wakeup = new();
    private readonly PacketDescriptor[] _rx = new PacketDescriptor[BurstSize];
    private readonly ulong[] _keyHashes = new ulong[BurstSize];
    private readonly Packets.PacketHeaders[] _parsed = new Packets.PacketHeaders[BurstSize];
    private readonly bool[] _parseOk = new bool[BurstSize];
    private readonly TxBatches _tx;
    private readonly RouterAdvertiser _advertiser = new();
    private readonly GatewayResolver? _resolver;
    private readonly GatewayWaitQueue _waiting = new();
    private readonly PacketDescriptor[] _timerPackets = new PacketDescriptor[BurstSize];
    private BoundSnapshot? _attached;
    private IPortQueue?[] _queues = [];
    private Thread? _thread;
    private long _rounds;

    private readonly WorkerContext _context;

    internal Worker(Dataplane dataplane, int index, int poolSize)
    {
        _dataplane = dataplane;
        Index = index;
        _pool = new PacketPool(poolSize);
        _tx = new TxBatches(BurstSize);
        _context = new WorkerContext(index, Counters, dataplane.Conntrack);
        // One worker resolves the uplink's gateway; every worker may hold frames waiting for it.
        _resolver = index == 0 ? new GatewayResolver() : null;
    }

    public int Index { get; }

    public WorkerCounters Counters { get; } = new();

    /// <summary>Completed rounds; a watchdog sees the worker alive while this moves or it is idle-blocked.</summary>
    public long Rounds => Volatile.Read(ref _rounds);

    internal void Start(CancellationToken cancellationToken)
    {
        _thread = new Thread(() => Run(cancellationToken)) { IsBackground = true, Name = $"metalagent-worker-{Index}" };
        _thread.Start();
    }

    internal void Join() => _thread?.Join();

    internal void Wake() => _wakeup.Set();

    private void Run(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            int received = PollOnce();
            RunTimers();
            if (received == 0)
            {
                // Short timeout: a lost wakeup only costs this much latency.
                _wakeup.Wait(50, cancellationToken);
            }
        }
    }

    /// <summary>One round over every port queue; returns how many packets were received. Called by the
    /// worker thread, or directly by tests and replay when no thread was started.</summary>
    public int PollOnce()
    {
        BoundSnapshot? bound = _dataplane.Current;
        if (bound is null)
        {
            return 0;
        }
        if (!ReferenceEquals(bound, _attached))
        {
            Attach(bound);
        }
        int total = 0;
        _context.Now = _dataplane.Clock.Now;
        IPortQueue?[] queues = _queues;
        for (int port = 0; port < queues.Length; port++)
        {
            IPortQueue? queue = queues[port];
            if (queue is null)
            {
                continue;
            }
            int n = queue.Receive(_rx, _pool);
            if (n == 0)
            {
                continue;
            }
            total += n;
            PrefetchFlows(bound.Tables, port, n);
            for (int i = 0; i < n; i++)
            {
                ref PacketDescriptor p = ref _rx[i];
                p.Port = (ushort)port;
                Counters.Rx(port, p.Length);
                Verdict v = _parseOk[i]
                    ? Pipeline.ProcessParsed(bound, _pool, ref p, _context, in _parsed[i])
                    : Pipeline.Process(bound, _pool, ref p, _context);
                if (v.Kind == VerdictKind.Forward)
                {
                    if (!_tx.Add(v.Port, p))
                    {
                        Flush(bound);
                        _tx.Add(v.Port, p);
                    }
                }
                else if (v.Kind == VerdictKind.AwaitGateway)
                {
                    if (!_waiting.TryAdd(p, _context.Now))
                    {
                        Counters.Drop(DropReason.GatewayWaitQueueFull);
                        _pool.Return(p.Buffer);
                    }
                }
                else
                {
                    Counters.Drop(v.Kind == VerdictKind.Drop ? v.Reason : DropReason.NotForwarded);
                    _pool.Return(p.Buffer);
                }
            }
            Flush(bound);
        }
        if (_waiting.Count > 0)
        {
            ReleaseWaiting(bound, _context.Now);
        }
        Volatile.Write(ref _rounds, _rounds + 1);
        return total;
    }

    /// <summary>Passes 1 and 2 of a burst (see <see cref="FlowPrefetch"/>): every packet is parsed (once:
    /// the parse is kept for the pipeline) and its flow bucket, then its flow entry, start loading before
    /// the first packet is processed.</summary>
    private void PrefetchFlows(Tables.Snapshot.DataplaneSnapshot tables, int port, int n)
    {
        Flows.FlowTable<Flows.FlowState> flows = _context.Conntrack.Table;
        ulong[] hashes = _keyHashes;
        for (int i = 0; i < n; i++)
        {
            ulong hash = FlowPrefetch.KeyHash(tables, _pool.Frame(in _rx[i]), port, ref _parsed[i], out _parseOk[i]);
            hashes[i] = hash;
            if (hash != 0)
            {
                flows.PrefetchBucket(hash);
            }
        }
        for (int i = 0; i < n; i++)
        {
            if (hashes[i] != 0)
            {
                flows.PrefetchEntry(hashes[i]);
            }
        }
    }

    /// <summary>
    /// Timer work: the unsolicited router advertisements due on the VM ports whose queue this worker
    /// owns, the solicitation for the uplink's gateway when one is due (worker 0), and the release or
    /// expiry of frames waiting for the gateway MAC; frames are built into its pool and sent through its
    /// tx batches. The worker thread calls it after every round; when nothing is due it costs a clock
    /// read and a few comparisons. Tests and replay without a worker thread call it directly
    /// (<see cref="Dataplane.RunTimers"/>); <see cref="PollOnce"/> never sends anything unasked.
    /// Returns how many frames it built.
    /// </summary>
    public int RunTimers()
    {
        BoundSnapshot? bound = _dataplane.Current;
        if (bound is null)
        {
            return 0;
        }
        if (!ReferenceEquals(bound, _attached))
        {
            Attach(bound);
        }
        long now = _dataplane.Clock.Now;
        long interval = _dataplane.RouterAdvertisementInterval;
        int n = 0;
        if (interval > 0 && now >= _advertiser.NextDue)
        {
            n = _advertiser.Build(bound, _pool, Counters, now, interval, _timerPackets);
        }
        if (_resolver is not null && _resolver.IsDue(bound, now))
        {
            n += _resolver.Build(bound, _pool, Counters, now, _timerPackets.AsSpan(n));
        }
        for (int i = 0; i < n; i++)
        {
            PacketDescriptor p = _timerPackets[i];
            if (!_tx.Add(p.Port, p))
            {
                Flush(bound);
                _tx.Add(p.Port, p);
            }
        }
        if (n > 0)
        {
            Flush(bound);
        }
        if (_waiting.Count > 0)
        {
            ReleaseWaiting(bound, now);
        }
        return n;
    }

    /// <summary>Sends the frames waiting for the gateway MAC once it is known (writing it in), or
    /// drops them all when the oldest waited too long or the snapshot no longer has an uplink.</summary>
    private void ReleaseWaiting(BoundSnapshot bound, long now)
    {
        ulong mac = bound.Interfaces.GatewayMac;
        int uplink = bound.Tables.Host.UplinkPort;
        if (mac == 0 && uplink >= 0 && !_waiting.Expired(now))
        {
            return;
        }
        ReadOnlySpan<PacketDescriptor> waiting = _waiting.Packets;
        for (int i = 0; i < waiting.Length; i++)
        {
            PacketDescriptor p = waiting[i];
            if (mac == 0 || uplink < 0)
            {
                Counters.Drop(uplink < 0 ? DropReason.NoUplink : DropReason.GatewayResolutionTimeout);
                _pool.Return(p.Buffer);
                continue;
            }
            MetalAgent.Packets.Addresses.WriteMac(_pool.Frame(p), mac);
            Counters.GatewayWaitReleased();
            if (!_tx.Add(uplink, p))
            {
                Flush(bound);
                _tx.Add(uplink, p);
            }
        }
        _waiting.Clear();
        Flush(bound);
    }

    private void Flush(BoundSnapshot bound)
    {
        for (int b = 0; b < _tx.BatchCount; b++)
        {
            int port = _tx.PortOf(b);
            ReadOnlySpan<PacketDescriptor> batch = _tx.Batch(b);
            IPort? target = (uint)port < (uint)bound.Ports.Length ? bound.Ports[port] : null;
            int sent = 0;
            // Queues are single-producer: worker i only ever sends on queue i (AddPort guarantees it exists).
            if (target is not null)
            {
                sent = target.Queue(Index).Transmit(batch, _pool);
            }
            for (int i = 0; i < batch.Length; i++)
            {
                if (i < sent)
                {
                    Counters.Tx(port, batch[i].Length);
                }
                else
                {
                    Counters.Drop(target is null ? DropReason.UnknownPort : DropReason.TxFull);
                }
                _pool.Return(batch[i].Buffer);
            }
        }
        _tx.Clear();
    }

    private void Attach(BoundSnapshot bound)
    {
        var queues = new IPortQueue?[bound.Ports.Length];
        for (int i = 0; i < queues.Length; i++)
        {
            IPort? port = bound.Ports[i];
            if (port is not null && Index < port.QueueCount)
            {
                queues[i] = port.Queue(Index);
                queues[i]!.AttachWakeup(_wakeup);
            }
        }
        Counters.EnsurePorts(bound.Ports.Length);
        Counters.EnsureInterfaces(bound.Tables.Interfaces.Length);
        Counters.EnsureLoadBalancers(bound.Tables.LoadBalancers);
        _queues = queues;
        _advertiser.Attach(bound, queues);
        _resolver?.Attach(bound);
        _attached = bound;
    }

    public void Dispose() => _wakeup.Dispose();

    /// <summary>Per-port tx batches, preallocated; at most <c>BatchCapacity</c> distinct ports per flush.</summary>
    private sealed class TxBatches
    {
        private const int BatchCapacity = 16;
        private readonly PacketDescriptor[] _packets;
        private readonly int[] _ports = new int[BatchCapacity];
        private readonly int[] _counts = new int[BatchCapacity];
        private readonly int _burst;

        public TxBatches(int burst)
        {
            _burst = burst;
            _packets = new PacketDescriptor[BatchCapacity * burst];
        }

        public int BatchCount { get; private set; }

        public int PortOf(int batch) => _ports[batch];

        public ReadOnlySpan<PacketDescriptor> Batch(int batch) => _packets.AsSpan(batch * _burst, _counts[batch]);

        /// <summary>False when the batch for this port is full or there is no room for another port.</summary>
        public bool Add(int port, in PacketDescriptor packet)
        {
            int b = 0;
            while (b < BatchCount && _ports[b] != port)
            {
                b++;
            }
            if (b == BatchCount)
            {
                if (BatchCount == BatchCapacity)
                {
                    return false;
                }
                _ports[b] = port;
                _counts[b] = 0;
                BatchCount++;
            }
            if (_counts[b] == _burst)
            {
                return false;
            }
            _packets[(b * _burst) + _counts[b]++] = packet;
            return true;
        }

        public void Clear() => BatchCount = 0;
    }
}
