using Microsoft.Extensions.Logging;

namespace MetalAgent.Agent.Router;

/// <summary>The router's log messages (source-generated; none is logged per packet).</summary>
internal static partial class RouterLog
{
    [LoggerMessage(101, LogLevel.Information, "router {Name}: underlay {Underlay} via {UnderlayGateway} on {UnderlayDevice}, internet {Internet} on {InternetDevice}")]
    public static partial void Started(ILogger logger, string name, string underlay, string underlayGateway, string underlayDevice, string internet, string internetDevice);

    [LoggerMessage(102, LogLevel.Information, "router view version {Version}: {Count} public IP(s)")]
    public static partial void ViewApplied(ILogger logger, ulong version, int count);

    [LoggerMessage(103, LogLevel.Warning, "router view version {Version}: {Problem}")]
    public static partial void ViewProblem(ILogger logger, ulong version, string problem);

    [LoggerMessage(104, LogLevel.Information, "receiving the router view from {Server}")]
    public static partial void Connected(ILogger logger, Uri server);

    [LoggerMessage(105, LogLevel.Warning, "router view stream from {Server} ended: {Reason}; reconnecting in {Delay} (forwarding continues with view version {Version})")]
    public static partial void Disconnected(ILogger logger, Uri server, string reason, TimeSpan delay, ulong version);

    [LoggerMessage(106, LogLevel.Information, "router counters: {Summary}")]
    public static partial void Counters(ILogger logger, string summary);

    [LoggerMessage(107, LogLevel.Information, "router stopping")]
    public static partial void Stopping(ILogger logger);
}
