using static MetalAgent.Dataplane.Tests.TestFrames;

namespace MetalAgent.Dataplane.Tests;

/// <summary>Aging, per-interface caps, and flows flushed by a spec change (exactly those it invalidates).</summary>
public class FlowLifecycleTests
{
    [Fact]
    public void Idle_udp_flows_age_out_and_established_tcp_flows_stay()
    {
        using var f = new PipelineFixture();
        f.Expect("vm-a", Eth(VmMacA, Any, Udp("10.0.0.1", "10.0.0.3", 1000, 53)), "uplink0");
        f.Expect("vm-a", Eth(VmMacA, Any, Tcp("10.0.0.1", "10.0.0.3", 1001, 80)), "uplink0");
        f.Expect("uplink0", Underlay("fc00:1:b::3", "fc00:1:a::1", Tcp("10.0.0.3", "10.0.0.1", 80, 1001, syn: true, ack: true)), "vm-a");
        Assert.Equal(2, f.Runner.Dataplane.Conntrack.Table.Count);
        f.Runner.Dataplane.Clock.Advance(300);
        f.Runner.Dataplane.SweepNow();
        Assert.Equal(1, f.Runner.Dataplane.Conntrack.Table.Count);
        f.Runner.Dataplane.Clock.Advance(8000);
        f.Runner.Dataplane.SweepNow();
        Assert.Equal(0, f.Runner.Dataplane.Conntrack.Table.Count);
        Assert.Equal(0, f.Runner.Dataplane.Conntrack.FlowsOf(f.Compiled.Snapshot.FindInterface("vm-a")));
    }

    [Fact]
    public void Removing_a_virtual_ip_flushes_its_flows_and_keeps_the_others()
    {
        using var f = new PipelineFixture();
        f.Expect("vm-a", Eth(VmMacA, Any, Tcp("10.0.0.1", "198.51.100.7", 40000, 443)), "uplink0");
        f.Expect("vm-a", Eth(VmMacA, Any, Udp("10.0.0.1", "10.0.0.3", 1000, 53)), "uplink0");
        Assert.Equal(2, f.Runner.Dataplane.Conntrack.Table.Count);
        Model.V1.HostSpec spec = TestHost.Spec();
        spec.Interfaces[0].VirtualIpv4 = null;
        spec.Version = 2;
        f.Update(spec);
        f.Runner.Dataplane.SweepNow();
        Assert.Equal(1, f.Runner.Dataplane.Conntrack.Table.Count);
        f.ExpectDrop("uplink0", Underlay(TestHost.Router, "fc00:1:a::10", Tcp("198.51.100.7", "203.0.113.10", 443, 40000, syn: true, ack: true)), "unknown_underlay_destination");
    }

    [Fact]
    public void Removing_a_load_balancer_target_flushes_its_flows_and_adding_one_moves_none()
    {
        using var f = new PipelineFixture();
        var where = new Dictionary<ushort, string>();
        for (ushort p = 0; p < 32; p++)
        {
            var v = f.Inject("uplink0", Underlay(TestHost.Router, "fc00:1:a::20", Tcp("198.51.100.9", "203.0.113.20", (ushort)(20000 + p), 80)));
            where[p] = Assert.Single(v.OutPorts);
            f.Take(where[p]);
        }
        // Add a target: established flows keep theirs.
        Model.V1.HostSpec spec = TestHost.Spec();
        spec.LoadBalancers[0].Targets.Add("fc00:1:c::21");
        spec.Version = 2;
        f.Update(spec);
        foreach ((ushort p, string port) in where)
        {
            var v = f.Inject("uplink0", Underlay(TestHost.Router, "fc00:1:a::20", Tcp("198.51.100.9", "203.0.113.20", (ushort)(20000 + p), 80, syn: false, ack: true)));
            Assert.Equal(port, Assert.Single(v.OutPorts));
            f.Take(port);
        }
        // Remove the remote target on host-b: its flows are flushed, vm-a's stay.
        spec = spec.Clone();
        spec.LoadBalancers[0].Targets.Remove("fc00:1:b::21");
        spec.Version = 3;
        long before = f.Runner.Dataplane.Conntrack.Table.Count;
        f.Update(spec);
        f.Runner.Dataplane.SweepNow();
        int remote = where.Values.Count(p => p == "uplink0");
        Assert.True(remote > 0);
        Assert.Equal(before - remote, f.Runner.Dataplane.Conntrack.Table.Count);
    }

    [Fact]
    public void Per_interface_cap_refuses_new_flows_and_counts_them()
    {
        using var h = new DataplaneHarness(TestHost.Spec(), workers: 1, capacity: 1 << 12, maxFlowsPerInterface: 4);
        for (int i = 0; i < 6; i++)
        {
            h.Inject("vm-b", Eth(VmMacB, Any, Udp("10.0.0.2", "10.0.0.3", (ushort)(5000 + i), 53)));
        }
        Assert.Equal(4, h.Take("uplink0").Count);
        Assert.Equal(2, h.Drops(DropReason.FlowCapReached));
        Assert.Equal(2, h.Dataplane.Sum(c => c.FlowCapReachedOf(h.Snapshot.FindInterface("vm-b"))));
    }
}
