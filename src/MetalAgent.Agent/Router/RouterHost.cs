using MetalAgent.Backends;
using MetalAgent.Dataplane.Runtime;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace MetalAgent.Agent.Router;

/// <summary>What <see cref="RouterHost"/> needs besides the spec and the ports.</summary>
public sealed class RouterHostOptions
{
    /// <summary>Name sent in RouterHello (and logged).</summary>
    public string Name { get; init; } = "router";

    /// <summary>The control plane; null runs without a view (decapsulation only).</summary>
    public Uri? Server { get; init; }

    /// <summary>Client certificate and server CA for an https server (owned by the caller); null for http on loopback.</summary>
    public Sync.ClientTlsMaterial? Tls { get; init; }

    /// <summary>How often the counters are logged when they changed; zero turns it off.</summary>
    public TimeSpan CounterLogInterval { get; init; } = TimeSpan.FromSeconds(60);

    public TimeSpan ReconnectMin { get; init; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan ReconnectMax { get; init; } = TimeSpan.FromSeconds(10);

    public DataplaneClock? Clock { get; init; }
}

/// <summary>
/// The running router: the packet worker over its two ports, the router-view client, and a periodic
/// counter log. The ports are the caller's (AF_PACKET devices for <c>metalagent router</c>, in-memory
/// ports in tests) and are disposed with the host.
/// </summary>
public sealed class RouterHost : IAsyncDisposable
{
    private readonly IPort _underlay;
    private readonly IPort _internet;
    private readonly RouterHostOptions _options;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _tasks = [];
    private bool _started;
    private bool _stopped;

    public RouterHost(RouterSpec spec, IPort underlay, IPort internet, RouterHostOptions options, ILoggerFactory? logging = null)
    {
        _underlay = underlay;
        _internet = internet;
        _options = options;
        _logger = (logging ?? NullLoggerFactory.Instance).CreateLogger("MetalAgent.Router");
        Clock = options.Clock ?? new DataplaneClock();
        Pipeline = new RouterPipeline(spec, underlay.MacAddress, internet.MacAddress);
        Worker = new RouterWorker(Pipeline, underlay, internet, Clock);
        if (options.Server is { } server)
        {
            ViewClient = new RouterViewClient(server, options.Tls, options.Name, Pipeline, _logger)
            {
                ReconnectMin = options.ReconnectMin,
                ReconnectMax = options.ReconnectMax,
            };
        }
    }

    public DataplaneClock Clock { get; }

    public RouterPipeline Pipeline { get; }

    public RouterWorker Worker { get; }

    public RouterViewClient? ViewClient { get; }

    /// <summary>Starts the worker thread, the view client and the counter log.</summary>
    public void Start()
    {
        if (_started)
        {
            throw new InvalidOperationException("already started");
        }
        _started = true;
        CancellationToken token = _stop.Token;
        Worker.Start(token);
        if (ViewClient is not null)
        {
            _tasks.Add(Task.Run(() => ViewClient.RunAsync(token), CancellationToken.None));
        }
        if (_options.CounterLogInterval > TimeSpan.Zero)
        {
            _tasks.Add(Task.Run(() => LogCountersAsync(token), CancellationToken.None));
        }
    }

    private async Task LogCountersAsync(CancellationToken token)
    {
        string last = string.Empty;
        using var timer = new PeriodicTimer(_options.CounterLogInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(token))
            {
                string summary = Pipeline.Counters.Summary();
                if (summary != last)
                {
                    RouterLog.Counters(_logger, summary);
                    last = summary;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Stops the client and the worker, logs the counters once more.</summary>
    public async Task StopAsync()
    {
        if (_stopped)
        {
            return;
        }
        _stopped = true;
        RouterLog.Stopping(_logger);
        await _stop.CancelAsync();
        await Task.WhenAll(_tasks);
        if (_started)
        {
            Worker.Join();
        }
        RouterLog.Counters(_logger, Pipeline.Counters.Summary());
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        ViewClient?.Dispose();
        // Ports first: their pollers signal the worker's wakeup until they are gone.
        _underlay.Dispose();
        _internet.Dispose();
        Worker.Dispose();
        _stop.Dispose();
    }
}
