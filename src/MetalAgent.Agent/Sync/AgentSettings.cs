using MetalAgent.Model.V1;

namespace MetalAgent.Agent.Sync;

/// <summary>Per-agent settings: who the agent is, where its server and state live, and the host-local
/// configuration (uplinks) merged into every HostSpec before it is compiled.</summary>
public sealed class AgentSettings
{
    public required string HostName { get; init; }

    /// <summary>The host's underlay /64, as sent in Hello.</summary>
    public required string UnderlayPrefix { get; init; }

    public Uri? Server { get; init; }

    /// <summary>Directory of the persisted last good state and learned MACs (one per agent).</summary>
    public required string StateDirectory { get; init; }

    /// <summary>Host-local uplinks; when non-empty they replace the HostSpec's uplinks.</summary>
    public IReadOnlyList<UplinkSpec> Uplinks { get; init; } = [];

    public int Workers { get; init; } = 1;

    public TimeSpan KeepAlivePingDelay { get; init; } = TimeSpan.FromSeconds(5);

    public TimeSpan KeepAlivePingTimeout { get; init; } = TimeSpan.FromSeconds(5);

    public TimeSpan ReconnectMin { get; init; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan ReconnectMax { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How often learned VM MACs are written while running.</summary>
    public TimeSpan MacPersistInterval { get; init; } = TimeSpan.FromSeconds(5);

    public string SpecPath => Path.Combine(StateDirectory, "hostspec.json");

    public string MacsPath => Path.Combine(StateDirectory, "vm-macs.json");

    /// <summary>Connection tracking saved at a graceful stop, restored (once) by the next start.</summary>
    public string FlowsPath => Path.Combine(StateDirectory, "flows.bin");
}
