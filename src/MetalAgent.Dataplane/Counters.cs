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
        }
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

    public long NatExhaustedOf(int iface) => iface < Volatile.Read(ref _natExhausted).Length ? Volatile.Read(ref _natExhausted[iface]) : 0;

    public long FlowCapReachedOf(int iface) => iface < Volatile.Read(ref _flowCapReached).Length ? Volatile.Read(ref _flowCapReached[iface]) : 0;

    public long FlowsCreated => Volatile.Read(ref _flowsCreated);

    public long RxPackets(int port) => port < Volatile.Read(ref _rxPackets).Length ? Volatile.Read(ref _rxPackets[port]) : 0;
    public long RxBytes(int port) => port < Volatile.Read(ref _rxBytes).Length ? Volatile.Read(ref _rxBytes[port]) : 0;
    public long TxPackets(int port) => port < Volatile.Read(ref _txPackets).Length ? Volatile.Read(ref _txPackets[port]) : 0;
    public long TxBytes(int port) => port < Volatile.Read(ref _txBytes).Length ? Volatile.Read(ref _txBytes[port]) : 0;
    public long Drops(DropReason reason) => Volatile.Read(ref _drops[(int)reason]);
}
