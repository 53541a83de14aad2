using Microsoft.Extensions.Logging;

namespace MetalAgent.Agent.Hosting;

/// <summary>Log messages of the agent's service wrapper (systemd, health, local endpoints).</summary>
internal static partial class HostingLog
{
    [LoggerMessage(101, LogLevel.Information, "ready: {Status}")]
    public static partial void Ready(ILogger logger, string status);

    [LoggerMessage(102, LogLevel.Error, "worker {Worker} made no progress for {Elapsed}; health is bad and watchdog pings are withheld")]
    public static partial void WorkerStuck(ILogger logger, int worker, TimeSpan elapsed);

    [LoggerMessage(103, LogLevel.Information, "workers make progress again")]
    public static partial void WorkersRecovered(ILogger logger);

    [LoggerMessage(104, LogLevel.Information, "metrics and health on http://{Endpoint}/metrics")]
    public static partial void MetricsListening(ILogger logger, string endpoint);

    [LoggerMessage(105, LogLevel.Information, "local control socket {Path}")]
    public static partial void ControlListening(ILogger logger, string path);

    [LoggerMessage(106, LogLevel.Information, "systemd notify socket {Path}, watchdog {Watchdog}")]
    public static partial void Notifying(ILogger logger, string path, string watchdog);
}
