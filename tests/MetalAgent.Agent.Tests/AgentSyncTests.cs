using MetalAgent.Agent.Sync;
using MetalAgent.Backends.Memory;
using MetalAgent.Compiler;
using MetalAgent.ControlPlane.Allocation;
using MetalAgent.ControlPlane.Configuration;
using MetalAgent.ControlPlane.Server;
using MetalAgent.ControlPlane.V1;
using MetalAgent.Model.V1;
using PacketDotNet;

namespace MetalAgent.Agent.Tests;

/// <summary>The real control plane on loopback with the real sync client and an in-memory-port dataplane.</summary>
public sealed class AgentSyncTests : IAsyncLifetime
{
    private static readonly TimeSpan s_deadline = TimeSpan.FromSeconds(30);

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "metalagent-agent-" + Guid.NewGuid().ToString("N"));
    private readonly List<AgentHost> _agents = [];
    private ControlPlaneHost? _server;
    private int _port;

    private string ManifestPath => Path.Combine(_dir, "manifests", "quickstart.yaml");

    private static string QuickstartPath => Path.Combine(AppContext.BaseDirectory, "Data", "quickstart.yaml");

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(ManifestPath)!);
        File.Copy(QuickstartPath, ManifestPath);
        return StartServer();
    }

    public async Task DisposeAsync()
    {
        foreach (AgentHost agent in _agents)
        {
            await agent.DisposeAsync();
        }
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
        Directory.Delete(_dir, recursive: true);
    }

    private async Task StartServer()
    {
        string yaml = $"""
            listen: 127.0.0.1:{_port}
            routerUnderlayAddress: fc00:0:ff::1
            publicPools: [203.0.113.0/24, 2001:db8:ffff::/48]
            mtu: 1500
            dnsServers: [198.51.100.53]
            hosts:
            - name: host-a
              underlayPrefix: fc00:1:a::/64
            - name: host-b
              underlayPrefix: fc00:1:b::/64
            """;
        _server = await ControlPlaneHost.StartAsync(ControlPlaneConfig.Parse(yaml, _dir), Path.GetDirectoryName(ManifestPath)!,
            new ControlPlaneHostOptions { Store = new JsonFileStateStore(Path.Combine(_dir, "cp-state.json")) });
        _port = _server.Address.Port;
    }

    private AgentHost StartAgent(bool withServer = true)
    {
        var settings = new AgentSettings
        {
            HostName = "host-a",
            UnderlayPrefix = "fc00:1:a::/64",
            Server = withServer ? _server!.Address : null,
            StateDirectory = Path.Combine(_dir, "agent-a"),
            Uplinks = [new UplinkSpec { Name = "uplink0", GatewayAddress = "fe80::1", GatewayMac = "02:00:00:00:ff:01" }],
            ReconnectMin = TimeSpan.FromMilliseconds(50),
            ReconnectMax = TimeSpan.FromMilliseconds(500),
            MacPersistInterval = TimeSpan.FromMilliseconds(200),
        };
        var agent = new AgentHost(settings, new MemoryPortBackend());
        _agents.Add(agent);
        agent.Start();
        return agent;
    }

    private static InMemoryPort Port(AgentHost agent, string name) =>
        ((MemoryPortBackend)agent.Backend).Port(name) ?? throw new InvalidOperationException($"port {name} not open");

    internal static async Task WaitUntil(Func<bool> done, string what)
    {
        using var cts = new CancellationTokenSource(s_deadline);
        while (!done())
        {
            try
            {
                await Task.Delay(20, cts.Token);
            }
            catch (OperationCanceledException)
            {
                Assert.Fail("timed out waiting until " + what);
            }
        }
    }

    internal static async Task<byte[]> Exchange(InMemoryPort input, byte[] frame, InMemoryPort output)
    {
        output.TakeAll();
        Assert.True(input.Inject(frame));
        byte[]? sent = null;
        await WaitUntil(() => (sent = output.TakeAll().FirstOrDefault()) is not null, $"a frame leaves {output.Name}");
        return sent!;
    }

    private ulong ServerVersion(string host) => _server!.Current.Hosts[host].Version;

    private async Task AssertForwards(AgentHost agent)
    {
        InMemoryPort web1 = Port(agent, "web-1");
        byte[] reply = await Exchange(web1, Frames.ArpRequest(Frames.VmMac, "10.0.0.1"), web1);
        var arp = Frames.Parse(reply).Extract<ArpPacket>();
        Assert.Equal(ArpOperation.Response, arp.Operation);
        Assert.Equal("169.254.0.1", arp.SenderProtocolAddress.ToString());

        string web2Underlay = _server!.Current.Hosts["host-b"].Spec.Interfaces.Single(i => i.Id == "web-2").UnderlayAddress;
        var gateway = Frames.Mac(HostCompiler.GatewayMac("web-1"));
        byte[] encapsulated = await Exchange(web1, Frames.Udp(Frames.VmMac, gateway, "10.0.0.1", "10.0.0.2"), Port(agent, "uplink0"));
        Assert.Equal(System.Net.IPAddress.Parse(web2Underlay).ToString(), Frames.OuterDestination(encapsulated));
    }

    [Fact]
    public async Task Agent_converges_to_the_server_version_forwards_and_reports_status()
    {
        AgentHost agent = StartAgent();
        await WaitUntil(() => agent.Applier.Version == ServerVersion("host-a"), "the agent holds the server's version");
        await AssertForwards(agent);
        await WaitUntil(() => _server!.Runtime.AgentRecord("host-a").AckedVersion == agent.Applier.Version
            && _server.Runtime.AgentRecord("host-a").Interfaces.Count == 3, "the server saw the ACK and the status");
        HostAgentRecord record = _server!.Runtime.AgentRecord("host-a");
        Assert.All(record.Interfaces.Values, s => Assert.Equal(ControlPlane.V1.InterfaceState.Available, s.State));
        Assert.Equal("mem:web-1", record.Interfaces["web-1"].PortDevice);
        Assert.Contains("10.0.0.1", record.Interfaces["web-1"].AppliedAddresses);
        Assert.True(File.Exists(Path.Combine(_dir, "agent-a", "hostspec.json")));
    }

    [Fact]
    public async Task A_label_change_converges_to_a_new_version()
    {
        AgentHost agent = StartAgent();
        await WaitUntil(() => agent.Applier.Version == ServerVersion("host-a"), "the agent holds the server's version");
        ulong before = agent.Applier.Version;
        string yaml = await File.ReadAllTextAsync(ManifestPath);
        string changed = yaml.Replace("  name: web-2\n  labels:\n    app: web\n", "  name: web-2\n  labels:\n    app: db\n", StringComparison.Ordinal);
        Assert.NotEqual(yaml, changed);
        await File.WriteAllTextAsync(ManifestPath, changed);
        await WaitUntil(() => agent.Applier.Version > before && agent.Applier.Version == ServerVersion("host-a"), "the agent holds the new version");
        // web-2 left the load balancer: host-a's LB keeps only web-1's target.
        Assert.Single(agent.Applier.Spec!.LoadBalancers.Single().Targets);
        Assert.Equal(0, agent.Client!.Nacks);
    }

    [Fact]
    public async Task Killing_the_server_leaves_forwarding_untouched_and_a_restart_resumes_at_the_right_version()
    {
        AgentHost agent = StartAgent();
        await WaitUntil(() => agent.Applier.Version == ServerVersion("host-a"), "the agent holds the server's version");
        ulong version = agent.Applier.Version;
        await _server!.DisposeAsync();
        _server = null;
        await AssertForwardsArpOnly(agent);
        Assert.Equal(version, agent.Applier.Version);

        await StartServer();
        Assert.Equal(version, ServerVersion("host-a"));
        await WaitUntil(() => _server!.Runtime.AgentRecord("host-a") is { Connected: true } r && r.AckedVersion == version,
            "the reconnected agent acknowledges the version it holds");
        Assert.True(agent.Client!.Sessions >= 2);
        Assert.Equal(version, agent.Applier.Version);
        await AssertForwards(agent);
    }

    [Fact]
    public async Task An_agent_restarted_without_a_server_forwards_from_persisted_state_with_its_learned_mac()
    {
        AgentHost first = StartAgent();
        await WaitUntil(() => first.Applier.Version == ServerVersion("host-a"), "the agent holds the server's version");
        await AssertForwardsArpOnly(first);
        Assert.Equal(Frames.VmMacValue, first.Applier.LearnedMacs()["web-1"]);
        ulong version = first.Applier.Version;
        await first.StopAsync();
        await _server!.DisposeAsync();
        _server = null;

        AgentHost second = StartAgent(withServer: false);
        Assert.True(second.StartedFromPersistedState);
        Assert.Equal(version, second.Applier.Version);
        Assert.Equal(Frames.VmMacValue, second.Applier.LearnedMacs()["web-1"]);
        await AssertForwardsArpOnly(second);
    }

    [Fact]
    public async Task A_graceful_restart_keeps_the_flows_and_uses_the_saved_file_once()
    {
        AgentHost first = StartAgent();
        await WaitUntil(() => first.Applier.Version == ServerVersion("host-a"), "the agent holds the server's version");
        await AssertForwardsArpOnly(first);
        // web-1 to the internet: its VirtualIP translates the flow.
        var gateway = Frames.Mac(HostCompiler.GatewayMac("web-1"));
        await Exchange(Port(first, "web-1"), Frames.Udp(Frames.VmMac, gateway, "10.0.0.1", "198.51.100.7"), Port(first, "uplink0"));
        Assert.Equal(1, first.Dataplane.Conntrack.Table.Count);
        await first.StopAsync();
        string flows = Path.Combine(_dir, "agent-a", "flows.bin");
        Assert.True(File.Exists(flows));

        AgentHost second = StartAgent(withServer: false);
        Assert.Equal(1, second.Dataplane.Conntrack.Table.Count);
        Assert.False(File.Exists(flows), "the saved flows are used once");
        int web1 = second.Dataplane.Current!.Tables.FindInterface("web-1");
        Assert.Equal(1, second.Dataplane.Conntrack.FlowsOf(web1));
    }

    private static async Task AssertForwardsArpOnly(AgentHost agent)
    {
        InMemoryPort web1 = Port(agent, "web-1");
        byte[] reply = await Exchange(web1, Frames.ArpRequest(Frames.VmMac, "10.0.0.1"), web1);
        Assert.Equal(ArpOperation.Response, Frames.Parse(reply).Extract<ArpPacket>().Operation);
    }
}
