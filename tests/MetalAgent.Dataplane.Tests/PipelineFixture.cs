using MetalAgent.Agent.Replay;
using MetalAgent.Compiler;
using MetalAgent.Model.V1;

namespace MetalAgent.Dataplane.Tests;

/// <summary>A replay pipeline over <see cref="TestHost"/> with vm-a's MAC learned by ARP.</summary>
internal sealed class PipelineFixture : IDisposable
{
    public PipelineFixture(HostSpec? spec = null, bool learnA = true)
    {
        Compiled = HostCompiler.Compile(spec ?? TestHost.Spec());
        Runner = new ReplayRunner(Compiled.Snapshot);
        Runner.Dataplane.Clock.Set(1000);
        if (learnA)
        {
            ReplayVerdict arp = Runner.Inject("vm-a", TestFrames.ArpRequest(TestFrames.VmMacA, "10.0.0.1"));
            Assert.Equal(["vm-a"], arp.OutPorts);
            Take("vm-a");
        }
    }

    public CompiledHost Compiled { get; private set; }

    public ReplayRunner Runner { get; }

    public ReplayVerdict Inject(string port, byte[] frame) => Runner.Inject(port, frame);

    /// <summary>Injects and expects exactly one frame out of <paramref name="port"/>; returns it.</summary>
    public byte[] Expect(string inPort, byte[] frame, string outPort)
    {
        ReplayVerdict v = Runner.Inject(inPort, frame);
        Assert.True(v.OutPorts.Count == 1 && v.OutPorts[0] == outPort, $"expected one frame on {outPort}, got: {v}");
        byte[] output = Take(outPort);
        return output;
    }

    /// <summary>Injects and expects a drop with this reason.</summary>
    public void ExpectDrop(string inPort, byte[] frame, string reason)
    {
        ReplayVerdict v = Runner.Inject(inPort, frame);
        Assert.True(v.OutPorts.Count == 0 && v.DropReasons.Contains(reason), $"expected drop {reason}, got: {v}");
    }

    public byte[] Take(string port)
    {
        List<byte[]> frames = Runner.Outputs[port];
        Assert.NotEmpty(frames);
        byte[] last = frames[^1];
        frames.Clear();
        return last;
    }

    public void Update(HostSpec spec)
    {
        Compiled = HostCompiler.Compile(spec, Compiled);
        Runner.Publish(Compiled.Snapshot);
    }

    public void Dispose() => Runner.Dispose();
}
