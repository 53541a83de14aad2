using Microsoft.Extensions.Logging;

namespace MetalAgent.Agent.Sync;

/// <summary>The agent's log messages (source-generated; none is logged per packet).</summary>
internal static partial class AgentLog
{
    [LoggerMessage(1, LogLevel.Information, "applied state version {Version}")]
    public static partial void Applied(ILogger logger, ulong version);

    [LoggerMessage(2, LogLevel.Warning, "refused state version {Version}: {Count} error(s), first: {First}")]
    public static partial void Refused(ILogger logger, ulong version, int count, string first);

    [LoggerMessage(3, LogLevel.Warning, "asking for the full state at version {Version}: {Why}")]
    public static partial void ResyncRequested(ILogger logger, ulong version, string why);

    [LoggerMessage(4, LogLevel.Information, "forwarding with persisted state version {Version}")]
    public static partial void PersistedStateLoaded(ILogger logger, ulong version);

    [LoggerMessage(5, LogLevel.Warning, "persisted state {Path} not used: {Reason}")]
    public static partial void PersistedStateUnusable(ILogger logger, string path, string reason);

    [LoggerMessage(6, LogLevel.Error, "could not persist {Path}: {Reason}")]
    public static partial void PersistFailed(ILogger logger, string path, string reason);

    [LoggerMessage(7, LogLevel.Warning, "port {Port} could not be opened: {Reason}")]
    public static partial void PortFailed(ILogger logger, string port, string reason);

    [LoggerMessage(8, LogLevel.Information, "connected to {Server} holding version {Version}")]
    public static partial void Connected(ILogger logger, Uri server, ulong version);

    [LoggerMessage(9, LogLevel.Warning, "stream to {Server} ended: {Reason}; reconnecting in {Delay} (forwarding continues)")]
    public static partial void Disconnected(ILogger logger, Uri server, string reason, TimeSpan delay);

    [LoggerMessage(10, LogLevel.Information, "stopping: {Reason}")]
    public static partial void Stopping(ILogger logger, string reason);

    [LoggerMessage(40, LogLevel.Information, "saved {Count} flow(s) to {Path}")]
    public static partial void FlowsSaved(ILogger logger, int count, string path);

    [LoggerMessage(41, LogLevel.Information, "restored {Restored} flow(s) from {Path}, skipped {Skipped}")]
    public static partial void FlowsRestored(ILogger logger, int restored, int skipped, string path);

    [LoggerMessage(42, LogLevel.Warning, "saved flows {Path} not used: {Reason}")]
    public static partial void FlowsUnusable(ILogger logger, string path, string reason);
}
