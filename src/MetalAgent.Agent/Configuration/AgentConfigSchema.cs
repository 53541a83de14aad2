using MetalAgent.Agent.Sync;
using MetalAgent.Packets;
using Microsoft.Extensions.Logging;

namespace MetalAgent.Agent.Configuration;

/// <summary>
/// The settings of <c>metalagent run</c>, one line each: file key, documentation, and where the value lives
/// in <see cref="AgentConfig"/>. The command-line options, the file reader and <c>--check</c> are all driven
/// by this table; docs/CONFIGURATION.md describes the same keys (a test keeps them in step).
/// </summary>
public static class AgentConfigSchema
{
    public static IReadOnlyList<ConfigSetting> All { get; } =
    [
        ConfigSetting.Text("host", "this host's name in the control plane", c => c.Host, (c, v) => c.Host = v, CheckHostName, required: true),
        ConfigSetting.Text("underlayPrefix", "this host's underlay /64 (IPv6), as configured in the control plane", c => c.UnderlayPrefix, (c, v) => c.UnderlayPrefix = v, CheckUnderlayPrefix, required: true),
        ConfigSetting.Url("server", "control plane URL; unset: forward from the persisted state only", c => c.Server, (c, v) => c.Server = v),
        ConfigSetting.FilePath("ca", "PEM CA bundle the server's certificate must chain to (https)", c => c.ServerCa, (c, v) => c.ServerCa = v),
        ConfigSetting.FilePath("cert", "PEM client certificate naming this host (https)", c => c.ClientCertificate, (c, v) => c.ClientCertificate = v),
        ConfigSetting.FilePath("key", "PEM private key of cert (https)", c => c.ClientKey, (c, v) => c.ClientKey = v),
        ConfigSetting.FilePath("stateDir", "directory of the persisted last good state and learned MACs", c => c.StateDirectory, (c, v) => c.StateDirectory = v),
        ConfigSetting.Choice("backend", "port backend: linux (TAP devices, AF_PACKET uplink) or memory (tests, demos)", ["memory", "linux"], c => c.Backend, (c, v) => c.Backend = v),
        ConfigSetting.Map("portBindings", "--port-binding", "interface id = device serving it (TAP or host netdev), or device@netns for a TAP in that network namespace; unlisted interfaces get a TAP named after the id", c => c.PortBindings, CheckBinding),
        ConfigSetting.Text("uplink", "underlay device (required by the linux backend)", c => c.Uplink, (c, v) => c.Uplink = v, CheckDevice),
        ConfigSetting.Text("uplinkGateway", "underlay next hop (IPv6) of uplink0; unset: the HostSpec's uplinks are used", c => c.UplinkGateway, (c, v) => c.UplinkGateway = v, CheckIPv6),
        ConfigSetting.Text("uplinkGatewayMac", "pinned MAC of the underlay next hop; unset: resolved by neighbor discovery", c => c.UplinkGatewayMac, (c, v) => c.UplinkGatewayMac = v, CheckMac),
        ConfigSetting.Integer("workers", "packet worker threads (each port gets one queue per worker)", 1, 256, c => c.Workers, (c, v) => c.Workers = v),
        ConfigSetting.Integer("flowCapacity", "connection-tracking table size (flows, shared by all workers)", 1024, 1 << 26, c => c.FlowCapacity, (c, v) => c.FlowCapacity = v),
        ConfigSetting.Integer("maxFlowsPerInterface", "at most this many flows per interface", 1, 1 << 26, c => c.MaxFlowsPerInterface, (c, v) => c.MaxFlowsPerInterface = v),
        ConfigSetting.Integer("routerAdvertisementInterval", "seconds between unsolicited router advertisements (0: only answer solicitations)", 0, 600, c => c.RouterAdvertisementInterval, (c, v) => c.RouterAdvertisementInterval = v),
        ConfigSetting.Endpoint("metricsListen", "Prometheus metrics and health endpoint (address:port, or off)", c => c.MetricsListen, (c, v) => c.MetricsListen = v),
        ConfigSetting.PathOrOff("controlSocket", "local control socket for status, flows and trace (mode 0600), or off", 107, c => c.ControlSocket, (c, v) => c.ControlSocket = v),
        ConfigSetting.Choice("logLevel", "log level: trace, debug, information, warning, error, critical, none", ["trace", "debug", "information", "warning", "error", "critical", "none"], c => c.LogLevel.ToString().ToLowerInvariant(), (c, v) => c.LogLevel = Enum.Parse<LogLevel>(v, ignoreCase: true)),
        ConfigSetting.Duration("workerStallTimeout", "a worker that completes no round for this long is stuck: health goes bad and systemd watchdog pings stop", TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(10), c => c.WorkerStallTimeout, (c, v) => c.WorkerStallTimeout = v),
        ConfigSetting.Duration("reconnectMin", "first reconnect delay after the control-plane stream ends (doubles per failure, ±25% jitter)", TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(10), c => c.ReconnectMin, (c, v) => c.ReconnectMin = v),
        ConfigSetting.Duration("reconnectMax", "longest reconnect delay", TimeSpan.FromMilliseconds(10), TimeSpan.FromHours(1), c => c.ReconnectMax, (c, v) => c.ReconnectMax = v),
        ConfigSetting.Duration("keepAlivePingDelay", "HTTP/2 keepalive ping interval on the control-plane stream", TimeSpan.FromSeconds(1), TimeSpan.FromHours(1), c => c.KeepAlivePingDelay, (c, v) => c.KeepAlivePingDelay = v),
        ConfigSetting.Duration("keepAlivePingTimeout", "a keepalive ping unanswered for this long ends the stream", TimeSpan.FromSeconds(1), TimeSpan.FromHours(1), c => c.KeepAlivePingTimeout, (c, v) => c.KeepAlivePingTimeout = v),
        ConfigSetting.Duration("macPersistInterval", "how often learned VM MACs are written to the state directory", TimeSpan.FromMilliseconds(100), TimeSpan.FromHours(1), c => c.MacPersistInterval, (c, v) => c.MacPersistInterval = v),
    ];

    public static ConfigSetting? Find(string key)
    {
        foreach (ConfigSetting setting in All)
        {
            if (setting.Key == key)
            {
                return setting;
            }
        }
        return null;
    }

    private static string? CheckHostName(string text) =>
        text.Length <= 63 && text.All(ch => char.IsAsciiLetterLower(ch) || char.IsAsciiDigit(ch) || ch == '-') && text[0] != '-' && text[^1] != '-'
            ? null : $"must be a DNS label (lower-case letters, digits and '-', at most 63), got '{text}'";

    private static string? CheckUnderlayPrefix(string text) =>
        !Addresses.TryParsePrefix(text, out byte version, out _, out byte length, out bool hostBits) || version != 6 ? $"must be an IPv6 prefix, got '{text}'"
        : length != 64 ? $"must be a /64, got '{text}'"
        : hostBits ? $"has host bits set: '{text}'"
        : null;

    private static string? CheckIPv6(string text) =>
        Addresses.TryParseIp(text, out byte version, out _) && version == 6 ? null : $"must be an IPv6 address, got '{text}'";

    private static string? CheckMac(string text) =>
        Addresses.TryParseMac(text, out _) ? null : $"must be a MAC address like 02:00:00:00:00:01, got '{text}'";

    /// <summary>Linux device names: at most 15 bytes (IFNAMSIZ - 1), no '/', whitespace or ':'.</summary>
    private static string? CheckDevice(string text) =>
        text.Length is > 0 and <= 15 && text is not ("." or "..") && !text.Any(ch => ch is '/' or ':' || char.IsWhiteSpace(ch) || ch > 127)
            ? null : $"must be a network device name (at most 15 characters, no '/', ':' or spaces), got '{text}'";

    /// <summary>"device" or "device@netns" (the TAP lives in that network namespace, a name or a path).</summary>
    private static string? CheckBinding(string id, string value)
    {
        (string device, string? ns) = LinuxPortBackend.ParseBinding(value);
        return CheckDevice(device) is { } problem ? $"{id}: {problem}"
            : ns is { Length: 0 } ? $"{id}: '{value}' names no network namespace after '@'"
            : null;
    }
}
