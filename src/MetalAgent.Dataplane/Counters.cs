using MetalAgent.Tables.Snapshot;

namespace MetalAgent.Dataplane;

/// <summary>
/// Counters written by one worker only (plain increments, no atomics) and read by anyone at any
/// time with <see cref="Volatile"/> reads; totals are the sum over workers. Port counters are
/// indexed by port id, and grow when a snapshot adds ports.
/// </summary>
public sealed class WorkerCounters
{
    public const int MaxPorts = 65536;

    private long[] _rxPackets = new long[16];
    private long[] _rxBytes = new long[16];
    private long[] _txPackets = new long[16];
    private long[] _txBytes = new long[16];
    private readonly long[] _drops = new long[DropReasons.Count];
    private long[] _natExhausted = new long[16];
    private long[] _flowCapReached = new long[16];
    private long[] _natPortsTaken = new long[16];
    private LoadBalancerPicks[] _lbPicks = [];
    private long _flowsCreated;
    private long _gatewaySolicitations;
    private long _gatewayWaited;

    /// <summary>Makes room for <paramref name="ports"/> ports; called by the worker thread between bursts.</summary>
    public void EnsurePorts(int ports)
    {
        if (ports <= _rxPackets.Length)
        {
            return;
        }
        int size = Math.Max(ports, _rxPackets.Length * 2);
        _rxPackets = Grow(_rxPackets, size);
        _rxBytes = Grow(_rxBytes, size);
        _txPackets = Grow(_txPackets, size);
        _txBytes = Grow(_txBytes, size);
    }

    private static long[] Grow(long[] a, int size)
    {
        long[] b = new long[size];
        a.CopyTo(b, 0);
        return b;
    }

    public void Rx(int port, int bytes)
    {
        _rxPackets[port]++;
        _rxBytes[port] += bytes;
    }

    public void Tx(int port, int bytes)
    {
        _txPackets[port]++;
        _txBytes[port] += bytes;
    }

    public void Drop(DropReason reason) => _drops[(int)reason]++;

    /// <summary>Makes room for per-interface counters of <paramref name="interfaces"/> interfaces.</summary>
    public void EnsureInterfaces(int interfaces)
    {
        if (interfaces > _natExhausted.Length)
        {
            int size = Math.Max(interfaces, _natExhausted.Length * 2);
            _natExhausted = Grow(_natExhausted, size);
            _flowCapReached = Grow(_flowCapReached, size);
            _natPortsTaken = Grow(_natPortsTaken, size);
        }
    }

    /// <summary>
    /// Makes a pick counter row for every load balancer of a snapshot; called by the worker thread between
    /// bursts. A row is kept while its load balancer keeps the same id and target set (so counts survive
    /// unrelated publishes), and starts from zero when its targets change (a counter reset for readers).
    /// </summary>
    public void EnsureLoadBalancers(LoadBalancerEntry[] loadBalancers)
    {
        LoadBalancerPicks[] old = _lbPicks;
        bool same = old.Length == loadBalancers.Length;
        for (int i = 0; same && i < old.Length; i++)
        {
            same = old[i].Matches(loadBalancers[i]);
        }
        if (same)
        {
            return;
        }
        var rows = new LoadBalancerPicks[loadBalancers.Length];
        for (int i = 0; i < rows.Length; i++)
        {
            rows[i] = i < old.Length && old[i].Matches(loadBalancers[i]) ? old[i] : new LoadBalancerPicks(loadBalancers[i]);
        }
        Volatile.Write(ref _lbPicks, rows);
    }

    /// <summary>A new flow of the interface found its NAT port range exhausted.</summary>
    public void NatExhausted(int iface) => _natExhausted[iface]++;

    /// <summary>A new flow of the interface hit the per-interface flow cap.</summary>
    public void FlowCapReached(int iface) => _flowCapReached[iface]++;

    public void FlowCreated() => _flowsCreated++;

    /// <summary>A neighbor solicitation for the uplink's gateway went out.</summary>
    public void GatewaySolicitationSent() => _gatewaySolicitations++;

    /// <summary>A frame that waited for the gateway MAC was sent once it was resolved.</summary>
    public void GatewayWaitReleased() => _gatewayWaited++;

    public long GatewaySolicitations => Volatile.Read(ref _gatewaySolicitations);

    public long GatewayWaited => Volatile.Read(ref _gatewayWaited);

    /// <summary>A flow entry holding a port of the interface's NAT slice was inserted (it is released
    /// when the sweeper removes the entry, see <see cref="Flows.ConntrackState.NatPortsReleased"/>).</summary>
    public void NatPortTaken(int iface) => _natPortsTaken[iface]++;

    /// <summary>A new flow of load balancer <paramref name="lb"/> picked Maglev target index <paramref name="target"/>.</summary>
    public void LoadBalancerPick(int lb, int target) => _lbPicks[lb].Picks[target]++;

    /// <summary>The pick counter rows, by load-balancer id of the snapshot the worker attached last.</summary>
    public IReadOnlyList<LoadBalancerPicks> LoadBalancerPickRows => Volatile.Read(ref _lbPicks);

    public long NatPortsTakenOf(int iface) => iface < Volatile.Read(ref _natPortsTaken).Length ? Volatile.Read(ref _natPortsTaken[iface]) : 0;

    public long NatExhaustedOf(int iface) => iface < Volatile.Read(ref _natExhausted).Length ? Volatile.Read(ref _natExhausted[iface]) : 0;

    public long FlowCapReachedOf(int iface) => iface < Volatile.Read(ref _flowCapReached).Length ? Volatile.Read(ref _flowCapReached[iface]) : 0;

    public long FlowsCreated => Volatile.Read(ref _flowsCreated);

    public long RxPackets(int port) => port < Volatile.Read(ref _rxPackets).Length ? Volatile.Read(ref _rxPackets[port]) : 0;
    public long RxBytes(int port) => port < Volatile.Read(ref _rxBytes).Length ? Volatile.Read(ref _rxBytes[port]) : 0;
    public long TxPackets(int port) => port < Volatile.Read(ref _txPackets).Length ? Volatile.Read(ref _txPackets[port]) : 0;
    public long TxBytes(int port) => port < Volatile.Read(ref _txBytes).Length ? Volatile.Read(ref _txBytes[port]) : 0;
    public long Drops(DropReason reason) => Volatile.Read(ref _drops[(int)reason]);
}

/// <summary>One worker's Maglev pick counts for one load balancer, by target index; the target set is kept
/// with the counts so a reader maps indexes to targets consistently.</summary>
public sealed class LoadBalancerPicks
{
    private readonly long[] _picks;

    public LoadBalancerPicks(LoadBalancerEntry entry)
    {
        Id = entry.Id;
        Targets = entry.Maglev.Targets.ToArray();
        _picks = new long[Targets.Length];
    }

    /// <summary>The load balancer's id (empty for a removed slot).</summary>
    public string Id { get; }

    /// <summary>Underlay /128s of the targets, by Maglev target index.</summary>
    public UInt128[] Targets { get; }

    internal long[] Picks => _picks;

    public long PicksOf(int target) => Volatile.Read(ref _picks[target]);

    internal bool Matches(LoadBalancerEntry entry) => Id == entry.Id && entry.Maglev.Targets.SequenceEqual(Targets);
}
