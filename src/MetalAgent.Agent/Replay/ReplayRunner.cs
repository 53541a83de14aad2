using MetalAgent.Backends;
using MetalAgent.Backends.Memory;
using MetalAgent.Dataplane;
using MetalAgent.Tables.Snapshot;
using DataplaneRuntime = MetalAgent.Dataplane.Runtime.Dataplane;

namespace MetalAgent.Agent.Replay;

/// <summary>What happened to one replayed frame.</summary>
public sealed record ReplayVerdict(int Index, string InPort, IReadOnlyList<string> OutPorts, IReadOnlyList<string> DropReasons)
{
    public override string ToString()
    {
        string outcome = OutPorts.Count > 0
            ? "forward " + string.Join(",", OutPorts)
            : DropReasons.Count > 0 ? "drop " + string.Join(",", DropReasons) : "no output";
        return $"#{Index + 1} in={InPort} {outcome}";
    }
}

/// <summary>
/// Feeds frames into named ports of a pipeline built from a compiled snapshot, on in-memory ports,
/// one frame at a time, and records what left each port and why frames were dropped. Backs
/// <c>metalagent replay</c> and the replay tests.
/// </summary>
public sealed class ReplayRunner : IDisposable
{
    private readonly DataplaneRuntime _dataplane;
    private readonly Dictionary<string, InMemoryPort> _ports = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<byte[]>> _outputs = new(StringComparer.Ordinal);
    private int _frames;

    public ReplayRunner(DataplaneSnapshot snapshot)
    {
        _dataplane = new DataplaneRuntime(workers: 1, poolSizePerWorker: 1024, conntrack: new Dataplane.Flows.ConntrackOptions { Capacity = 1 << 16 });
        foreach (PortEntry p in snapshot.Ports)
        {
            if (!p.Present)
            {
                continue;
            }
            var port = new InMemoryPort(p.Name, p.Kind == PortKind.Uplink ? PortRole.Uplink : PortRole.Vm, capacity: 1024);
            _ports[p.Name] = port;
            _outputs[p.Name] = [];
            _dataplane.AddPort(port);
        }
        _dataplane.Publish(snapshot);
    }

    public DataplaneRuntime Dataplane => _dataplane;

    /// <summary>Frames that left each port so far, in order.</summary>
    public IReadOnlyDictionary<string, List<byte[]>> Outputs => _outputs;

    /// <summary>Publishes a new snapshot (for tests of updates mid-replay).</summary>
    public void Publish(DataplaneSnapshot snapshot) => _dataplane.Publish(snapshot);

    /// <summary>Runs one frame through the pipeline and reports where it went.</summary>
    public ReplayVerdict Inject(string portName, ReadOnlySpan<byte> frame)
    {
        if (!_ports.TryGetValue(portName, out InMemoryPort? port))
        {
            throw new ArgumentException($"no port named '{portName}' in this host state", nameof(portName));
        }
        long[] dropsBefore = DropCounts();
        port.Inject(frame);
        _dataplane.Drain();
        var outPorts = new List<string>();
        foreach ((string name, InMemoryPort p) in _ports)
        {
            List<byte[]> sent = p.TakeAll();
            if (sent.Count > 0)
            {
                outPorts.Add(name);
                _outputs[name].AddRange(sent);
            }
        }
        long[] dropsAfter = DropCounts();
        var reasons = new List<string>();
        for (int i = 0; i < dropsAfter.Length; i++)
        {
            if (dropsAfter[i] != dropsBefore[i])
            {
                reasons.Add(DropReasons.Name((DropReason)i));
            }
        }
        outPorts.Sort(StringComparer.Ordinal);
        return new ReplayVerdict(_frames++, portName, outPorts, reasons);
    }

    private long[] DropCounts()
    {
        long[] counts = new long[DropReasons.Count];
        for (int i = 0; i < counts.Length; i++)
        {
            var reason = (DropReason)i;
            counts[i] = _dataplane.Sum(c => c.Drops(reason));
        }
        return counts;
    }

    public void Dispose() => _dataplane.Dispose();
}
