namespace MetalAgent.Dataplane.Flows;

/// <summary>
/// Connection tracking shared by all workers: the flow table, per-interface flow counts (hard
/// caps), and the sweeper that ages flows out. Workers insert and look up without locks; only the
/// sweeper (one thread, or the test thread) removes.
/// </summary>
public sealed class ConntrackState
{
    /// <summary>Interface ids the per-interface counters cover; larger ids share the last slot.</summary>
    public const int MaxInterfaces = 1 << 16;

    private readonly int[] _perInterface = new int[MaxInterfaces];

    public ConntrackState(ConntrackOptions options, int workers)
    {
        Options = options;
        Table = new FlowTable<FlowState>(options.Capacity, workers);
    }

    public ConntrackOptions Options { get; }

    public FlowTable<FlowState> Table { get; }

    /// <summary>Flows currently counted against an interface.</summary>
    public int FlowsOf(int iface) => Volatile.Read(ref _perInterface[Slot(iface)]);

    private static int Slot(int iface) => Math.Min(iface, MaxInterfaces - 1);

    /// <summary>Reserves room for a new flow of an interface (and of a second local party); false when
    /// a cap is reached.</summary>
    public bool TryReserve(int iface, int peer)
    {
        if (iface >= 0 && Interlocked.Increment(ref _perInterface[Slot(iface)]) > Options.MaxFlowsPerInterface)
        {
            Interlocked.Decrement(ref _perInterface[Slot(iface)]);
            return false;
        }
        if (peer >= 0 && Interlocked.Increment(ref _perInterface[Slot(peer)]) > Options.MaxFlowsPerInterface)
        {
            Interlocked.Decrement(ref _perInterface[Slot(peer)]);
            Release(iface, -1);
            return false;
        }
        return true;
    }

    /// <summary>Gives back what <see cref="TryReserve"/> took.</summary>
    public void Release(int iface, int peer)
    {
        if (iface >= 0)
        {
            Interlocked.Decrement(ref _perInterface[Slot(iface)]);
        }
        if (peer >= 0)
        {
            Interlocked.Decrement(ref _perInterface[Slot(peer)]);
        }
    }

    /// <summary>Timeout of a flow in seconds.</summary>
    public int TimeoutOf(in FlowKey key, in FlowState state) => key.Protocol switch
    {
        6 => state.Tcp == TcpProgress.Established ? Options.TcpEstablishedTimeout : Options.TcpTransitoryTimeout,
        17 => Options.UdpTimeout,
        1 or 58 => Options.IcmpTimeout,
        _ => Options.OtherTimeout,
    };

    /// <summary>Sweeper: ages out up to <paramref name="budget"/> entries and unlinks dead ones.</summary>
    public int Sweep(long now, int budget)
    {
        var expiry = new Expiry(this);
        return Table.Sweep(ref expiry, now, budget);
    }

    private readonly struct Expiry : IFlowExpiry<FlowState>
    {
        private readonly ConntrackState _state;

        public Expiry(ConntrackState state) => _state = state;

        public bool IsExpired(in FlowKey forward, ref FlowState value, long lastSeen, long now) =>
            now - lastSeen >= _state.TimeoutOf(in forward, in value);

        public void Removed(in FlowKey forward, ref FlowState value) => _state.Release(value.Interface, value.PeerInterface);
    }
}
