using MetalAgent.Backends;
using MetalAgent.Backends.Memory;
using MetalAgent.Compiler;
using MetalAgent.Dataplane.Flows;
using MetalAgent.Model.V1;
using MetalAgent.Tables.Snapshot;
using DataplaneRuntime = MetalAgent.Dataplane.Runtime.Dataplane;

namespace MetalAgent.Dataplane.Tests;

/// <summary>A dataplane over in-memory ports with any number of workers and queues, driven on the
/// test thread: for multi-worker and allocation tests (the replay runner has one worker).</summary>
internal sealed class DataplaneHarness : IDisposable
{
    public DataplaneHarness(HostSpec spec, int workers, int capacity = 1 << 16, int maxFlowsPerInterface = 65536)
    {
        Snapshot = HostCompiler.Compile(spec).Snapshot;
        Dataplane = new DataplaneRuntime(workers, poolSizePerWorker: 1024, new ConntrackOptions { Capacity = capacity, MaxFlowsPerInterface = maxFlowsPerInterface });
        Dataplane.Clock.Set(1000);
        foreach (PortEntry p in Snapshot.Ports)
        {
            if (p.Present)
            {
                var port = new InMemoryPort(p.Name, p.Kind == PortKind.Uplink ? PortRole.Uplink : PortRole.Vm, queueCount: workers, capacity: 512);
                Ports[p.Name] = port;
                Dataplane.AddPort(port);
            }
        }
        Dataplane.Publish(Snapshot);
    }

    public DataplaneSnapshot Snapshot { get; }

    public DataplaneRuntime Dataplane { get; }

    public Dictionary<string, InMemoryPort> Ports { get; } = new(StringComparer.Ordinal);

    /// <summary>Injects a frame into one queue (so into one worker) and runs every worker.</summary>
    public void Inject(string port, byte[] frame, int queue = 0)
    {
        Assert.True(Ports[port].Inject(frame, queue));
        Dataplane.Drain();
    }

    public List<byte[]> Take(string port) => Ports[port].TakeAll();

    public long Drops(DropReason reason) => Dataplane.Sum(c => c.Drops(reason));

    public void Dispose() => Dataplane.Dispose();
}
