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
    private readonly long[] _natPortsReleased = new long[MaxInterfaces];

    public ConntrackState(ConntrackOptions options, int workers)
    {
        Options = options;
        Table = new FlowTable<FlowState>(options.Capacity, workers);
    }

    public ConntrackOptions Options { get; }

    public FlowTable<FlowState> Table { get; }

    /// <summary>Where later fragments find the flow of their first fragment.</summary>
    public FragmentTable Fragments { get; } = new();

    /// <summary>
    /// Looks up the flow of a packet. Later fragments (no ports) are found through the fragment
    /// table, and the flow must still hold the fragment's addresses; first fragments of a hit are
    /// recorded there for the fragments that follow.
    /// </summary>
    public int Find(in FlowKey key, in Packets.PacketHeaders h, long now, out int direction)
    {
        if ((h.Flags & Packets.PacketFlags.Fragment) == 0)
        {
            return Table.Lookup(key, out direction);
        }
        if ((h.Flags & Packets.PacketFlags.HasL4) == 0)
        {
            int flow = Fragments.Find(in key, h.FragmentId, now, out direction);
            if (flow >= 0 && Table.IsLive(flow))
            {
                ref readonly FlowKey k = ref Table.Key(flow, direction);
                if (k.Src == key.Src && k.Dst == key.Dst && k.Zone == key.Zone && k.Protocol == key.Protocol)
                {
                    return flow;
                }
            }
            direction = 0;
            return -1;
        }
        int id = Table.Lookup(key, out direction);
        if (id >= 0)
        {
            Fragments.Record(in key, h.FragmentId, id, direction, now);
        }
        return id;
    }

    /// <summary>A later fragment (no ports): it can only follow a flow, never start one.</summary>
    public static bool IsLaterFragment(in Packets.PacketHeaders h) =>
        (h.Flags & (Packets.PacketFlags.Fragment | Packets.PacketFlags.HasL4)) == Packets.PacketFlags.Fragment;

    /// <summary>Records a new flow for the fragments that follow its first fragment.</summary>
    public void Created(in FlowKey key, in Packets.PacketHeaders h, int flow, long now)
    {
        if ((h.Flags & Packets.PacketFlags.Fragment) != 0 && flow >= 0)
        {
            Fragments.Record(in key, h.FragmentId, flow, 0, now);
        }
    }

    /// <summary>NAT slice ports of an interface given back by the sweeper; ports in use are the workers'
    /// <see cref="WorkerCounters.NatPortsTakenOf"/> summed, minus this.</summary>
    public long NatPortsReleased(int iface) => Volatile.Read(ref _natPortsReleased[Slot(iface)]);

    /// <summary>A flow holding a NAT port came back from a saved file (before the workers and the sweeper
    /// start): counted as in use until the sweeper removes it, as if a worker had taken it.</summary>
    internal void NatPortRestored(int iface) => _natPortsReleased[Slot(iface)]--;

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

        public void Removed(in FlowKey forward, ref FlowState value)
        {
            _state.Release(value.Interface, value.PeerInterface);
            if (value.NatPort && value.Interface >= 0)
            {
                // Only the sweeper (one thread) writes this.
                ref long released = ref _state._natPortsReleased[Slot(value.Interface)];
                Volatile.Write(ref released, released + 1);
            }
        }
    }
}
