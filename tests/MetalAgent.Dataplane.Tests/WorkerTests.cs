using System.Net;
using PacketDotNet;
using static MetalAgent.Dataplane.Tests.TestFrames;

namespace MetalAgent.Dataplane.Tests;

/// <summary>Several workers share one flow table: a flow created on one worker is found by the other,
/// with translations and LB stickiness intact; NAT ports are never handed out twice.</summary>
public class WorkerTests
{
    [Fact]
    public void Reply_on_the_other_worker_meets_the_translation_made_on_the_first()
    {
        using var h = new DataplaneHarness(TestHost.Spec(), workers: 2);
        h.Inject("vm-a", ArpRequest(VmMacA, "10.0.0.1"), queue: 0);
        h.Take("vm-a");
        h.Inject("vm-b", Eth(VmMacB, Any, Udp("10.0.0.2", "198.51.100.7", 3001, 53)), queue: 0);
        byte[] output = Assert.Single(h.Take("uplink0"));
        ushort port = ((UdpPacket)Inner(output).PayloadPacket).SourcePort;

        // The reply arrives on worker 1's queue (the kernel's hash differs across a translation).
        h.Inject("uplink0", Underlay(TestHost.Router, "fc00:1:a::30", Udp("198.51.100.7", "203.0.113.30", 53, port)), queue: 1);
        byte[] reply = Assert.Single(h.Take("vm-b"));
        var ip = (IPv4Packet)Parse(reply).PayloadPacket;
        Assert.Equal(IPAddress.Parse("10.0.0.2"), ip.DestinationAddress);
        Assert.Equal(3001, ((UdpPacket)ip.PayloadPacket).DestinationPort);
    }

    [Fact]
    public void Load_balanced_flow_keeps_its_target_across_workers()
    {
        using var h = new DataplaneHarness(TestHost.Spec(), workers: 2);
        h.Inject("vm-a", ArpRequest(VmMacA, "10.0.0.1"), queue: 0);
        h.Take("vm-a");
        for (ushort p = 0; p < 32; p++)
        {
            h.Inject("uplink0", Underlay(TestHost.Router, "fc00:1:a::20", Tcp("198.51.100.9", "203.0.113.20", (ushort)(30000 + p), 80)), queue: p % 2);
            bool local = h.Take("vm-a").Count == 1;
            Assert.Equal(!local, h.Take("uplink0").Count == 1);
            h.Inject("uplink0", Underlay(TestHost.Router, "fc00:1:a::20", Tcp("198.51.100.9", "203.0.113.20", (ushort)(30000 + p), 80, syn: false, ack: true)), queue: 1 - (p % 2));
            Assert.Equal(local, h.Take("vm-a").Count == 1);
            Assert.Equal(!local, h.Take("uplink0").Count == 1);
        }
    }

    [Fact]
    public void Two_workers_racing_for_nat_ports_never_share_one()
    {
        Model.V1.HostSpec spec = TestHost.Spec();
        spec.Interfaces[1].NatIpv4.LastPort = 1024 + 63;
        spec.NeighborNats[0].FirstPort = 1024 + 64;
        spec.NeighborNats[0].LastPort = 1024 + 65;
        using var h = new DataplaneHarness(spec, workers: 2);
        // 48 flows from vm-b to one destination, spread over both workers' queues, processed in
        // interleaved rounds: every flow needs its own port.
        for (int i = 0; i < 48; i++)
        {
            Assert.True(h.Ports["vm-b"].Inject(Eth(VmMacB, Any, Udp("10.0.0.2", "198.51.100.7", (ushort)(4000 + i), 53)), i % 2));
        }
        h.Dataplane.Drain();
        var ports = h.Take("uplink0").Select(f => ((UdpPacket)Inner(f).PayloadPacket).SourcePort).ToList();
        Assert.Equal(48, ports.Count);
        Assert.Equal(48, ports.Distinct().Count());
        Assert.All(ports, p => Assert.InRange(p, 1024, 1024 + 63));
    }

    [Fact]
    public void Worker_threads_forward_and_block_when_idle()
    {
        using var h = new DataplaneHarness(TestHost.Spec(), workers: 2);
        h.Dataplane.Start();
        h.Ports["vm-a"].Inject(ArpRequest(VmMacA, "10.0.0.1"), 1);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        // Workers also send periodic router advertisements: look for the ARP reply among the frames.
        var arpReplies = new List<byte[]>();
        while (arpReplies.Count == 0 && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(10);
            arpReplies.AddRange(h.Take("vm-a").Where(f => f[12] == 0x08 && f[13] == 0x06));
        }
        Assert.Single(arpReplies);
        long rounds = h.Dataplane.Workers[0].Rounds;
        Thread.Sleep(500);
        // Idle workers block (waking at most about every 50 ms), they do not spin: a spinning worker
        // would count millions of rounds here.
        Assert.InRange(h.Dataplane.Workers[0].Rounds - rounds, 0, 100);
        h.Dataplane.Stop();
    }

    [Fact]
    public void A_port_needs_one_queue_per_worker()
    {
        using var dataplane = new MetalAgent.Dataplane.Runtime.Dataplane(workers: 2, poolSizePerWorker: 64, new MetalAgent.Dataplane.Flows.ConntrackOptions { Capacity = 1024 });
        var e = Assert.Throws<ArgumentException>(() => dataplane.AddPort(new Backends.Memory.InMemoryPort("vm-a", Backends.PortRole.Vm, queueCount: 1)));
        Assert.Contains("one queue per worker", e.Message);
        dataplane.AddPort(new Backends.Memory.InMemoryPort("vm-a", Backends.PortRole.Vm, queueCount: 2));
    }
}
