using MetalAgent.Backends;
using MetalAgent.Dataplane.Flows;
using MetalAgent.Tables.Snapshot;

namespace MetalAgent.Dataplane.Runtime;

/// <summary>
/// The running dataplane: the ports this host has bound, the workers, and the current snapshot.
/// <see cref="Publish"/> binds a compiled snapshot to the ports and swaps one reference; workers
/// pick it up at their next burst. Control-plane threads call Publish/AddPort; workers only read.
/// </summary>
public sealed class Dataplane : IDisposable
{
    private readonly Dictionary<string, IPort> _ports = new(StringComparer.Ordinal);
    private readonly Worker[] _workers;
    private readonly object _publishLock = new();
    private BoundSnapshot? _current;
    private CancellationTokenSource? _stop;

    public Dataplane(int workers = 1, int poolSizePerWorker = 4096, ConntrackOptions? conntrack = null, DataplaneClock? clock = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(workers, 1);
        Conntrack = new ConntrackState(conntrack ?? new ConntrackOptions(), workers);
        Clock = clock ?? new DataplaneClock();
        _workers = new Worker[workers];
        for (int i = 0; i < workers; i++)
        {
            _workers[i] = new Worker(this, i, poolSizePerWorker);
        }
    }

    public IReadOnlyList<Worker> Workers => _workers;

    /// <summary>Connection tracking shared by the workers.</summary>
    public ConntrackState Conntrack { get; }

    public DataplaneClock Clock { get; }

    /// <summary>Seconds between the unsolicited router advertisements every VM port gets (the first
    /// one as soon as a worker owns the port); 0 turns them off (solicitations are still answered).
    /// At most 600, so that at least three fall within the advertised router lifetime (1800 s).</summary>
    public long RouterAdvertisementInterval
    {
        get => Volatile.Read(ref _routerAdvertisementInterval);
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, Stages.NeighborDiscoveryStage.RouterLifetime / 3);
            Volatile.Write(ref _routerAdvertisementInterval, value);
        }
    }

    private long _routerAdvertisementInterval = 60;

    /// <summary>The snapshot the workers read, or null before the first publish.</summary>
    public BoundSnapshot? Current => Volatile.Read(ref _current);

    /// <summary>Makes a port available by name; it is used from the next publish that names it.</summary>
    public void AddPort(IPort port)
    {
        // Worker i owns queue i of every port, for receive and for transmit; a port with fewer
        // queues than workers would make two workers share a single-producer queue.
        if (port.QueueCount < _workers.Length)
        {
            throw new ArgumentException($"port '{port.Name}' has {port.QueueCount} queue(s) but the dataplane runs {_workers.Length} workers: give it one queue per worker", nameof(port));
        }
        lock (_publishLock)
        {
            _ports[port.Name] = port;
            if (_current is not null)
            {
                Bind(_current.Tables);
            }
        }
    }

    public void RemovePort(string name)
    {
        lock (_publishLock)
        {
            _ports.Remove(name);
            if (_current is not null)
            {
                Bind(_current.Tables);
            }
        }
    }

    /// <summary>Publishes a compiled snapshot (one reference swap), then kills the flows it
    /// invalidates. Returns how many flows were killed.</summary>
    public int Publish(DataplaneSnapshot tables)
    {
        lock (_publishLock)
        {
            Bind(tables);
            return FlowRevalidator.Revalidate(Conntrack, tables);
        }
    }

    private void Bind(DataplaneSnapshot tables)
    {
        var ports = new IPort?[tables.Ports.Length];
        for (int i = 0; i < ports.Length; i++)
        {
            PortEntry entry = tables.Ports[i];
            if (entry.Present && _ports.TryGetValue(entry.Name, out IPort? port))
            {
                ports[i] = port;
            }
        }
        BoundSnapshot? previous = _current;
        var state = new InterfaceState(tables.Interfaces.Length, previous?.Interfaces);
        if (previous is not null)
        {
            // An interface id whose spec id changed is a different interface: forget its MAC.
            InterfaceEntry[] old = previous.Tables.Interfaces;
            for (int i = 0; i < Math.Min(old.Length, tables.Interfaces.Length); i++)
            {
                if (old[i].Id != tables.Interfaces[i].Id)
                {
                    state.Forget(i);
                }
            }
        }
        HostTable host = tables.Host;
        if (host.GatewayMac != 0)
        {
            state.GatewayMac = host.GatewayMac;
        }
        else if (previous is not null
            && (previous.Tables.Host.GatewayAddress != host.GatewayAddress || previous.Tables.Host.GatewayMac != 0
                || previous.Tables.Host.UplinkPort != host.UplinkPort))
        {
            // Another gateway, another uplink, or a pin just lifted: resolve it again.
            state.GatewayMac = 0;
        }
        Volatile.Write(ref _current, new BoundSnapshot(tables, ports, state));
        foreach (Worker w in _workers)
        {
            w.Wake();
        }
    }

    /// <summary>Starts one thread per worker, and the flow sweeper.</summary>
    public void Start()
    {
        _stop = new CancellationTokenSource();
        foreach (Worker w in _workers)
        {
            w.Start(_stop.Token);
        }
        CancellationToken token = _stop.Token;
        _sweeper = new Thread(() => SweepLoop(token)) { IsBackground = true, Name = "metalagent-sweeper" };
        _sweeper.Start();
    }

    private Thread? _sweeper;

    /// <summary>
    /// Ages flows once a second, and returns unlinked entries to the workers once every worker has
    /// completed a round since they were unlinked (idle workers still complete a round every 50 ms).
    /// </summary>
    private void SweepLoop(CancellationToken token)
    {
        long[] marks = new long[_workers.Length];
        while (!token.WaitHandle.WaitOne(1000))
        {
            Conntrack.Sweep(Clock.Now, Conntrack.Table.Capacity);
            for (int i = 0; i < marks.Length; i++)
            {
                marks[i] = _workers[i].Rounds;
            }
            while (!token.IsCancellationRequested && !AllAdvanced(marks))
            {
                token.WaitHandle.WaitOne(10);
            }
            Conntrack.Table.Quiesced();
        }
    }

    private bool AllAdvanced(long[] marks)
    {
        for (int i = 0; i < marks.Length; i++)
        {
            if (_workers[i].Rounds <= marks[i])
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Ages and reclaims flows on the calling thread; only when no worker thread runs
    /// (tests and replay, which drive the workers with <see cref="Drain"/>).</summary>
    public int SweepNow()
    {
        int removed = Conntrack.Sweep(Clock.Now, Conntrack.Table.Capacity);
        Conntrack.Table.Quiesced();
        Conntrack.Table.Quiesced();
        return removed;
    }

    /// <summary>Stops the worker threads and waits for them.</summary>
    public void Stop()
    {
        if (_stop is null)
        {
            return;
        }
        _stop.Cancel();
        foreach (Worker w in _workers)
        {
            w.Wake();
            w.Join();
        }
        _sweeper?.Join();
        _sweeper = null;
        _stop.Dispose();
        _stop = null;
    }

    /// <summary>Runs every worker's round on the calling thread until no packet is left (tests, replay).</summary>
    public int Drain()
    {
        int total = 0;
        int n;
        do
        {
            n = 0;
            foreach (Worker w in _workers)
            {
                n += w.PollOnce();
            }
            total += n;
        }
        while (n > 0);
        return total;
    }

    /// <summary>Runs every worker's timer work (periodic router advertisements) on the calling thread;
    /// only when no worker thread runs (tests, replay). Returns how many frames were built.</summary>
    public int RunTimers()
    {
        int total = 0;
        foreach (Worker w in _workers)
        {
            total += w.RunTimers();
        }
        return total;
    }

    /// <summary>Sum of a counter over all workers.</summary>
    public long Sum(Func<WorkerCounters, long> counter)
    {
        long sum = 0;
        foreach (Worker w in _workers)
        {
            sum += counter(w.Counters);
        }
        return sum;
    }

    public void Dispose()
    {
        Stop();
        foreach (Worker w in _workers)
        {
            w.Dispose();
        }
    }
}
