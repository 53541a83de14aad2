using System.Net;

namespace MetalAgent.Agent.Hosting;

/// <summary>How the agent process is run around the <see cref="Sync.AgentHost"/>: endpoints, service manager, health timing.</summary>
public sealed class AgentServiceOptions
{
    /// <summary>Metrics and health HTTP endpoint; null: none. Port 0 picks a free port (tests).</summary>
    public IPEndPoint? MetricsEndpoint { get; init; }

    /// <summary>Local control socket path; null: none.</summary>
    public string? ControlSocketPath { get; init; }

    /// <summary>The service manager to notify; null: none.</summary>
    public SystemdNotifier? Notifier { get; init; }

    /// <summary>How often worker progress is sampled and the service manager told.</summary>
    public TimeSpan HealthInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>A worker without progress for this long is stuck.</summary>
    public TimeSpan WorkerStallTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>While waiting for the first state, startup is extended by this much at a time (EXTEND_TIMEOUT_USEC),
    /// so systemd's start timeout catches a hung start but not a slow control plane.</summary>
    public TimeSpan StartExtension { get; init; } = TimeSpan.FromSeconds(20);
}
