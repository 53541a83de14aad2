using System.Diagnostics;
using System.Globalization;
using MetalAgent.Agent.Local;
using MetalAgent.Agent.Metrics;
using MetalAgent.Agent.Sync;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace MetalAgent.Agent.Hosting;

/// <summary>
/// The agent process around <see cref="AgentHost"/>: worker health, the systemd notify protocol (READY
/// once the first state is live, WATCHDOG while every worker makes progress, STOPPING), the metrics and
/// health endpoint, and the local control socket. Stop order: stop answering the control socket, then
/// the host's own order (stop applying updates, persist, stop workers, close ports; TAP devices stay),
/// then the metrics endpoint.
/// </summary>
public sealed class AgentService : IAsyncDisposable
{
    private readonly AgentServiceOptions _options;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly long _started = Stopwatch.GetTimestamp();
    private Task _supervisor = Task.CompletedTask;
    private bool _stopped;

    public AgentService(AgentHost host, AgentServiceOptions options, ILoggerFactory? loggerFactory = null)
    {
        Host = host;
        _options = options;
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _logger = _loggerFactory.CreateLogger("MetalAgent.Agent");
        Health = new WorkerHealth(host.Dataplane, options.WorkerStallTimeout);
    }

    public AgentHost Host { get; }

    public WorkerHealth Health { get; }

    public SystemdNotifier? Notifier => _options.Notifier;

    public MetricsServer? Metrics { get; private set; }

    public LocalControlServer? Control { get; private set; }

    /// <summary>True once READY=1 was due (the first state is live).</summary>
    public bool Announced { get; private set; }

    public TimeSpan Uptime => Stopwatch.GetElapsedTime(_started);

    /// <summary>Live: the workers run and make progress.</summary>
    public bool IsLive => Health.AllAlive;

    /// <summary>Ready: a state is live, the workers make progress, and the agent holds what its server sent
    /// (always true without a server: the persisted state is all there is).</summary>
    public bool IsReady => Host.Dataplane.Current is not null && Health.AllAlive && (Host.Client is null || Host.Client.InSync);

    /// <summary>Starts the host (persisted state first), the endpoints and the supervision loop. Throws when
    /// an endpoint cannot be opened, or when there is neither a server nor a usable persisted state.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        Host.Start();
        Health.SetRunning(true);
        if (Host.Client is null && Host.Dataplane.Current is null)
        {
            throw new InvalidOperationException("no server is configured and the state directory holds no usable persisted state: nothing to forward");
        }
        if (_options.Notifier is { } notifier)
        {
            HostingLog.Notifying(_logger, notifier.SocketPath, notifier.WatchdogTimeout?.ToString() ?? "off");
        }
        if (_options.MetricsEndpoint is { } endpoint)
        {
            Metrics = await MetricsServer.StartAsync(this, endpoint, _loggerFactory, cancellationToken);
            HostingLog.MetricsListening(_logger, Metrics.Endpoint.ToString());
        }
        if (_options.ControlSocketPath is { } socket)
        {
            Control = await LocalControlServer.StartAsync(this, socket, _loggerFactory, cancellationToken);
            HostingLog.ControlListening(_logger, socket);
        }
        _supervisor = Task.Run(() => SuperviseAsync(_stop.Token), CancellationToken.None);
    }

    /// <summary>The one-line state shown by <c>systemctl status</c>.</summary>
    public string StatusLine()
    {
        string state = Host.Dataplane.Current is { } bound
            ? string.Create(CultureInfo.InvariantCulture, $"forwarding state version {bound.Tables.Version}")
            : "waiting for the first state";
        string sync = Host.Client is { } client
            ? $"; server {Host.Client.State.ToString().ToLowerInvariant()}{(client.InSync ? ", in sync" : string.Empty)}"
            : "; no server (persisted state)";
        string workers = Health.AllAlive ? string.Empty : "; a worker is stuck";
        return state + sync + workers;
    }

    private async Task SuperviseAsync(CancellationToken token)
    {
        SystemdNotifier? notifier = _options.Notifier;
        long lastPing = 0;
        long lastExtend = 0;
        string lastStatus = string.Empty;
        bool stuckLogged = false;
        using var timer = new PeriodicTimer(_options.HealthInterval);
        do
        {
            Health.Sample();
            bool alive = Health.AllAlive;
            if (!alive && !stuckLogged)
            {
                foreach (WorkerLiveness worker in Health.Workers())
                {
                    if (!worker.Alive)
                    {
                        HostingLog.WorkerStuck(_logger, worker.Index, worker.SinceProgress);
                    }
                }
                stuckLogged = true;
            }
            else if (alive && stuckLogged)
            {
                HostingLog.WorkersRecovered(_logger);
                stuckLogged = false;
            }
            string status = StatusLine();
            if (!Announced && Host.Dataplane.Current is not null)
            {
                Announced = true;
                notifier?.Ready(status);
                HostingLog.Ready(_logger, status);
                lastStatus = status;
            }
            if (notifier is null)
            {
                continue;
            }
            if (!Announced && Stopwatch.GetElapsedTime(lastExtend) >= _options.StartExtension / 4)
            {
                // Startup waits for the control plane as long as the process is healthy enough to run this loop.
                notifier.ExtendTimeout(_options.StartExtension, status);
                lastExtend = Stopwatch.GetTimestamp();
                lastStatus = status;
            }
            if (notifier.WatchdogTimeout is { } watchdog && alive && Stopwatch.GetElapsedTime(lastPing) >= watchdog / 2)
            {
                notifier.Watchdog();
                lastPing = Stopwatch.GetTimestamp();
            }
            if (status != lastStatus)
            {
                notifier.Status(status);
                lastStatus = status;
            }
        }
        while (await WaitAsync(timer, token));
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken token)
    {
        try
        {
            return await timer.WaitForNextTickAsync(token);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Stops in order (see the type summary); idempotent.</summary>
    public async Task StopAsync()
    {
        if (_stopped)
        {
            return;
        }
        _stopped = true;
        _options.Notifier?.Stopping("stopping: persisting state, leaving devices in place");
        if (Control is not null)
        {
            await Control.StopAsync();
        }
        await Host.StopAsync();
        Health.SetRunning(false);
        await _stop.CancelAsync();
        await _supervisor;
        if (Metrics is not null)
        {
            await Metrics.StopAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        if (Control is not null)
        {
            await Control.DisposeAsync();
        }
        if (Metrics is not null)
        {
            await Metrics.DisposeAsync();
        }
        await Host.DisposeAsync();
        _stop.Dispose();
    }
}
