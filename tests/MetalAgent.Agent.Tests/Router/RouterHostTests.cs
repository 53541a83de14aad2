using MetalAgent.Agent.Router;
using MetalAgent.Backends;
using MetalAgent.Backends.Memory;
using MetalAgent.ControlPlane.Allocation;
using MetalAgent.ControlPlane.Configuration;
using MetalAgent.ControlPlane.Server;
using MetalAgent.ControlPlane.V1;
using Microsoft.Extensions.Logging;
using static MetalAgent.Agent.Tests.Router.RouterFixture;
using static MetalAgent.Agent.Tests.Router.TestRouterFrames;

namespace MetalAgent.Agent.Tests.Router;

/// <summary>The router against the real control plane on loopback: it watches the router view of the
/// quickstart manifests and sends internet traffic for a VirtualIP to the /128 the view names.</summary>
public sealed class RouterHostTests : IAsyncLifetime
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "metalagent-router-" + Guid.NewGuid().ToString("N"));
    private ControlPlaneHost? _server;

    public async Task InitializeAsync()
    {
        string manifests = Path.Combine(_dir, "manifests");
        Directory.CreateDirectory(manifests);
        File.Copy(Path.Combine(AppContext.BaseDirectory, "Data", "quickstart.yaml"), Path.Combine(manifests, "quickstart.yaml"));
        string yaml = $"""
            listen: 127.0.0.1:0
            routerUnderlayAddress: {UnderlayAddress}
            publicPools: [203.0.113.0/24, 2001:db8:ffff::/48]
            mtu: 1500
            dnsServers: [198.51.100.53]
            hosts:
            - name: host-a
              underlayPrefix: fc00:1:a::/64
            - name: host-b
              underlayPrefix: fc00:1:b::/64
            """;
        _server = await ControlPlaneHost.StartAsync(ControlPlaneConfig.Parse(yaml, _dir), manifests,
            new ControlPlaneHostOptions { Store = new JsonFileStateStore(Path.Combine(_dir, "cp-state.json")) });
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Router_follows_the_view_and_encapsulates_to_the_owner()
    {
        var errors = new List<string>();
        RouterSpec spec = RouterSpec.Parse(UnderlayAddress, UnderlayGateway, null, [Internet4 + "/24"], [], 0, errors);
        var underlay = new InMemoryPort("underlay", PortRole.Uplink);
        var internet = new InMemoryPort("internet", PortRole.Uplink);
        await using var router = new RouterHost(spec, underlay, internet, new RouterHostOptions
        {
            Server = _server!.Address,
            ReconnectMin = TimeSpan.FromMilliseconds(50),
            CounterLogInterval = TimeSpan.Zero,
        });
        router.Start();

        RouterViewUpdate view = _server.Current.RouterView;
        PublicIpRoute vip = view.Routes.First(r => r.Kind == PublicIpKind.VirtualIp && r.Owners.Count == 1);
        await AgentSyncTests.WaitUntil(() => router.Pipeline.Table.Version == view.Version && router.Pipeline.Table.Count == view.Routes.Count,
            "the router holds the server's view");

        // The gateway announces itself, then a packet from the internet goes to the VirtualIP's owner.
        underlay.Inject(Advertisement(UnderlayGatewayMac, Mac(underlay.MacAddress), UnderlayGateway, UnderlayAddress, router: true));
        await AgentSyncTests.WaitUntil(() => router.Pipeline.NeighborMac(RouterPipeline.UnderlayPort, 6, RouterNeighborTests.Ip6(UnderlayGateway), router.Clock.Now) != 0,
            "the router knows its underlay next hop");
        underlay.TakeAll();
        byte[] inner = Udp(Server4, vip.Ip, 53, 40000).Bytes;
        byte[] output = await AgentSyncTests.Exchange(internet, Eth(ServerMac, Mac(internet.MacAddress), inner), underlay);
        Assert.Equal(vip.Owners[0].UnderlayAddress, OuterDestination(output));
        Assert.Equal(UnderlayAddress, OuterSource(output));
        Assert.Equal(Decremented(inner), output[54..]);
    }

    [Fact]
    public async Task A_router_claiming_another_underlay_address_is_refused_and_gets_no_view()
    {
        var errors = new List<string>();
        RouterSpec spec = RouterSpec.Parse("fc00:ffff::2", UnderlayGateway, null, [Internet4 + "/24"], [], 0, errors);
        var log = new ListLoggerProvider();
        using ILoggerFactory logging = LoggerFactory.Create(b => b.AddProvider(log));
        await using var router = new RouterHost(spec, new InMemoryPort("underlay", PortRole.Uplink), new InMemoryPort("internet", PortRole.Uplink),
            new RouterHostOptions { Server = _server!.Address, ReconnectMin = TimeSpan.FromMilliseconds(50), CounterLogInterval = TimeSpan.Zero }, logging);
        router.Start();
        await AgentSyncTests.WaitUntil(() => log.Messages.Any(m => m.Contains("PermissionDenied", StringComparison.Ordinal) && m.Contains("fc00:ffff::2", StringComparison.Ordinal)),
            "the refusal is logged");
        Assert.Equal(0, router.ViewClient!.Updates);
        Assert.Equal(0, router.Pipeline.Table.Count);
    }

    /// <summary>Keeps every formatted log message.</summary>
    private sealed class ListLoggerProvider : ILoggerProvider
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> _messages = new();

        public IEnumerable<string> Messages => _messages;

        public ILogger CreateLogger(string categoryName) => new ListLogger(_messages);

        public void Dispose()
        {
        }

        private sealed class ListLogger(System.Collections.Concurrent.ConcurrentQueue<string> messages) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                messages.Enqueue(formatter(state, exception));
        }
    }
}
