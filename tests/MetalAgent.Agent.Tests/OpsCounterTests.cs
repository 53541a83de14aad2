using MetalAgent.Backends;
using MetalAgent.Backends.Memory;
using MetalAgent.Compiler;
using MetalAgent.Dataplane;
using MetalAgent.Dataplane.Flows;
using MetalAgent.Model.V1;
using MetalAgent.Tables.Snapshot;
using DataplaneRuntime = MetalAgent.Dataplane.Runtime.Dataplane;

namespace MetalAgent.Agent.Tests;

/// <summary>The dataplane counters added for metrics (NAT ports in use, load-balancer picks), driven
/// deterministically with <see cref="DataplaneRuntime.Drain"/> and <see cref="DataplaneRuntime.SweepNow"/>.</summary>
public sealed class OpsCounterTests : IDisposable
{
    private readonly DataplaneRuntime _dataplane = new(workers: 1, poolSizePerWorker: 256, conntrack: new ConntrackOptions { Capacity = 4096, UdpTimeout = 0, TcpTransitoryTimeout = 0 });
    private readonly Dictionary<string, InMemoryPort> _ports = new(StringComparer.Ordinal);
    private readonly HostSpec _spec = Spec();

    public OpsCounterTests() => Publish(_spec);

    public void Dispose()
    {
        _dataplane.Dispose();
        foreach (InMemoryPort port in _ports.Values)
        {
            port.Dispose();
        }
    }

    private static HostSpec Spec()
    {
        HostSpec spec = OpsAgent.HostA();
        spec.Host.Uplinks.Clear();
        spec.Host.Uplinks.Add(new UplinkSpec { Name = "uplink0", GatewayAddress = "fe80::1", GatewayMac = "02:00:00:00:ff:01" });
        return spec;
    }

    private DataplaneSnapshot Publish(HostSpec spec)
    {
        DataplaneSnapshot tables = HostCompiler.Compile(spec).Snapshot;
        foreach (PortEntry p in tables.Ports)
        {
            if (p.Present && !_ports.ContainsKey(p.Name))
            {
                var port = new InMemoryPort(p.Name, p.Kind == PortKind.Uplink ? PortRole.Uplink : PortRole.Vm, capacity: 64);
                _ports[p.Name] = port;
                _dataplane.AddPort(port);
            }
        }
        _dataplane.Publish(tables);
        return tables;
    }

    private long NatInUse(string iface)
    {
        int i = _dataplane.Current!.Tables.FindInterface(iface);
        return _dataplane.Sum(c => c.NatPortsTakenOf(i)) - _dataplane.Conntrack.NatPortsReleased(i);
    }

    private void Send(string port, byte[] frame)
    {
        Assert.True(_ports[port].Inject(frame));
        _dataplane.Drain();
    }

    [Fact]
    public void A_nat_port_is_in_use_from_the_flow_that_takes_it_until_the_sweeper_removes_the_flow()
    {
        Send("db-1", Frames.ArpRequest(OpsFrames.Db1Mac, "10.0.0.10"));
        Send("db-1", OpsFrames.Udp(OpsFrames.Db1Mac, "db-1", "10.0.0.10", "8.8.8.8", 40000, 53));
        Send("db-1", OpsFrames.Udp(OpsFrames.Db1Mac, "db-1", "10.0.0.10", "8.8.4.4", 40000, 53));
        Assert.Equal(2, _ports["uplink0"].TakeAll().Count);
        Assert.Equal(2, NatInUse("db-1"));
        Assert.Equal(0, NatInUse("web-1"));

        // A packet of the same flow takes no second port; a VirtualIP flow (web-1) takes none.
        Send("db-1", OpsFrames.Udp(OpsFrames.Db1Mac, "db-1", "10.0.0.10", "8.8.8.8", 40000, 53));
        Send("web-1", Frames.ArpRequest(OpsFrames.Web1Mac, "10.0.0.1"));
        Send("web-1", OpsFrames.Udp(OpsFrames.Web1Mac, "web-1", "10.0.0.1", "8.8.8.8", 40000, 53));
        Assert.Equal(2, NatInUse("db-1"));
        Assert.Equal(0, NatInUse("web-1"));

        _dataplane.SweepNow(); // UDP timeout 0: every flow expires
        Assert.Equal(0, NatInUse("db-1"));
        Assert.Equal(0, _dataplane.Conntrack.Table.Count);
    }

    [Fact]
    public void Load_balancer_picks_count_per_target_and_restart_only_when_the_target_set_changes()
    {
        Send("web-1", Frames.ArpRequest(OpsFrames.Web1Mac, "10.0.0.1"));
        LoadBalancerEntry lb = _dataplane.Current!.Tables.LoadBalancers.Single(l => l.Id.Length > 0);
        string lbIp = Packets.Addresses.FormatIPv4((uint)lb.Ips[0].Ip);
        string lbUnderlay = Packets.Addresses.FormatIPv6(lb.Underlay);
        for (ushort port = 1000; port < 1040; port++)
        {
            Send("uplink0", OpsFrames.FromUnderlay("fc00:0:ff::1", lbUnderlay, "198.51.100.7", lbIp, port, 80));
        }
        LoadBalancerPicks row = Row(lb.Id);
        Assert.Equal(2, row.Targets.Length);
        Assert.Equal(40, row.PicksOf(0) + row.PicksOf(1));
        Assert.True(row.PicksOf(0) > 0 && row.PicksOf(1) > 0, "Maglev spreads 40 flows over both targets");
        // Packets of established flows are not picks.
        Send("uplink0", OpsFrames.FromUnderlay("fc00:0:ff::1", lbUnderlay, "198.51.100.7", lbIp, 1000, 80, syn: false));
        Assert.Equal(40, Row(lb.Id).PicksOf(0) + Row(lb.Id).PicksOf(1));

        // Recompiling the same state keeps the counts; a changed target set starts them again.
        Publish(_spec);
        _dataplane.Drain();
        Assert.Same(row, Row(lb.Id));
        HostSpec fewer = _spec.Clone();
        fewer.Version++;
        fewer.LoadBalancers[0].Targets.RemoveAt(1);
        Publish(fewer);
        _dataplane.Drain();
        LoadBalancerPicks after = Row(lb.Id);
        Assert.NotSame(row, after);
        Assert.Single(after.Targets);
        Assert.Equal(0, after.PicksOf(0));
    }

    private LoadBalancerPicks Row(string id) => _dataplane.Workers[0].Counters.LoadBalancerPickRows.Single(r => r.Id == id);
}
