using MetalAgent.Backends;
using MetalAgent.Backends.Memory;
using MetalAgent.Compiler;
using MetalAgent.Model.V1;
using MetalAgent.Tables.Snapshot;
using DataplaneRuntime = MetalAgent.Dataplane.Runtime.Dataplane;

namespace MetalAgent.Dataplane.Tests.Gateway;

/// <summary>A dataplane over in-memory ports driven by hand, for what the replay runner cannot show:
/// frames sent without any frame in (timers), and allocation measured around the worker round alone.</summary>
internal sealed class MemoryDataplane : IDisposable
{
    private readonly Dictionary<string, InMemoryPort> _ports = new(StringComparer.Ordinal);
    private readonly int _ringCapacity;

    /// <param name="ringCapacity">Frames each port ring holds (a power of two; rings are 9 KB per frame).</param>
    public MemoryDataplane(HostSpec? spec = null, int ringCapacity = 1024)
    {
        _ringCapacity = ringCapacity;
        Compiled = HostCompiler.Compile(spec ?? TestHost.Spec());
        Dataplane = new DataplaneRuntime(workers: 1, poolSizePerWorker: 256, conntrack: new MetalAgent.Dataplane.Flows.ConntrackOptions { Capacity = 1 << 12 });
        Dataplane.Clock.Set(1000);
        foreach (PortEntry p in Compiled.Snapshot.Ports)
        {
            if (p.Present)
            {
                Add(p);
            }
        }
        Dataplane.Publish(Compiled.Snapshot);
    }

    public CompiledHost Compiled { get; private set; }

    public DataplaneRuntime Dataplane { get; }

    public InMemoryPort Port(string name) => _ports[name];

    public IEnumerable<string> PortNames => _ports.Keys;

    /// <summary>Compiles an updated spec, binds ports it adds, publishes.</summary>
    public void Update(HostSpec spec)
    {
        Compiled = HostCompiler.Compile(spec, Compiled);
        foreach (PortEntry p in Compiled.Snapshot.Ports)
        {
            if (p.Present && !_ports.ContainsKey(p.Name))
            {
                Add(p);
            }
        }
        Dataplane.Publish(Compiled.Snapshot);
    }

    /// <summary>Frames sent on each port since the last call, by port name (ports without any left out).</summary>
    public Dictionary<string, List<byte[]>> TakeAll()
    {
        var sent = new Dictionary<string, List<byte[]>>(StringComparer.Ordinal);
        foreach ((string name, InMemoryPort port) in _ports)
        {
            List<byte[]> frames = port.TakeAll();
            if (frames.Count > 0)
            {
                sent[name] = frames;
            }
        }
        return sent;
    }

    private void Add(PortEntry p)
    {
        var port = new InMemoryPort(p.Name, p.Kind == PortKind.Uplink ? PortRole.Uplink : PortRole.Vm, capacity: _ringCapacity);
        _ports[p.Name] = port;
        Dataplane.AddPort(port);
    }

    public void Dispose() => Dataplane.Dispose();
}
