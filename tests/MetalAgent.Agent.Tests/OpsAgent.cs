using System.Net;
using MetalAgent.Agent.Hosting;
using MetalAgent.Agent.Sync;
using MetalAgent.Backends.Memory;
using MetalAgent.ControlPlane.Allocation;
using MetalAgent.ControlPlane.Configuration;
using MetalAgent.ControlPlane.Manifests;
using MetalAgent.ControlPlane.State;
using MetalAgent.Model.StateFiles;
using MetalAgent.Model.V1;

namespace MetalAgent.Agent.Tests;

/// <summary>
/// An agent process in-process for the operations tests: host-a of the quickstart (with db-1 also allowed
/// to send DNS to the internet, so its NAT slice is used), persisted in a temporary state directory and
/// started without a server, on in-memory ports, wrapped in <see cref="AgentService"/>.
/// </summary>
public sealed class OpsAgent : IAsyncDisposable
{
    private OpsAgent(string directory, AgentService service, MemoryPortBackend memory)
    {
        Directory = directory;
        Service = service;
        Memory = memory;
    }

    public string Directory { get; }

    public AgentService Service { get; }

    public MemoryPortBackend Memory { get; }

    public AgentHost Host => Service.Host;

    public string SocketPath => Path.Combine(Directory, "run", "agent.sock");

    public InMemoryPort Port(string name) => Memory.Port(name) ?? throw new InvalidOperationException($"port {name} not open");

    private static readonly Lazy<HostSpec> s_hostA = new(ComputeHostA);

    /// <summary>host-a's state from the quickstart manifests, db-1's egress policy widened to UDP 53 anywhere (a copy).</summary>
    public static HostSpec HostA() => s_hostA.Value.Clone();

    private static HostSpec ComputeHostA()
    {
        string manifests = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Data", "quickstart.yaml")).TrimEnd() + "\n" + """
              - to:
                - ipBlock:
                    cidr: 0.0.0.0/0
                ports:
                - protocol: UDP
                  port: 53

            """;
        string config = """
            routerUnderlayAddress: fc00:0:ff::1
            publicPools: [203.0.113.0/24, 2001:db8:ffff::/48]
            hosts:
            - name: host-a
              underlayPrefix: fc00:1:a::/64
            - name: host-b
              underlayPrefix: fc00:1:b::/64
            """;
        var engine = new ControlPlaneEngine(ControlPlaneConfig.Parse(config, AppContext.BaseDirectory), new MemoryStateStore());
        return engine.Apply(ManifestSet.Parse(manifests)).Hosts["host-a"].Spec;
    }

    /// <summary>Persists host-a and starts an agent on it; <paramref name="options"/> gets the temporary directory.</summary>
    public static async Task<OpsAgent> StartAsync(Func<string, AgentServiceOptions> options, int workers = 1, Func<MemoryPortBackend, IPortBackend>? wrap = null, Uri? server = null)
    {
        string directory = Path.Combine(Path.GetTempPath(), "metalagent-ops-" + Guid.NewGuid().ToString("N")[..12]);
        string state = Path.Combine(directory, "state");
        System.IO.Directory.CreateDirectory(state);
        HostStateFile.Save(Path.Combine(state, "hostspec.json"), HostA());
        var settings = new AgentSettings
        {
            HostName = "host-a",
            UnderlayPrefix = "fc00:1:a::/64",
            StateDirectory = state,
            Workers = workers,
            Server = server,
            ReconnectMin = TimeSpan.FromMilliseconds(50),
            ReconnectMax = TimeSpan.FromMilliseconds(200),
            Uplinks = [new UplinkSpec { Name = "uplink0", GatewayAddress = "fe80::1", GatewayMac = "02:00:00:00:ff:01" }],
        };
        var memory = new MemoryPortBackend();
        // A small flow table: the default (1M flows) costs hundreds of MB and seconds to allocate.
        var host = new AgentHost(settings, wrap is null ? memory : wrap(memory), conntrack: new Dataplane.Flows.ConntrackOptions { Capacity = 1 << 14 });
        var service = new AgentService(host, options(directory));
        var agent = new OpsAgent(directory, service, memory);
        try
        {
            await service.StartAsync();
        }
        catch
        {
            await agent.DisposeAsync();
            throw;
        }
        return agent;
    }

    /// <summary>The metrics endpoint on a free loopback port.</summary>
    public static IPEndPoint AnyLoopbackPort => new(IPAddress.Loopback, 0);

    public async ValueTask DisposeAsync()
    {
        await Service.DisposeAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
