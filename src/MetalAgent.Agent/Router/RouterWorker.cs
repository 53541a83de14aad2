using MetalAgent.Backends;
using MetalAgent.Dataplane.Runtime;

namespace MetalAgent.Agent.Router;

/// <summary>
/// The router's one packet thread: each round it takes a burst from each port (queue 0), runs every
/// frame through the <see cref="RouterPipeline"/>, and sends forwarded frames and the pipeline's own
/// frames out in bursts; after every round it runs the pipeline's timers. Blocks on a wakeup when idle.
/// Tests drive <see cref="PollOnce"/> and <see cref="RunTimers"/> directly without starting the thread.
/// </summary>
public sealed class RouterWorker : IDisposable
{
    public const int BurstSize = 32;

    private readonly RouterPipeline _pipeline;
    private readonly IPortQueue[] _queues;
    private readonly PacketPool _pool;
    private readonly DataplaneClock _clock;
    private readonly PacketDescriptor[] _rx = new PacketDescriptor[BurstSize];
    private readonly PacketDescriptor[][] _tx = [new PacketDescriptor[BurstSize], new PacketDescriptor[BurstSize]];
    private readonly int[] _txCount = new int[2];
    private readonly WorkerWakeup _wakeup = new();
    private Thread? _thread;

    /// <param name="underlay">Port 0: the underlay link.</param>
    /// <param name="internet">Port 1: the internet link.</param>
    public RouterWorker(RouterPipeline pipeline, IPort underlay, IPort internet, DataplaneClock clock, int poolSize = 2048)
    {
        _pipeline = pipeline;
        _queues = [underlay.Queue(0), internet.Queue(0)];
        _clock = clock;
        _pool = new PacketPool(poolSize);
        foreach (IPortQueue queue in _queues)
        {
            queue.AttachWakeup(_wakeup);
        }
    }

    public RouterPipeline Pipeline => _pipeline;

    /// <summary>Buffers free in the worker's pool (all of them when nothing waits or is in flight).</summary>
    public int FreeBuffers => _pool.Available;

    /// <summary>One round over both ports; returns how many frames were received.</summary>
    public int PollOnce()
    {
        long now = _clock.Now;
        RouterCounters counters = _pipeline.Counters;
        int total = 0;
        for (int port = 0; port < _queues.Length; port++)
        {
            int n = _queues[port].Receive(_rx, _pool);
            total += n;
            for (int i = 0; i < n; i++)
            {
                ref PacketDescriptor p = ref _rx[i];
                p.Port = (ushort)port;
                counters.Rx(port);
                RouterVerdict v = _pipeline.Process(_pool, ref p, now);
                switch (v.Kind)
                {
                    case RouterVerdictKind.Forward:
                        Send(v.Port, in p);
                        break;
                    case RouterVerdictKind.Drop:
                        counters.Drop(v.Reason);
                        _pool.Return(p.Buffer);
                        break;
                }
            }
            if (n > 0)
            {
                SendOutput();
                Flush();
            }
        }
        return total;
    }

    /// <summary>The pipeline's timer work and whatever it queued.</summary>
    public void RunTimers()
    {
        _pipeline.RunTimers(_pool, _clock.Now);
        SendOutput();
        Flush();
    }

    public void Start(CancellationToken token)
    {
        _thread = new Thread(() => Run(token)) { IsBackground = true, Name = "metalagent-router" };
        _thread.Start();
    }

    /// <summary>Waits for the thread after its token was cancelled.</summary>
    public void Join()
    {
        _wakeup.Set();
        _thread?.Join();
    }

    private void Run(CancellationToken token)
    {
        while (!token.IsCancellationRequested)
        {
            int received = PollOnce();
            RunTimers();
            if (received == 0)
            {
                _wakeup.Wait(50, token);
            }
        }
    }

    private void SendOutput()
    {
        OutputFrames output = _pipeline.Output;
        ReadOnlySpan<PacketDescriptor> frames = output.Packets;
        for (int i = 0; i < frames.Length; i++)
        {
            Send(frames[i].Port, in frames[i]);
        }
        output.Clear();
    }

    private void Send(int port, in PacketDescriptor packet)
    {
        if (_txCount[port] == BurstSize)
        {
            Flush(port);
        }
        _tx[port][_txCount[port]++] = packet;
    }

    private void Flush()
    {
        Flush(0);
        Flush(1);
    }

    private void Flush(int port)
    {
        int count = _txCount[port];
        if (count == 0)
        {
            return;
        }
        ReadOnlySpan<PacketDescriptor> batch = _tx[port].AsSpan(0, count);
        int sent = _queues[port].Transmit(batch, _pool);
        RouterCounters counters = _pipeline.Counters;
        for (int i = 0; i < count; i++)
        {
            if (i < sent)
            {
                counters.Tx(port);
            }
            else
            {
                counters.Drop(RouterDropReason.TxFull);
            }
            _pool.Return(batch[i].Buffer);
        }
        _txCount[port] = 0;
    }

    public void Dispose() => _wakeup.Dispose();
}
