using System.Net;
using MetalAgent.Agent.Sync;
using MetalAgent.Dataplane.Flows;
using MetalAgent.Model.V1;
using Microsoft.Extensions.Logging;

namespace MetalAgent.Agent.Configuration;

/// <summary>
/// Every setting of <c>metalagent run</c> with its default: read from the configuration file, then
/// overridden by command-line options (see <see cref="AgentConfigSchema"/> for keys and documentation).
/// </summary>
public sealed class AgentConfig
{
    public const string DefaultStateDirectory = "/var/lib/metalagent";
    public const string DefaultControlSocket = "/run/metalagent/agent.sock";
    public const string DefaultMetricsListen = "127.0.0.1:9464";

    public string? Host { get; set; }

    public string? UnderlayPrefix { get; set; }

    public Uri? Server { get; set; }

    /// <summary>PEM CA bundle the server's certificate must chain to (https).</summary>
    public string? ServerCa { get; set; }

    /// <summary>PEM client certificate naming this host (https).</summary>
    public string? ClientCertificate { get; set; }

    /// <summary>PEM private key of <see cref="ClientCertificate"/>.</summary>
    public string? ClientKey { get; set; }

    public string StateDirectory { get; set; } = DefaultStateDirectory;

    public string Backend { get; set; } = "memory";

    /// <summary>Interface id → device (TAP or host netdev name).</summary>
    public SortedDictionary<string, string> PortBindings { get; } = new(StringComparer.Ordinal);

    public string? Uplink { get; set; }

    public string? UplinkGateway { get; set; }

    public string? UplinkGatewayMac { get; set; }

    public int Workers { get; set; } = 1;

    public int FlowCapacity { get; set; } = new ConntrackOptions().Capacity;

    public int MaxFlowsPerInterface { get; set; } = new ConntrackOptions().MaxFlowsPerInterface;

    /// <summary>Seconds between unsolicited router advertisements (0: only answer solicitations).</summary>
    public int RouterAdvertisementInterval { get; set; } = 60;

    /// <summary>Metrics and health HTTP endpoint; null: off.</summary>
    public IPEndPoint? MetricsListen { get; set; } = IPEndPoint.Parse(DefaultMetricsListen);

    /// <summary>Local control socket for status/flows/trace; null: off.</summary>
    public string? ControlSocket { get; set; } = DefaultControlSocket;

    public LogLevel LogLevel { get; set; } = LogLevel.Information;

    public TimeSpan WorkerStallTimeout { get; set; } = TimeSpan.FromSeconds(2);

    public TimeSpan ReconnectMin { get; set; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan ReconnectMax { get; set; } = TimeSpan.FromSeconds(10);

    public TimeSpan KeepAlivePingDelay { get; set; } = TimeSpan.FromSeconds(5);

    public TimeSpan KeepAlivePingTimeout { get; set; } = TimeSpan.FromSeconds(5);

    public TimeSpan MacPersistInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The agent's settings (call only on a configuration without problems).</summary>
    public AgentSettings ToSettings()
    {
        var uplinks = new List<UplinkSpec>();
        if (UplinkGateway is { } gateway)
        {
            uplinks.Add(new UplinkSpec { Name = "uplink0", GatewayAddress = gateway, GatewayMac = UplinkGatewayMac ?? string.Empty });
        }
        return new AgentSettings
        {
            HostName = Host ?? throw new InvalidOperationException("host is not set"),
            UnderlayPrefix = UnderlayPrefix ?? throw new InvalidOperationException("underlayPrefix is not set"),
            Server = Server,
            ServerCaPath = ServerCa is null ? null : Path.GetFullPath(ServerCa),
            ClientCertificatePath = ClientCertificate is null ? null : Path.GetFullPath(ClientCertificate),
            ClientKeyPath = ClientKey is null ? null : Path.GetFullPath(ClientKey),
            StateDirectory = Path.GetFullPath(StateDirectory),
            Uplinks = uplinks,
            Workers = Workers,
            ReconnectMin = ReconnectMin,
            ReconnectMax = ReconnectMax,
            KeepAlivePingDelay = KeepAlivePingDelay,
            KeepAlivePingTimeout = KeepAlivePingTimeout,
            MacPersistInterval = MacPersistInterval,
        };
    }

    public ConntrackOptions ToConntrackOptions() => new() { Capacity = FlowCapacity, MaxFlowsPerInterface = MaxFlowsPerInterface };

    /// <summary>The port backend the configuration names.</summary>
    public IPortBackend CreateBackend() => Backend switch
    {
        "linux" => new LinuxPortBackend(Uplink ?? throw new InvalidOperationException("uplink is not set"), PortBindings),
        _ => new MemoryPortBackend(PortBindings),
    };
}
