using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace MetalAgent.Agent.Hosting;

/// <summary>
/// The sd_notify protocol without libsystemd: one datagram per message to the Unix socket named by
/// $NOTIFY_SOCKET (a path, or an abstract name written with a leading '@'). $WATCHDOG_USEC (with
/// $WATCHDOG_PID, when set, naming this process) gives the watchdog timeout. Sends never throw: a
/// service manager that went away must not take the agent down.
/// </summary>
public sealed class SystemdNotifier : IDisposable
{
    private readonly Socket _socket;
    private readonly UnixDomainSocketEndPoint _endpoint;
    private readonly Lock _lock = new();

    public SystemdNotifier(string socketPath, TimeSpan? watchdogTimeout)
    {
        ArgumentException.ThrowIfNullOrEmpty(socketPath);
        SocketPath = socketPath;
        WatchdogTimeout = watchdogTimeout;
        // An abstract socket's name starts with a NUL byte; systemd writes it with '@'.
        _endpoint = new UnixDomainSocketEndPoint(socketPath[0] == '@' ? "\0" + socketPath[1..] : socketPath);
        _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
    }

    public string SocketPath { get; }

    /// <summary>The watchdog timeout systemd enforces (WatchdogSec=), or null when the watchdog is off.
    /// Pings are due at half of it.</summary>
    public TimeSpan? WatchdogTimeout { get; }

    /// <summary>Messages sent successfully (tests, diagnostics).</summary>
    public long Sent { get; private set; }

    /// <summary>The notifier the environment asks for, or null when not started by a service manager.</summary>
    public static SystemdNotifier? FromEnvironment(Func<string, string?>? getVariable = null)
    {
        getVariable ??= Environment.GetEnvironmentVariable;
        string? socket = getVariable("NOTIFY_SOCKET");
        if (string.IsNullOrEmpty(socket) || (socket[0] != '/' && socket[0] != '@'))
        {
            return null;
        }
        TimeSpan? watchdog = null;
        string? pid = getVariable("WATCHDOG_PID");
        bool forUs = string.IsNullOrEmpty(pid) || (int.TryParse(pid, NumberStyles.None, CultureInfo.InvariantCulture, out int p) && p == Environment.ProcessId);
        if (forUs && ulong.TryParse(getVariable("WATCHDOG_USEC"), NumberStyles.None, CultureInfo.InvariantCulture, out ulong usec) && usec > 0)
        {
            watchdog = TimeSpan.FromMicroseconds(usec);
        }
        return new SystemdNotifier(socket, watchdog);
    }

    /// <summary>Sends one message (newline-separated assignments, for example "READY=1\nSTATUS=..."); false when it could not be sent.</summary>
    public bool Notify(string message)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(message);
        lock (_lock)
        {
            try
            {
                _socket.SendTo(bytes, SocketFlags.None, _endpoint);
                Sent++;
                return true;
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return false;
            }
        }
    }

    public bool Ready(string status) => Notify("READY=1\nSTATUS=" + OneLine(status));

    public bool Watchdog() => Notify("WATCHDOG=1");

    public bool Status(string status) => Notify("STATUS=" + OneLine(status));

    public bool Stopping(string status) => Notify("STOPPING=1\nSTATUS=" + OneLine(status));

    /// <summary>Asks for more time to start (or stop): the next message must come within <paramref name="extension"/>.</summary>
    public bool ExtendTimeout(TimeSpan extension, string status) =>
        Notify(FormattableString.Invariant($"EXTEND_TIMEOUT_USEC={(long)extension.TotalMicroseconds}\nSTATUS={OneLine(status)}"));

    private static string OneLine(string text) => text.Replace('\n', ' ');

    public void Dispose()
    {
        lock (_lock)
        {
            _socket.Dispose();
        }
    }
}
