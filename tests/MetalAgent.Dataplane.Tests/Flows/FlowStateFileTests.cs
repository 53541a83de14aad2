using System.Net;
using MetalAgent.Agent.Replay;
using MetalAgent.Dataplane.Flows;
using MetalAgent.Model.V1;
using PacketDotNet;
using static MetalAgent.Dataplane.Tests.TestFrames;

namespace MetalAgent.Dataplane.Tests.Flows;

/// <summary>Connection tracking saved at a graceful stop and restored by the next agent: translated
/// and established flows keep their ports and answers; flows of what is gone are not restored.</summary>
public sealed class FlowStateFileTests : IDisposable
{
    private static readonly DateTimeOffset s_saved = new(2026, 11, 24, 8, 0, 0, TimeSpan.Zero);
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"flows-{Guid.NewGuid():N}.bin");

    public void Dispose() => File.Delete(_path);

    /// <summary>A NAT flow of vm-b and a VirtualIP flow of vm-a, saved; returns vm-b's NAT port.</summary>
    private ushort SaveTwoFlows()
    {
        using var before = new PipelineFixture();
        byte[] nat = before.Expect("vm-b", Eth(VmMacB, Any, Udp("10.0.0.2", "198.51.100.7", 3001, 53)), "uplink0");
        ushort port = ((UdpPacket)Inner(nat).PayloadPacket).SourcePort;
        before.Expect("vm-a", Eth(VmMacA, Any, Tcp("10.0.0.1", "198.51.100.7", 40000, 443)), "uplink0");
        int saved = FlowStateFile.Save(_path, before.Runner.Dataplane.Conntrack, before.Compiled.Snapshot, before.Runner.Dataplane.Clock.Now, s_saved);
        Assert.Equal(2, saved);
        return port;
    }

    private static FlowRestoreResult Restore(PipelineFixture f, string path, DateTimeOffset now) =>
        FlowStateFile.Restore(path, f.Runner.Dataplane.Conntrack, f.Compiled.Snapshot, f.Runner.Dataplane.Clock.Now, now);

    [Fact]
    public void Restored_nat_and_virtual_ip_flows_answer_replies_and_keep_their_port()
    {
        ushort port = SaveTwoFlows();
        byte[] natReply = Underlay(TestHost.Router, "fc00:1:a::30", Udp("198.51.100.7", "203.0.113.30", 53, port));

        // Without the saved flows a new agent has no mapping for the NAT port.
        using (var fresh = new PipelineFixture())
        {
            ReplayVerdict unknown = fresh.Inject("uplink0", natReply);
            Assert.Empty(unknown.OutPorts);
        }

        using var after = new PipelineFixture();
        FlowRestoreResult result = Restore(after, _path, s_saved.AddSeconds(5));
        Assert.Equal(new FlowRestoreResult(2, 0, null), result);
        int vmB = after.Compiled.Snapshot.FindInterface("vm-b");
        Assert.Equal(1, after.Runner.Dataplane.Conntrack.FlowsOf(vmB));
        // The restored NAT port counts as in use (ports taken by workers, minus ports the sweeper released).
        Assert.Equal(1, after.Runner.Dataplane.Sum(c => c.NatPortsTakenOf(vmB)) - after.Runner.Dataplane.Conntrack.NatPortsReleased(vmB));

        byte[] back = after.Expect("uplink0", natReply, "vm-b");
        var ip = (IPv4Packet)Parse(back).PayloadPacket;
        Assert.Equal(IPAddress.Parse("10.0.0.2"), ip.DestinationAddress);
        Assert.Equal(3001, ((UdpPacket)ip.PayloadPacket).DestinationPort);

        // The same connection leaves through the same port, not a new one.
        byte[] again = after.Expect("vm-b", Eth(VmMacB, Any, Udp("10.0.0.2", "198.51.100.7", 3001, 53)), "uplink0");
        Assert.Equal(port, ((UdpPacket)Inner(again).PayloadPacket).SourcePort);
        Assert.Equal(2, after.Runner.Dataplane.Conntrack.Table.Count);

        byte[] vipReply = after.Expect("uplink0", Underlay(TestHost.Router, "fc00:1:a::10", Tcp("198.51.100.7", "203.0.113.10", 443, 40000, syn: true, ack: true)), "vm-a");
        Assert.Equal(IPAddress.Parse("10.0.0.1"), ((IPv4Packet)Parse(vipReply).PayloadPacket).DestinationAddress);
    }

    [Fact]
    public void Flows_of_a_removed_interface_are_not_restored()
    {
        SaveTwoFlows();
        HostSpec spec = TestHost.Spec();
        spec.Interfaces.Remove(spec.Interfaces.Single(i => i.Id == "vm-b"));
        spec.PolicyRules.Clear();
        spec.NeighborNats.Clear();
        using var after = new PipelineFixture(spec);
        Assert.Equal(new FlowRestoreResult(1, 1, null), Restore(after, _path, s_saved.AddSeconds(5)));
    }

    [Fact]
    public void Downtime_counts_towards_expiry()
    {
        SaveTwoFlows();
        using (var soon = new PipelineFixture())
        {
            Assert.Equal(new FlowRestoreResult(2, 0, null), Restore(soon, _path, s_saved.AddSeconds(30)));
        }
        // UDP flows live 120 s, TCP flows still opening 60 s.
        using var late = new PipelineFixture();
        Assert.Equal(new FlowRestoreResult(0, 2, null), Restore(late, _path, s_saved.AddSeconds(600)));
        Assert.Equal(0, late.Runner.Dataplane.Conntrack.FlowsOf(late.Compiled.Snapshot.FindInterface("vm-b")));
    }

    [Fact]
    public void A_file_of_another_host_or_format_restores_nothing()
    {
        SaveTwoFlows();
        HostSpec other = TestHost.Spec();
        other.Host.Name = "host-b";
        using (var f = new PipelineFixture(other))
        {
            FlowRestoreResult result = Restore(f, _path, s_saved);
            Assert.Equal("saved by host 'host-a', this is 'host-b'", result.Refused);
            Assert.Equal(0, f.Runner.Dataplane.Conntrack.Table.Count);
        }

        byte[] bytes = File.ReadAllBytes(_path);
        bytes[4] = 99;
        File.WriteAllBytes(_path, bytes);
        using var g = new PipelineFixture();
        Assert.Equal($"format version 99, this agent reads {FlowStateFile.FormatVersion}", Restore(g, _path, s_saved).Refused);
    }

    [Fact]
    public void A_truncated_file_restores_the_flows_before_the_damage()
    {
        SaveTwoFlows();
        byte[] bytes = File.ReadAllBytes(_path);
        File.WriteAllBytes(_path, bytes[..(bytes.Length - 10)]);
        using var after = new PipelineFixture();
        FlowRestoreResult result = Restore(after, _path, s_saved);
        Assert.Equal(1, result.Restored);
        Assert.Null(result.Refused);
    }
}
