using MetalAgent.Dataplane.Flows;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using DataplaneRuntime = MetalAgent.Dataplane.Runtime.Dataplane;

namespace MetalAgent.Agent.Sync;

/// <summary>
/// One running agent: the dataplane with its workers, the applier, the sync client and the periodic MAC
/// persistence. Start order: persisted state is published before the server is contacted (fail static);
/// stop order: stop applying updates, persist, stop workers, save the flows, close ports; the next start
/// restores the flows once its persisted state is published.
/// </summary>
public sealed class AgentHost : IAsyncDisposable
{
    private readonly AgentSettings _settings;
    private readonly IPortBackend _backend;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private Task _syncLoop = Task.CompletedTask;
    private Task _macLoop = Task.CompletedTask;
    private bool _stopped;

    public AgentHost(AgentSettings settings, IPortBackend backend, ILoggerFactory? loggerFactory = null, ConntrackOptions? conntrack = null)
    {
        _settings = settings;
        _backend = backend;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("MetalAgent.Agent");
        Dataplane = new DataplaneRuntime(settings.Workers, conntrack: conntrack);
        Applier = new HostApplier(settings, Dataplane, backend, _logger);
        Client = settings.Server is null ? null : new SyncClient(settings, Applier, _logger);
    }

    public DataplaneRuntime Dataplane { get; }

    /// <summary>The settings the agent runs with.</summary>
    public AgentSettings Settings => _settings;

    /// <summary>The port backend (tests reach in-memory ports through it).</summary>
    public IPortBackend Backend => _backend;

    public HostApplier Applier { get; }

    /// <summary>Null when the agent runs without a server (persisted state only).</summary>
    public SyncClient? Client { get; }

    /// <summary>True when persisted state was published at start.</summary>
    public bool StartedFromPersistedState { get; private set; }

    /// <summary>Publishes persisted state, starts the workers, then the sync loop and the MAC persistence.</summary>
    public void Start()
    {
        StartedFromPersistedState = Applier.LoadPersisted();
        RestoreFlows();
        Dataplane.Start();
        if (Client is not null)
        {
            _syncLoop = Task.Run(() => Client.RunAsync(_stop.Token));
        }
        _macLoop = PersistMacsLoop(_stop.Token);
    }

    public async Task StopAsync()
    {
        if (_stopped)
        {
            return;
        }
        _stopped = true;
        AgentLog.Stopping(_logger, "shutdown requested");
        Client?.StopApplying();
        await _stop.CancelAsync();
        await _syncLoop;
        await _macLoop;
        Applier.PersistMacs();
        Dataplane.Stop();
        SaveFlows();
        Applier.ClosePorts();
    }

    /// <summary>After a graceful stop, established and translated connections continue where they were.
    /// The file is used once: a later crash must not bring back flows of an older run.</summary>
    private void RestoreFlows()
    {
        string path = _settings.FlowsPath;
        if (!File.Exists(path))
        {
            return;
        }
        try
        {
            if (Dataplane.Current is { } current)
            {
                FlowRestoreResult result = FlowStateFile.Restore(path, Dataplane.Conntrack, current.Tables, Dataplane.Clock.Now, DateTimeOffset.UtcNow);
                if (result.Refused is { } reason)
                {
                    AgentLog.FlowsUnusable(_logger, path, reason);
                }
                else
                {
                    AgentLog.FlowsRestored(_logger, result.Restored, result.Skipped, path);
                }
            }
            else
            {
                AgentLog.FlowsUnusable(_logger, path, "no persisted host state to bind them to");
            }
        }
        catch (IOException e)
        {
            AgentLog.FlowsUnusable(_logger, path, e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private void SaveFlows()
    {
        if (Dataplane.Current is not { } current)
        {
            return;
        }
        try
        {
            int count = FlowStateFile.Save(_settings.FlowsPath, Dataplane.Conntrack, current.Tables, Dataplane.Clock.Now, DateTimeOffset.UtcNow);
            AgentLog.FlowsSaved(_logger, count, _settings.FlowsPath);
        }
        catch (IOException e)
        {
            AgentLog.PersistFailed(_logger, _settings.FlowsPath, e.Message);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        Client?.Dispose();
        Dataplane.Dispose();
        _backend.Dispose();
        _stop.Dispose();
    }

    private async Task PersistMacsLoop(CancellationToken token)
    {
        using var timer = new PeriodicTimer(_settings.MacPersistInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(token))
            {
                Applier.PersistMacs();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
