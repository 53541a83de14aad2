using Google.Protobuf;
using Grpc.Core;
using MetalAgent.Agent.Commands;
using MetalAgent.Agent.Hosting;
using MetalAgent.Agent.Local;
using MetalAgent.Agent.Local.V1;
using MetalAgent.Backends.Memory;
using MetalAgent.Packets;
using MetalAgent.Tables.Snapshot;

namespace MetalAgent.Agent.Tests;

/// <summary>One running agent (host-a from persisted state, control socket on) with one NAT flow of db-1,
/// shared by the read-only tests of <see cref="LocalControlTests"/>.</summary>
public sealed class LocalControlFixture : IAsyncLifetime
{
    public OpsAgent Agent { get; private set; } = null!;

    public LocalControlClient Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Agent = await OpsAgent.StartAsync(dir => new AgentServiceOptions { ControlSocketPath = Path.Combine(dir, "run", "agent.sock"), HealthInterval = TimeSpan.FromMilliseconds(20) });
        Client = new LocalControlClient(Agent.SocketPath);
        InMemoryPort db1 = Agent.Port("db-1");
        await AgentSyncTests.Exchange(db1, Frames.ArpRequest(OpsFrames.Db1Mac, "10.0.0.10"), db1);
        await AgentSyncTests.Exchange(db1, OpsFrames.Udp(OpsFrames.Db1Mac, "db-1", "10.0.0.10", "8.8.8.8", 40000, 53), Agent.Port("uplink0"));
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await Agent.DisposeAsync();
    }
}

/// <summary><c>status</c>, <c>flows</c> and <c>trace</c> over the control socket of an in-process running agent.
/// None of them changes the agent, so they share one.</summary>
public sealed class LocalControlTests(LocalControlFixture fixture) : IClassFixture<LocalControlFixture>
{
    private readonly OpsAgent _agent = fixture.Agent;
    private readonly LocalControlClient _client = fixture.Client;

    private uint VniOf(string iface)
    {
        DataplaneSnapshot tables = _agent.Host.Dataplane.Current!.Tables;
        return tables.Interfaces[tables.FindInterface(iface)].Vni;
    }

    [Fact]
    public async Task Status_shows_identity_state_ports_interfaces_and_counters()
    {
        StatusReply status = await _client.Agent.GetStatusAsync(new StatusRequest());
        Assert.Equal(("host-a", "fc00:1:a::/64", string.Empty, "no-server"), (status.HostName, status.UnderlayPrefix, status.Server, status.SyncState));
        Assert.True(status.Live && status.Ready && status.InSync && status.StartedFromPersistedState);
        Assert.Equal(_agent.Host.Applier.Version, status.StateVersion);
        Assert.Equal(_agent.Host.Applier.Sha256, status.StateSha256);
        Assert.Equal(["db-1", "other-1", "uplink0", "web-1"], status.Ports.Select(p => p.Name).Order(StringComparer.Ordinal));
        PortStatus db1Port = status.Ports.Single(p => p.Name == "db-1");
        Assert.Equal(("vm", "mem:db-1", true, 2UL), (db1Port.Kind, db1Port.Device, db1Port.Bound, db1Port.RxPackets));
        Local.V1.InterfaceStatus db1 = status.Interfaces.Single(i => i.Id == "db-1");
        Assert.Equal(("available", "52:54:00:00:00:10", 1L, 1L), (db1.State, db1.Mac, db1.Flows, db1.NatPortsInUse));
        Assert.Contains("10.0.0.10", db1.Addresses);
        Assert.Equal((1L, 1UL), (status.Counters.FlowsInUse, status.Counters.FlowsCreated));
        Assert.Single(status.Workers);

        string text = StatusCommand.Text(status);
        Assert.Contains("health     live, ready", text, StringComparison.Ordinal);
        Assert.Contains($"db-1       available  {VniOf("db-1")}", text, StringComparison.Ordinal);
        Assert.Contains("\"hostName\": \"host-a\"", LocalCommandOptions.Json(status), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Flows_lists_the_live_table_with_filters_and_a_limit()
    {
        FlowsReply all = await _client.Agent.ListFlowsAsync(new FlowsRequest());
        Flow nat = Assert.Single(all.Flows);
        Assert.Equal(("snat", "udp", "db-1", $"vni {VniOf("db-1")}", "10.0.0.10", 40000U, "8.8.8.8", 53U), (nat.Kind, nat.Protocol, nat.Interface, nat.Forward.Zone, nat.Forward.Src, nat.Forward.SrcPort, nat.Forward.Dst, nat.Forward.DstPort));
        Assert.Equal("public", nat.Reply.Zone);
        Assert.StartsWith("10.0.0.10:40000 <-> 203.0.113.", nat.Translation, StringComparison.Ordinal);
        Assert.Equal((1L, 1L, false), (all.Live, all.Matched, all.Truncated));

        // The public side of the translation matches an address filter too.
        FlowsReply byPublic = await _client.Agent.ListFlowsAsync(new FlowsRequest { Address = nat.Reply.Dst, Protocol = "udp", Port = 53, Kind = "snat", Interface = "db-1" });
        Assert.Single(byPublic.Flows);
        Assert.Empty((await _client.Agent.ListFlowsAsync(new FlowsRequest { Interface = "web-1" })).Flows);
        Assert.Empty((await _client.Agent.ListFlowsAsync(new FlowsRequest { Protocol = "tcp" })).Flows);
        FlowsReply limited = await _client.Agent.ListFlowsAsync(new FlowsRequest { Limit = 1 });
        Assert.Single(limited.Flows);

        RpcException bad = await Assert.ThrowsAsync<RpcException>(async () => await _client.Agent.ListFlowsAsync(new FlowsRequest { Interface = "nope" }));
        Assert.Equal(StatusCode.InvalidArgument, bad.StatusCode);
        Assert.Contains("no interface 'nope'", bad.Status.Detail, StringComparison.Ordinal);

        string text = FlowsCommand.Text(all);
        Assert.Contains($"snat  udp    vni {VniOf("db-1")}  10.0.0.10:40000  8.8.8.8:53", text, StringComparison.Ordinal);
        Assert.EndsWith("1 shown, 1 matching, 1 live\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Trace_runs_a_described_packet_through_the_live_tables_without_touching_live_state()
    {
        long flowsBefore = _agent.Host.Dataplane.Conntrack.Table.Count;
        long rxBefore = _agent.Host.Dataplane.Sum(c => c.RxPackets(_agent.Host.Dataplane.Current!.Tables.FindPort("db-1")));
        _agent.Port("uplink0").TakeAll();

        TraceReply reply = await _client.Agent.TraceAsync(new TraceRequest
        {
            Port = "db-1",
            Packet = new PacketDescription { Protocol = "udp", Src = "10.0.0.10", SrcPort = 40002, Dst = "1.1.1.1", DstPort = 53 },
        });
        TraceResult result = Assert.Single(reply.Results);
        Assert.Equal(("forward", "uplink0", string.Empty), (result.Verdict, result.OutPort, result.DropReason));
        Assert.Contains("IPv4 10.0.0.10:40002 > 1.1.1.1:53 udp", result.Input, StringComparison.Ordinal);
        Assert.Contains("| IPv4 203.0.113.", result.Output, StringComparison.Ordinal);
        Assert.StartsWith("new #", result.Flow, StringComparison.Ordinal);
        Assert.Empty(result.LiveFlow);

        // A denied packet names its reason.
        TraceResult denied = (await _client.Agent.TraceAsync(new TraceRequest
        {
            Port = "db-1",
            Packet = new PacketDescription { Protocol = "udp", Src = "10.0.0.10", SrcPort = 40002, Dst = "1.1.1.1", DstPort = 123 },
        })).Results.Single();
        Assert.Equal(("drop", "policy_denied_egress"), (denied.Verdict, denied.DropReason));

        // The packet of an existing connection shows the live flow carrying it.
        TraceResult again = (await _client.Agent.TraceAsync(new TraceRequest
        {
            Port = "db-1",
            Packet = new PacketDescription { Protocol = "udp", Src = "10.0.0.10", SrcPort = 40000, Dst = "8.8.8.8", DstPort = 53 },
        })).Results.Single();
        Assert.StartsWith("live #", again.LiveFlow, StringComparison.Ordinal);
        Assert.Contains("original direction", again.LiveFlow, StringComparison.Ordinal);

        Assert.Equal(flowsBefore, _agent.Host.Dataplane.Conntrack.Table.Count);
        Assert.Equal(rxBefore, _agent.Host.Dataplane.Sum(c => c.RxPackets(_agent.Host.Dataplane.Current!.Tables.FindPort("db-1"))));
        Assert.Empty(_agent.Port("uplink0").TakeAll());
    }

    [Fact]
    public async Task Trace_of_a_reply_from_the_uplink_finds_the_live_nat_flow()
    {
        Flow nat = (await _client.Agent.ListFlowsAsync(new FlowsRequest())).Flows.Single();
        // The reply as it comes back: 8.8.8.8:53 to the NAT address and port, from the router.
        DataplaneSnapshot tables = _agent.Host.Dataplane.Current!.Tables;
        string natUnderlay = Addresses.FormatIPv6(tables.Interfaces[tables.FindInterface("db-1")].Nat4.Underlay);
        byte[] frame = OpsFrames.UdpFromUnderlay("fc00:0:ff::1", natUnderlay, "8.8.8.8", nat.Reply.Dst, 53, (ushort)nat.Reply.DstPort);
        TraceReply reply = await _client.Agent.TraceAsync(new TraceRequest { Port = "uplink0", Frames = { ByteString.CopyFrom(frame) } });
        TraceResult result = reply.Results.Single();
        Assert.Contains("reply direction", result.LiveFlow, StringComparison.Ordinal);
        Assert.Contains("snat", result.LiveFlow, StringComparison.Ordinal);
        if (result.Verdict == "drop")
        {
            Assert.Contains(result.Notes, n => n.Contains("the live agent has a flow for this packet", StringComparison.Ordinal));
        }

        string text = TraceCommand.Text(reply);
        Assert.Contains("#1 in uplink0:", text, StringComparison.Ordinal);
        Assert.Contains("   live: live #", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Trace_refuses_unknown_ports_and_inconsistent_descriptions()
    {
        RpcException port = await Assert.ThrowsAsync<RpcException>(async () => await _client.Agent.TraceAsync(new TraceRequest { Port = "nope", Packet = new PacketDescription { Src = "10.0.0.1", Dst = "10.0.0.2" } }));
        Assert.Equal(StatusCode.InvalidArgument, port.StatusCode);
        RpcException family = await Assert.ThrowsAsync<RpcException>(async () => await _client.Agent.TraceAsync(new TraceRequest { Port = "web-1", Packet = new PacketDescription { Protocol = "icmp", Src = "fd10::1", Dst = "fd10::2" } }));
        Assert.Contains("icmp needs IPv4", family.Status.Detail, StringComparison.Ordinal);

        Assert.Null(TraceCommand.ParseDescription(["udp", "10.0.0.1"], out string? problem));
        Assert.NotNull(problem);
        PacketDescription? v6 = TraceCommand.ParseDescription(["TCP", "[fd10::1]:40000", "fd10::2"], out _);
        Assert.Equal(("tcp", "fd10::1", 40000U, "fd10::2", 0U), (v6!.Protocol, v6.Src, v6.SrcPort, v6.Dst, v6.DstPort));
    }

    [Fact]
    public void Trace_reads_a_frame_given_in_hex()
    {
        Assert.Equal(new byte[] { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 8, 6, 0 }, TraceCommand.ParseHexFrame("ff:ff:ff:ff:ff:ff 020000000001\n0806 00", out _));
        Assert.Null(TraceCommand.ParseHexFrame("0806 0", out string? odd));
        Assert.Equal("not an even number of hex digits", odd);
        Assert.Null(TraceCommand.ParseHexFrame("0806", out string? shortFrame));
        Assert.Equal("2 bytes: shorter than an Ethernet header (14)", shortFrame);
    }

    [Fact]
    public void Trace_builds_frames_the_parser_reads_back()
    {
        Dataplane.Runtime.BoundSnapshot live = _agent.Host.Dataplane.Current!;
        var notes = new List<string>();
        LoadBalancerEntry lb = live.Tables.LoadBalancers.Single(l => l.Id.Length > 0);
        string lbIp = Addresses.FormatIPv4((uint)lb.Ips[0].Ip);
        byte[] frame = TracePacketBuilder.Build(live, live.Tables.FindPort("uplink0"), new PacketDescription { Protocol = "tcp", Src = "198.51.100.7", SrcPort = 5555, Dst = lbIp, DstPort = 80, TcpFlags = "SA" }, notes);
        var outer = default(PacketHeaders);
        Assert.Equal(ParseError.None, PacketParser.ParseEthernet(frame, ref outer));
        Assert.Equal((6, IpProtocols.IPv4InIp), (outer.IpVersion, outer.Protocol));
        var inner = default(PacketHeaders);
        Assert.Equal(ParseError.None, PacketParser.ParseIp(frame.AsSpan(0, outer.L3End), outer.L4Offset, ref inner));
        Assert.Equal((IpProtocols.Tcp, (byte)0x12, (ushort)5555, (ushort)80), (inner.Protocol, inner.TcpFlags, inner.SrcPort, inner.DstPort));
        Assert.Equal(lb.Underlay, outer.DstIp);
        Assert.Contains(notes, n => n.Contains("load balancer loadbalancer-sample", StringComparison.Ordinal));
    }
}

/// <summary>The control socket's file: mode, exclusivity, removal on stop.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class LocalControlSocketTests
{
    [Fact]
    public async Task The_socket_is_for_its_owner_only_and_goes_away_on_stop()
    {
        await using OpsAgent agent = await OpsAgent.StartAsync(dir => new AgentServiceOptions { ControlSocketPath = Path.Combine(dir, "run", "agent.sock") });
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(agent.SocketPath));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(agent.SocketPath)!));
        // A second agent must not take over a socket that answers.
        await Assert.ThrowsAsync<InvalidOperationException>(() => LocalControlServer.StartAsync(agent.Service, agent.SocketPath, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance, default));
        await agent.Service.StopAsync();
        Assert.False(File.Exists(agent.SocketPath));
    }
}
