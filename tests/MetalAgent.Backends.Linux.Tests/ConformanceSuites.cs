using MetalAgent.Backends;
using MetalAgent.Backends.Memory;

namespace MetalAgent.Backends.Linux.Tests;

/// <summary>The conformance suite on <see cref="InMemoryPort"/>: the outside is Inject / TakeAll.</summary>
public sealed class InMemoryPortConformanceTests : PortConformanceTests
{
    protected override IPortUnderTest CreatePair(int queueCount = 1) => new MemoryPair(new InMemoryPort("vm-test", PortRole.Vm, queueCount));

    private sealed class MemoryPair(InMemoryPort port) : IPortUnderTest
    {
        public IPort Port => port;

        public int MaxFrame => 9216 + 64;

        public void Inject(ReadOnlySpan<byte> frame)
        {
            // Like a NIC's flow hash: one flow (UDP source port, or the whole frame otherwise) always lands on one queue.
            int queue = frame.Length >= 36 && frame[12] == 0x08 && frame[13] == 0x00
                ? ((frame[34] << 8) | frame[35]) % port.QueueCount
                : 0;
            Assert.True(port.Inject(frame, queue));
        }

        public List<byte[]> Collect(int count) => [.. port.TakeAll().Where(f => TestFrames.IsTestFrame(f))];

        public void Dispose() => port.Dispose();
    }
}

/// <summary>The conformance suite on <see cref="TapPort"/>: the TAP lives in a test namespace and the
/// outside is an AF_PACKET socket on the TAP's kernel side.</summary>
[RequiresRoot]
public sealed class TapPortConformanceTests : PortConformanceTests
{
    protected override IPortUnderTest CreatePair(int queueCount = 1)
    {
        TestNamespace ns = TestNamespace.Create();
        TapPort? port = null;
        try
        {
            port = new TapPort("vm-test", TestNamespace.InterfaceName("t"), queueCount, ns.Name, mtu: 9000);
            return new KernelPair(ns, port, RawSocket.Open(ns.Name, port.Device), delete: () => port.Delete());
        }
        catch
        {
            port?.Dispose();
            ns.Dispose();
            throw;
        }
    }
}

/// <summary>The conformance suite on <see cref="PacketSocketPort"/>: one end of a veth pair in a test
/// namespace; the outside is an AF_PACKET socket on the other end.</summary>
[RequiresRoot]
public sealed class PacketSocketPortConformanceTests : PortConformanceTests
{
    protected override IPortUnderTest CreatePair(int queueCount = 1)
    {
        TestNamespace ns = TestNamespace.Create();
        PacketSocketPort? port = null;
        try
        {
            (string inside, string outside) = ns.AddVethPair(mtu: 9000);
            port = new PacketSocketPort("uplink0", PortRole.Uplink, inside, queueCount, ns.Name);
            return new KernelPair(ns, port, RawSocket.Open(ns.Name, outside), delete: null);
        }
        catch
        {
            port?.Dispose();
            ns.Dispose();
            throw;
        }
    }
}

/// <summary>A kernel-backed port with a raw socket as its outside, all inside one test namespace.</summary>
internal sealed class KernelPair(TestNamespace ns, IPort port, RawSocket outside, Action? delete) : IPortUnderTest
{
    public IPort Port => port;

    public int MaxFrame => 9014;

    public void Inject(ReadOnlySpan<byte> frame) => outside.Send(frame);

    public List<byte[]> Collect(int count) => outside.Receive(count, TimeSpan.FromSeconds(10));

    public void Dispose()
    {
        try
        {
            outside.Dispose();
            if (delete is not null)
            {
                delete();
            }
            else
            {
                port.Dispose();
            }
        }
        finally
        {
            ns.Dispose();
        }
    }
}

/// <summary>The conformance suite on <see cref="PacketSocketPort"/> serving a hypervisor-style TAP: the
/// device is a TAP whose fd side (held by a <see cref="TapPort"/>, standing in for the hypervisor) is the outside.</summary>
[RequiresRoot]
public sealed class PacketSocketOnTapConformanceTests : PortConformanceTests
{
    protected override IPortUnderTest CreatePair(int queueCount = 1)
    {
        TestNamespace ns = TestNamespace.Create();
        TapPort? hypervisor = null;
        PacketSocketPort? port = null;
        try
        {
            hypervisor = new TapPort("hypervisor", TestNamespace.InterfaceName("h"), 1, ns.Name, mtu: 9000);
            port = new PacketSocketPort("if-vm", PortRole.Vm, hypervisor.Device, queueCount, ns.Name);
            return new TapSidePair(ns, port, hypervisor);
        }
        catch
        {
            port?.Dispose();
            hypervisor?.Dispose();
            ns.Dispose();
            throw;
        }
    }

    private sealed class TapSidePair(TestNamespace ns, PacketSocketPort port, TapPort hypervisor) : IPortUnderTest
    {
        private readonly PacketPool _pool = new(256);
        private readonly PacketDescriptor[] _burst = new PacketDescriptor[64];
        private readonly WorkerWakeup _wakeup = AttachedWakeup(hypervisor);

        public IPort Port => port;

        public int MaxFrame => 9014;

        public void Inject(ReadOnlySpan<byte> frame)
        {
            int buffer = _pool.Rent();
            frame.CopyTo(_pool.Buffer(buffer));
            Assert.Equal(1, hypervisor.Queue(0).Transmit([new PacketDescriptor { Buffer = buffer, Length = frame.Length }], _pool));
            _pool.Return(buffer);
        }

        public List<byte[]> Collect(int count)
        {
            var frames = new List<byte[]>();
            DateTime deadline = DateTime.UtcNow.AddSeconds(10);
            while (frames.Count < count && DateTime.UtcNow < deadline)
            {
                int n = hypervisor.Queue(0).Receive(_burst, _pool);
                for (int i = 0; i < n; i++)
                {
                    byte[] frame = _pool.Frame(_burst[i]).ToArray();
                    _pool.Return(_burst[i].Buffer);
                    if (TestFrames.IsTestFrame(frame))
                    {
                        frames.Add(frame);
                    }
                }
                if (n == 0)
                {
                    _wakeup.Wait(50, CancellationToken.None);
                }
            }
            return frames;
        }

        public void Dispose()
        {
            try
            {
                port.Dispose();
                hypervisor.Delete();
            }
            finally
            {
                ns.Dispose();
            }
        }

        private static WorkerWakeup AttachedWakeup(TapPort tap)
        {
            var wakeup = new WorkerWakeup();
            tap.Queue(0).AttachWakeup(wakeup);
            return wakeup;
        }
    }
}
