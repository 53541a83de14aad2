using MetalAgent.Backends;

namespace MetalAgent.Backends.Linux.Tests;

/// <summary>TAP lifecycle: persistence across a closed port, re-attach, deletion, namespaces, errors.</summary>
[RequiresRoot]
public sealed class TapPortTests
{
    [LinuxFact]
    public void A_tap_in_a_namespace_survives_dispose_is_reattached_with_other_queues_and_Delete_removes_it()
    {
        using TestNamespace ns = TestNamespace.Create();
        string device = TestNamespace.InterfaceName("t");
        ulong deviceMac;
        using (var first = new TapPort("if-a", device, queueCount: 1, networkNamespace: ns.Name))
        {
            Assert.True(first.WasCreated);
            Assert.True(first.IsUp);
            deviceMac = first.DeviceMacAddress;
        }
        // Persistent: still there with no fd attached, only in the test namespace.
        Assert.True(TapPort.Exists(device, ns.Name));
        Assert.False(TapPort.Exists(device));

        var second = new TapPort("if-a", device, queueCount: 3, networkNamespace: ns.Name);
        try
        {
            Assert.False(second.WasCreated);
            Assert.Equal(3, second.QueueCount);
            Assert.Equal(deviceMac, second.DeviceMacAddress);
            Assert.True(second.IsUp);

            using RawSocket outside = RawSocket.Open(ns.Name, device);
            byte[] inbound = TestFrames.Experimental(1, 400);
            outside.Send(inbound);
            var pool = new PacketPool(8);
            var wakeup = new WorkerWakeup();
            var burst = new PacketDescriptor[8];
            for (int q = 0; q < 3; q++)
            {
                second.Queue(q).AttachWakeup(wakeup);
            }
            byte[]? received = null;
            DateTime deadline = DateTime.UtcNow.AddSeconds(10);
            while (received is null && DateTime.UtcNow < deadline)
            {
                for (int q = 0; q < 3 && received is null; q++)
                {
                    int n = second.Queue(q).Receive(burst, pool);
                    for (int i = 0; i < n; i++)
                    {
                        received ??= pool.Frame(burst[i]).ToArray();
                        pool.Return(burst[i].Buffer);
                    }
                }
                wakeup.Wait(100, CancellationToken.None);
            }
            Assert.Equal(inbound, received);

            byte[] outbound = TestFrames.Experimental(2, 500);
            int buffer = pool.Rent();
            outbound.CopyTo(pool.Buffer(buffer));
            Assert.Equal(1, second.Queue(2).Transmit([new PacketDescriptor { Buffer = buffer, Offset = 0, Length = outbound.Length }], pool));
            Assert.Equal(outbound, Assert.Single(outside.Receive(1, TimeSpan.FromSeconds(10))));

            second.Delete();
            // The kernel unregisters the device once the last queue fd is released, which may finish
            // a moment after close returns (a packet socket on it, deferred queue teardown).
            DateTime gone = DateTime.UtcNow.AddSeconds(10);
            while (TapPort.Exists(device, ns.Name) && DateTime.UtcNow < gone)
            {
                Thread.Sleep(20);
            }
            Assert.False(TapPort.Exists(device, ns.Name));
        }
        finally
        {
            second.Dispose();
        }
    }

    [LinuxFact]
    public void The_port_mac_is_the_agents_own_and_the_device_mac_is_the_kernel_sides()
    {
        using TestNamespace ns = TestNamespace.Create();
        string device = TestNamespace.InterfaceName("t");
        ns.IpIn("tuntap", "add", "dev", device, "mode", "tap", "multi_queue");
        ns.IpIn("link", "set", device, "address", "02:4d:41:54:bb:01");
        using (var port = new TapPort("if-mac", device, networkNamespace: ns.Name))
        {
            Assert.False(port.WasCreated);
            Assert.Equal(0x024d_4154_bb01UL, port.DeviceMacAddress);
            Assert.Equal(0x02UL, port.MacAddress >> 40);
            Assert.NotEqual(port.DeviceMacAddress, port.MacAddress);
            using var again = new TapPort("if-mac", device, networkNamespace: ns.Name);
            Assert.Equal(port.MacAddress, again.MacAddress);
            port.Delete();
        }
        using var explicitMac = new TapPort("if-mac", TestNamespace.InterfaceName("t"), networkNamespace: ns.Name, macAddress: 0x024d_4154_cc01);
        Assert.Equal(0x024d_4154_cc01UL, explicitMac.MacAddress);
        explicitMac.Delete();
    }

    [LinuxFact]
    public void A_failed_create_leaves_no_device_behind()
    {
        using TestNamespace ns = TestNamespace.Create();
        string device = TestNamespace.InterfaceName("t");
        var e = Assert.Throws<IOException>(() => new TapPort("if-x", device, queueCount: 2, networkNamespace: ns.Name, mtu: 1_000_000));
        Assert.Contains("SIOCSIFMTU", e.Message);
        Assert.False(TapPort.Exists(device, ns.Name));
    }

    [LinuxFact]
    public void A_missing_namespace_is_a_clear_error()
    {
        var e = Assert.Throws<IOException>(() => new TapPort("if-x", "matnons0", networkNamespace: "mat-no-such-namespace"));
        Assert.Contains("network namespace '/var/run/netns/mat-no-such-namespace' does not exist", e.Message);
    }

    [LinuxFact]
    public void A_device_that_is_not_a_tap_is_refused()
    {
        using TestNamespace ns = TestNamespace.Create();
        (string inside, _) = ns.AddVethPair();
        var e = Assert.Throws<IOException>(() => new TapPort("if-x", inside, networkNamespace: ns.Name));
        Assert.Contains($"TAP '{inside}': TUNSETIFF", e.Message);
        Assert.True(TapPort.Exists(inside, ns.Name));
    }
}
