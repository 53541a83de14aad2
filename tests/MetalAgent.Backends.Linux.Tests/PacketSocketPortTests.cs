using MetalAgent.Backends;

namespace MetalAgent.Backends.Linux.Tests;

/// <summary>AF_PACKET port behaviour beyond the conformance suite: open errors, link state, MAC,
/// ignoring the host's own transmissions, kernel drops when the ring is full.</summary>
[RequiresRoot]
public sealed class PacketSocketPortTests
{
    private static readonly TimeSpan s_deadline = TimeSpan.FromSeconds(10);

    [LinuxFact]
    public void A_missing_or_down_interface_is_a_clear_error_at_open()
    {
        using TestNamespace ns = TestNamespace.Create();
        var missing = Assert.Throws<IOException>(() => new PacketSocketPort("uplink0", PortRole.Uplink, "matmissing0", networkNamespace: ns.Name));
        Assert.Equal("uplink 'matmissing0': no such interface", missing.Message);

        (string inside, _) = ns.AddVethPair();
        ns.IpIn("link", "set", inside, "down");
        var down = Assert.Throws<IOException>(() => new PacketSocketPort("uplink0", PortRole.Uplink, inside, networkNamespace: ns.Name));
        Assert.Equal($"uplink '{inside}': is down", down.Message);
        var vmDown = Assert.Throws<IOException>(() => new PacketSocketPort("if-7", PortRole.Vm, inside, networkNamespace: ns.Name));
        Assert.Equal($"port 'if-7' device '{inside}': is down", vmDown.Message);
    }

    [LinuxFact]
    public void The_port_mac_is_the_device_mac()
    {
        using TestNamespace ns = TestNamespace.Create();
        (string inside, _) = ns.AddVethPair();
        ns.IpIn("link", "set", inside, "address", "02:4d:41:54:aa:01");
        using var port = new PacketSocketPort("uplink0", PortRole.Uplink, inside, networkNamespace: ns.Name);
        Assert.Equal(0x024d_4154_aa01UL, port.MacAddress);
    }

    [LinuxFact]
    public void A_link_going_down_is_counted_not_thrown_and_traffic_resumes_when_it_is_back()
    {
        using TestNamespace ns = TestNamespace.Create();
        (string inside, string outsideName) = ns.AddVethPair();
        using var port = new PacketSocketPort("uplink0", PortRole.Uplink, inside, networkNamespace: ns.Name);
        using RawSocket outside = RawSocket.Open(ns.Name, outsideName);
        var pool = new PacketPool(16);
        var burst = new PacketDescriptor[16];
        Assert.True(port.IsUp);
        Assert.Equal(0, port.LinkDownCount);

        ns.IpIn("link", "set", inside, "down");
        Assert.True(WaitUntil(() => port.LinkDownCount >= 1 && !port.IsUp), "link down not seen");
        Assert.Equal(0, port.Queue(0).Receive(burst, pool));
        byte[] whileDown = TestFrames.Experimental(1, 300);
        Assert.Equal(1, Send(port.Queue(0), pool, whileDown));

        ns.IpIn("link", "set", inside, "up");
        Assert.True(WaitUntil(() => port.IsUp), "link up not seen");
        byte[] afterUp = TestFrames.Experimental(2, 300);
        Assert.Equal(1, Send(port.Queue(0), pool, afterUp));
        // The frame sent while down waited in the tx ring and leaves first.
        List<byte[]> seen = outside.Receive(2, s_deadline);
        Assert.Equal([whileDown, afterUp], seen);

        byte[] inbound = TestFrames.Experimental(3, 300);
        outside.Send(inbound);
        Assert.Equal([inbound], ReceiveUntil(port, pool, 1));
        Assert.Equal(pool.Capacity, pool.Available);
    }

    [LinuxFact]
    public void Frames_the_host_or_the_port_itself_sends_are_not_received()
    {
        using TestNamespace ns = TestNamespace.Create();
        (string inside, string outsideName) = ns.AddVethPair();
        // Two queues: a fanout group, where the kernel's own-packet filter works differently.
        using var port = new PacketSocketPort("uplink0", PortRole.Uplink, inside, queueCount: 2, networkNamespace: ns.Name);
        using RawSocket host = RawSocket.Open(ns.Name, inside);
        using RawSocket outside = RawSocket.Open(ns.Name, outsideName);
        var pool = new PacketPool(64);

        for (int i = 0; i < 10; i++)
        {
            host.Send(TestFrames.Udp(i, 1000));
            Assert.Equal(1, Send(port.Queue(i % 2), pool, TestFrames.Udp(i, 2000)));
        }
        Assert.Equal(20, outside.Receive(20, s_deadline).Count);
        byte[] marker = TestFrames.Udp(99, 3000);
        outside.Send(marker);
        Assert.Equal([marker], ReceiveUntil(port, pool, 1));
    }

    [LinuxFact]
    public void A_full_ring_drops_in_the_kernel_counts_it_and_recovers()
    {
        using TestNamespace ns = TestNamespace.Create();
        (string inside, string outsideName) = ns.AddVethPair(mtu: 1500);
        var options = new PacketRingOptions { RxBlockSize = 64 << 10, RxBlockCount = 2 };
        using var port = new PacketSocketPort("uplink0", PortRole.Uplink, inside, networkNamespace: ns.Name, options: options);
        using RawSocket outside = RawSocket.Open(ns.Name, outsideName);
        // 300 KB into a 128 KB ring nobody reads.
        for (int i = 0; i < 200; i++)
        {
            outside.Send(TestFrames.Experimental(i, 1500));
        }
        var pool = new PacketPool(256);
        Assert.True(WaitUntil(() => port.TakeKernelDrops() > 0), "no kernel drops counted");
        List<byte[]> first = ReceiveUntil(port, pool, 1);
        Assert.NotEmpty(first);
        while (ReceiveUntil(port, pool, int.MaxValue, TimeSpan.FromMilliseconds(200)).Count > 0)
        {
        }

        byte[][] after = [.. Enumerable.Range(1000, 20).Select(i => TestFrames.Experimental(i, 1500))];
        foreach (byte[] frame in after)
        {
            outside.Send(frame);
        }
        Assert.Equal(after, ReceiveUntil(port, pool, after.Length));
    }

    [LinuxFact]
    public void Checksums_the_local_stack_left_to_offload_are_finished_on_receive()
    {
        using TestNamespace ns = TestNamespace.Create();
        (string inside, string outsideName) = ns.AddVethPair(mtu: 1500);
        using var port = new PacketSocketPort("uplink0", PortRole.Uplink, inside, networkNamespace: ns.Name);
        // The namespace's own stack sends UDP out of the veth, whose tx checksum offload is on by
        // default: the frame reaches the packet socket with only the pseudo-header sum filled in.
        ns.IpIn("addr", "add", "10.9.0.1/24", "dev", outsideName);
        ns.IpIn("neigh", "add", "10.9.0.2", "lladdr", "02:00:00:00:00:02", "dev", outsideName);
        NetworkNamespace.Run(ns.Name, () =>
        {
            using var udp = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
            udp.SendTo(new byte[100], new System.Net.IPEndPoint(System.Net.IPAddress.Parse("10.9.0.2"), 4789));
        });
        var pool = new PacketPool(16);
        var burst = new PacketDescriptor[16];
        DateTime deadline = DateTime.UtcNow + s_deadline;
        byte[]? frame = null;
        while (frame is null && DateTime.UtcNow < deadline)
        {
            int n = port.Queue(0).Receive(burst, pool);
            for (int i = 0; i < n; i++)
            {
                byte[] f = pool.Frame(burst[i]).ToArray();
                pool.Return(burst[i].Buffer);
                if (f.Length > 23 && f[12] == 0x08 && f[13] == 0x00 && f[23] == 17)
                {
                    frame = f;
                }
            }
            Thread.Sleep(n == 0 ? 20 : 0);
        }
        Assert.NotNull(frame);
        var h = default(Packets.PacketHeaders);
        Assert.Equal(Packets.ParseError.None, Packets.PacketParser.ParseEthernet(frame, ref h));
        Assert.Equal(Packets.L4ChecksumStatus.Valid, Packets.Checksums.VerifyL4(frame, in h));
        Assert.Equal(1, port.RxChecksumsFinished);
    }

    private static int Send(IPortQueue queue, PacketPool pool, byte[] frame)
    {
        int buffer = pool.Rent();
        frame.CopyTo(pool.Buffer(buffer)[PacketPool.Headroom..]);
        int sent = queue.Transmit([new PacketDescriptor { Buffer = buffer, Offset = PacketPool.Headroom, Length = frame.Length }], pool);
        pool.Return(buffer);
        return sent;
    }

    private static List<byte[]> ReceiveUntil(IPort port, PacketPool pool, int count, TimeSpan? wait = null)
    {
        var frames = new List<byte[]>();
        var burst = new PacketDescriptor[32];
        var wakeup = new WorkerWakeup();
        for (int q = 0; q < port.QueueCount; q++)
        {
            port.Queue(q).AttachWakeup(wakeup);
        }
        DateTime deadline = DateTime.UtcNow + (wait ?? s_deadline);
        while (frames.Count < count && DateTime.UtcNow < deadline)
        {
            int total = 0;
            for (int q = 0; q < port.QueueCount; q++)
            {
                int n = port.Queue(q).Receive(burst, pool);
                for (int i = 0; i < n; i++)
                {
                    byte[] frame = pool.Frame(burst[i]).ToArray();
                    pool.Return(burst[i].Buffer);
                    if (TestFrames.IsTestFrame(frame))
                    {
                        frames.Add(frame);
                    }
                }
                total += n;
            }
            if (total == 0)
            {
                wakeup.Wait(50, CancellationToken.None);
            }
        }
        return frames;
    }

    private static bool WaitUntil(Func<bool> condition)
    {
        DateTime deadline = DateTime.UtcNow + s_deadline;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }
            Thread.Sleep(20);
        }
        return true;
    }
}
