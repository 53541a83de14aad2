using System.Runtime.ExceptionServices;
using MetalAgent.Backends;

namespace MetalAgent.Backends.Linux.Tests;

/// <summary>A port under test together with its "other side": where frames come from and go to.</summary>
public interface IPortUnderTest : IDisposable
{
    IPort Port { get; }

    /// <summary>The largest frame (Ethernet header included) both directions carry.</summary>
    int MaxFrame { get; }

    /// <summary>Puts a frame on the outside, towards the port (for a multi-queue port the backend picks the queue).</summary>
    void Inject(ReadOnlySpan<byte> frame);

    /// <summary>The test frames that left the port on the outside, waiting until <paramref name="count"/> arrived (or a deadline).</summary>
    List<byte[]> Collect(int count);
}

/// <summary>
/// What every port backend must do, written once: exact bytes and order in both directions, bursts,
/// large frames, VLAN tags, non-blocking idle receive, wakeups, pool exhaustion and multiple queues.
/// Each backend derives and says how to build a port with its outside.
/// </summary>
public abstract class PortConformanceTests
{
    private static readonly TimeSpan s_deadline = TimeSpan.FromSeconds(10);

    protected abstract IPortUnderTest CreatePair(int queueCount = 1);

    [LinuxFact]
    public void Injected_frames_are_received_in_order_with_exact_bytes()
    {
        using IPortUnderTest pair = CreatePair();
        var random = new Random(1);
        byte[][] frames = [.. Enumerable.Range(0, 100).Select(i => TestFrames.Experimental(i, random.Next(60, 1515)))];
        var rx = new Receiver(pair.Port);
        List<byte[]> received = rx.TakeWhile(frames.Length, () =>
        {
            foreach (byte[] frame in frames)
            {
                pair.Inject(frame);
            }
        });
        AssertFrames(frames, received);
    }

    [LinuxFact]
    public void Transmitted_frames_appear_outside_with_exact_bytes()
    {
        using IPortUnderTest pair = CreatePair();
        var random = new Random(2);
        byte[][] frames = [.. Enumerable.Range(0, 100).Select(i => TestFrames.Experimental(i, random.Next(60, 1515)))];
        var pool = new PacketPool(64);
        foreach (byte[] frame in frames)
        {
            Assert.Equal(1, Send(pair.Port.Queue(0), pool, [frame]));
        }
        AssertFrames(frames, pair.Collect(frames.Length));
        Assert.Equal(pool.Capacity, pool.Available);
    }

    [LinuxFact]
    public void Bursts_of_64_go_both_ways_and_receive_respects_the_burst_size()
    {
        using IPortUnderTest pair = CreatePair();
        byte[][] frames = [.. Enumerable.Range(0, 64).Select(i => TestFrames.Experimental(i, 60 + (i * 23)))];

        var pool = new PacketPool(128);
        Assert.Equal(64, Send(pair.Port.Queue(0), pool, frames));
        AssertFrames(frames, pair.Collect(64));

        var rx = new Receiver(pair.Port, burst: 32);
        AssertFrames(frames, rx.TakeWhile(64, () =>
        {
            foreach (byte[] frame in frames)
            {
                pair.Inject(frame);
            }
        }));
        Assert.True(rx.LargestBurst <= 32);
    }

    [LinuxFact]
    public void Thousands_of_frames_pass_both_ways_in_order_as_the_rings_wrap()
    {
        using IPortUnderTest pair = CreatePair();
        var rx = new Receiver(pair.Port);
        var pool = new PacketPool(128);
        for (int chunk = 0; chunk < 25; chunk++)
        {
            byte[][] frames = [.. Enumerable.Range(chunk * 100, 100).Select(i => TestFrames.Experimental(i, 1000 + (i % 200)))];
            AssertFrames(frames, rx.TakeWhile(frames.Length, () =>
            {
                foreach (byte[] frame in frames)
                {
                    pair.Inject(frame);
                }
            }));
            for (int i = 0; i < frames.Length; i += 25)
            {
                Assert.Equal(25, Send(pair.Port.Queue(0), pool, frames[i..(i + 25)]));
            }
            AssertFrames(frames, pair.Collect(frames.Length));
        }
    }

    [LinuxFact]
    public void Frames_up_to_the_largest_size_go_both_ways()
    {
        using IPortUnderTest pair = CreatePair();
        Assert.True(pair.MaxFrame >= 9014, $"outside carries only {pair.MaxFrame}-byte frames");
        byte[][] frames = [TestFrames.Experimental(1, 1514), TestFrames.Experimental(2, 9014), TestFrames.Experimental(3, 60)];

        var pool = new PacketPool(8);
        Assert.Equal(frames.Length, Send(pair.Port.Queue(0), pool, frames));
        AssertFrames(frames, pair.Collect(frames.Length));

        var rx = new Receiver(pair.Port);
        AssertFrames(frames, rx.TakeWhile(frames.Length, () =>
        {
            foreach (byte[] frame in frames)
            {
                pair.Inject(frame);
            }
        }));
    }

    [LinuxFact]
    public void A_vlan_tagged_frame_is_received_with_its_tag_in_place()
    {
        using IPortUnderTest pair = CreatePair();
        byte[] tagged = TestFrames.WithVlanTag(TestFrames.Experimental(7, 200), vid: 0x2123);
        var rx = new Receiver(pair.Port);
        pair.Inject(tagged);
        AssertFrames([tagged], rx.Take(1));
    }

    [LinuxFact]
    public void Receive_returns_zero_when_idle_and_the_wakeup_is_set_when_a_frame_arrives()
    {
        using IPortUnderTest pair = CreatePair();
        var pool = new PacketPool(16);
        var wakeup = new WorkerWakeup();
        IPortQueue queue = pair.Port.Queue(0);
        queue.AttachWakeup(wakeup);
        var burst = new PacketDescriptor[32];
        for (int i = 0; i < 100; i++)
        {
            Assert.Equal(0, queue.Receive(burst, pool));
        }
        Assert.False(wakeup.Wait(0, CancellationToken.None), "woken while nothing arrived");

        byte[] frame = TestFrames.Experimental(1, 100);
        pair.Inject(frame);
        Assert.True(wakeup.Wait((int)s_deadline.TotalMilliseconds, CancellationToken.None), "no wakeup after a frame arrived");

        var received = new List<byte[]>();
        DateTime deadline = DateTime.UtcNow + s_deadline;
        while (received.Count == 0 && DateTime.UtcNow < deadline)
        {
            // The wakeup may come a little before the frame is visible (TPACKET_V3 hands over whole blocks).
            int n = queue.Receive(burst, pool);
            for (int i = 0; i < n; i++)
            {
                received.Add(pool.Frame(burst[i]).ToArray());
                pool.Return(burst[i].Buffer);
            }
            if (n == 0)
            {
                wakeup.Wait(50, CancellationToken.None);
            }
        }
        AssertFrames([frame], received.Where(f => TestFrames.IsTestFrame(f)).ToList());
        Assert.Equal(pool.Capacity, pool.Available);
    }

    [LinuxFact]
    public void An_empty_pool_leaves_frames_waiting_for_the_next_receive()
    {
        using IPortUnderTest pair = CreatePair();
        var pool = new PacketPool(4);
        var wakeup = new WorkerWakeup();
        IPortQueue queue = pair.Port.Queue(0);
        queue.AttachWakeup(wakeup);
        int[] rented = [.. Enumerable.Range(0, 4).Select(_ => pool.Rent())];

        byte[] frame = TestFrames.Experimental(9, 300);
        pair.Inject(frame);
        Assert.True(wakeup.Wait((int)s_deadline.TotalMilliseconds, CancellationToken.None));
        var burst = new PacketDescriptor[8];
        Assert.Equal(0, queue.Receive(burst, pool));

        foreach (int b in rented)
        {
            pool.Return(b);
        }
        var rx = new Receiver(pair.Port, pool: pool, wakeup: wakeup);
        AssertFrames([frame], rx.Take(1));
    }

    [LinuxFact]
    public void Multiple_queues_deliver_every_frame_once_in_flow_order_and_all_queues_transmit()
    {
        const int queues = 4, flows = 16, perFlow = 12;
        using IPortUnderTest pair = CreatePair(queues);
        Assert.Equal(queues, pair.Port.QueueCount);
        var rx = new Receiver(pair.Port);
        List<byte[]> received = rx.TakeWhile(flows * perFlow, () =>
        {
            for (int s = 0; s < perFlow; s++)
            {
                for (int f = 0; f < flows; f++)
                {
                    pair.Inject(TestFrames.Udp(f, s));
                }
            }
        });
        Assert.Equal(flows * perFlow, received.Count);
        var next = new int[flows];
        foreach (byte[] frame in received)
        {
            (int flow, int sequence) = TestFrames.UdpId(frame);
            Assert.Equal(TestFrames.Udp(flow, sequence), frame);
            // Flows may interleave across queues, but one flow keeps its order.
            Assert.Equal(next[flow], sequence);
            next[flow]++;
        }
        // 16 flows hashed over 4 queues all landing on one queue has odds of 4^-15.
        Assert.True(rx.QueuesUsed.Count >= 2, $"all flows arrived on queue(s) {string.Join(',', rx.QueuesUsed)}");

        var pool = new PacketPool(64);
        var sent = new List<byte[]>();
        for (int q = 0; q < queues; q++)
        {
            byte[][] frames = [.. Enumerable.Range(0, 8).Select(i => TestFrames.Udp(100 + q, i))];
            Assert.Equal(frames.Length, Send(pair.Port.Queue(q), pool, frames));
            sent.AddRange(frames);
        }
        List<byte[]> outside = pair.Collect(sent.Count);
        Assert.Equal(Sorted(sent), Sorted(outside));
    }

    [LinuxFact]
    public void Receive_and_transmit_do_not_allocate()
    {
        using IPortUnderTest pair = CreatePair();
        IPortQueue queue = pair.Port.Queue(0);
        var pool = new PacketPool(64);
        var wakeup = new WorkerWakeup();
        queue.AttachWakeup(wakeup);
        var burst = new PacketDescriptor[32];
        byte[] frame = TestFrames.Experimental(1, 500);
        // Measured in windows of 20 round trips: the runtime does one-time work (tiering, first calls of
        // rare paths) at moments that depend on timing, but a per-packet allocation shows in every window.
        const int windows = 8, roundsPerWindow = 20;
        var perWindow = new List<long>();
        int received = 0;
        for (int window = 0; window < windows && (perWindow.Count < 2 || perWindow[^1] != 0); window++)
        {
            long allocated = 0;
            for (int round = 0; round < roundsPerWindow; round++)
            {
                pair.Inject(frame);
                DateTime deadline = DateTime.UtcNow + s_deadline;
                int n = 0;
                while (n == 0 && DateTime.UtcNow < deadline)
                {
                    long before = GC.GetAllocatedBytesForCurrentThread();
                    n = queue.Receive(burst, pool);
                    // Echo the burst back out, as a worker would after processing.
                    int sent = n > 0 ? queue.Transmit(burst.AsSpan(0, n), pool) : 0;
                    allocated += GC.GetAllocatedBytesForCurrentThread() - before;
                    Assert.Equal(n, sent);
                    for (int i = 0; i < n; i++)
                    {
                        pool.Return(burst[i].Buffer);
                    }
                    if (n == 0)
                    {
                        wakeup.Wait(50, CancellationToken.None);
                    }
                }
                received += n;
            }
            perWindow.Add(allocated);
        }
        Assert.True(received >= perWindow.Count * roundsPerWindow, $"received {received}");
        Assert.True(perWindow.Count >= 2 && perWindow[^1] == 0, $"bytes allocated per window of {roundsPerWindow} round trips: {string.Join(", ", perWindow)}");
        Assert.Equal(received, pair.Collect(received).Count);
    }

    /// <summary>Copies the frames into pool buffers and transmits them in one burst; returns what the queue accepted.</summary>
    protected static int Send(IPortQueue queue, PacketPool pool, IReadOnlyList<byte[]> frames)
    {
        var burst = new PacketDescriptor[frames.Count];
        for (int i = 0; i < frames.Count; i++)
        {
            int buffer = pool.Rent();
            Assert.True(buffer >= 0);
            // Frames sit after a headroom smaller than the receive one, as after encapsulation.
            frames[i].CopyTo(pool.Buffer(buffer)[64..]);
            burst[i] = new PacketDescriptor { Buffer = buffer, Offset = 64, Length = frames[i].Length };
        }
        int sent = queue.Transmit(burst, pool);
        foreach (PacketDescriptor p in burst)
        {
            pool.Return(p.Buffer);
        }
        return sent;
    }

    protected static void AssertFrames(IReadOnlyList<byte[]> expected, IReadOnlyList<byte[]> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.True(expected[i].AsSpan().SequenceEqual(actual[i]), $"frame {i}: expected {expected[i].Length} bytes, got {actual[i].Length} different ones");
        }
    }

    private static List<string> Sorted(IEnumerable<byte[]> frames) => [.. frames.Select(Convert.ToHexString).Order(StringComparer.Ordinal)];

    /// <summary>Drains every queue of a port like a worker: receive bursts, block on the wakeup when idle.
    /// (The wakeup is not disposed: the port's poll thread may still signal it.)</summary>
    protected sealed class Receiver
    {
        private readonly IPort _port;
        private readonly PacketPool _pool;
        private readonly WorkerWakeup _wakeup;
        private readonly PacketDescriptor[] _burst;

        public Receiver(IPort port, int burst = 64, PacketPool? pool = null, WorkerWakeup? wakeup = null)
        {
            _port = port;
            _pool = pool ?? new PacketPool(256);
            _wakeup = wakeup ?? new WorkerWakeup();
            _burst = new PacketDescriptor[burst];
            for (int q = 0; q < port.QueueCount; q++)
            {
                port.Queue(q).AttachWakeup(_wakeup);
            }
        }

        public int LargestBurst { get; private set; }

        /// <summary>Queues that delivered at least one test frame.</summary>
        public HashSet<int> QueuesUsed { get; } = [];

        /// <summary>Drains on a second thread (like a worker running alongside the sender) while
        /// <paramref name="inject"/> puts frames outside: kernel rings are finite, so a burst larger than the
        /// ring needs a reader at the same time.</summary>
        public List<byte[]> TakeWhile(int count, Action inject)
        {
            List<byte[]>? frames = null;
            ExceptionDispatchInfo? failure = null;
            var reader = new Thread(() =>
            {
                try
                {
                    frames = Take(count);
                }
                catch (Exception e)
                {
                    failure = ExceptionDispatchInfo.Capture(e);
                }
            });
            reader.Start();
            try
            {
                inject();
            }
            finally
            {
                reader.Join();
            }
            failure?.Throw();
            return frames!;
        }

        /// <summary>Receives until <paramref name="count"/> test frames arrived (or the deadline passed), in arrival order.</summary>
        public List<byte[]> Take(int count)
        {
            var frames = new List<byte[]>();
            DateTime deadline = DateTime.UtcNow + s_deadline;
            while (frames.Count < count && DateTime.UtcNow < deadline)
            {
                int total = 0;
                for (int q = 0; q < _port.QueueCount; q++)
                {
                    int n = _port.Queue(q).Receive(_burst, _pool);
                    LargestBurst = Math.Max(LargestBurst, n);
                    for (int i = 0; i < n; i++)
                    {
                        byte[] frame = _pool.Frame(_burst[i]).ToArray();
                        Assert.Equal(PacketPool.Headroom, _burst[i].Offset);
                        _pool.Return(_burst[i].Buffer);
                        if (TestFrames.IsTestFrame(frame))
                        {
                            frames.Add(frame);
                            QueuesUsed.Add(q);
                        }
                    }
                    total += n;
                }
                if (total == 0)
                {
                    _wakeup.Wait(100, CancellationToken.None);
                }
            }
            Assert.Equal(_pool.Capacity, _pool.Available);
            return frames;
        }
    }
}
