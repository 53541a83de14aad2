using static MetalAgent.Dataplane.Tests.TestFrames;

namespace MetalAgent.Dataplane.Tests;

/// <summary>Stateful NetworkPolicy: vm-b accepts TCP 5432 from 10.0.0.1 only; replies pass.</summary>
public class PolicyTests
{
    [Fact]
    public void Allowed_port_and_peer_pass_and_replies_come_back()
    {
        using var f = new PipelineFixture();
        f.Expect("vm-a", Eth(VmMacA, Any, Tcp("10.0.0.1", "10.0.0.2", 33000, 5432)), "vm-b");
        f.Expect("vm-b", Eth(VmMacB, Any, Tcp("10.0.0.2", "10.0.0.1", 5432, 33000, syn: true, ack: true)), "vm-a");
        f.Expect("vm-a", Eth(VmMacA, Any, Tcp("10.0.0.1", "10.0.0.2", 33000, 5432, syn: false, ack: true)), "vm-b");
    }

    [Fact]
    public void Other_ports_are_denied() =>
        new PipelineFixture().ExpectDrop("vm-a", Eth(VmMacA, Any, Tcp("10.0.0.1", "10.0.0.2", 33000, 5433)), "policy_denied_ingress");

    [Fact]
    public void Other_peers_are_denied_from_the_underlay() =>
        new PipelineFixture().ExpectDrop("uplink0", Underlay("fc00:1:b::3", "fc00:1:a::2", Tcp("10.0.0.3", "10.0.0.2", 33000, 5432)), "policy_denied_ingress");

    [Fact]
    public void Unselected_directions_allow_everything()
    {
        using var f = new PipelineFixture();
        // vm-b's egress is not selected: it reaches vm-a on any port; vm-a's ingress is not selected either.
        f.Expect("vm-b", Eth(VmMacB, Any, Udp("10.0.0.2", "10.0.0.1", 9999, 7777)), "vm-a");
    }

    [Fact]
    public void A_policy_update_that_removes_the_allow_denies_new_flows()
    {
        using var f = new PipelineFixture();
        Model.V1.HostSpec spec = TestHost.Spec();
        spec.PolicyRules.Clear();
        spec.Version = 2;
        f.Update(spec);
        f.ExpectDrop("vm-a", Eth(VmMacA, Any, Tcp("10.0.0.1", "10.0.0.2", 33001, 5432)), "policy_denied_ingress");
    }
}
