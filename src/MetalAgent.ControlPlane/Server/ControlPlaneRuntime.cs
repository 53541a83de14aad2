using MetalAgent.ControlPlane.Manifests;
using MetalAgent.ControlPlane.State;
using MetalAgent.ControlPlane.V1;

namespace MetalAgent.ControlPlane.Server;

/// <summary>Shared state of a running control plane: the engine, the published snapshot, a signal for
/// "a new snapshot was published", and per-host agent records. Snapshots are immutable and published by one
/// reference swap; agent records are updated under a lock.</summary>
public sealed class ControlPlaneRuntime
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, HostAgentRecord> _agents = new(StringComparer.Ordinal);
    private readonly Dictionary<string, CancellationTokenSource> _sessions = new(StringComparer.Ordinal);
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ControlPlaneSnapshot _current;

    public ControlPlaneRuntime(ControlPlaneEngine engine, IClientIdentityResolver identities)
    {
        Engine = engine;
        Identities = identities;
        _current = engine.Current;
    }

    public ControlPlaneEngine Engine { get; }

    public IClientIdentityResolver Identities { get; }

    public ControlPlaneSnapshot Current => Volatile.Read(ref _current);

    /// <summary>Completes when the next snapshot is published. Take it before reading <see cref="Current"/>.</summary>
    public Task Changed => Volatile.Read(ref _changed).Task;

    /// <summary>Applies manifests (callers serialize) and publishes the result.</summary>
    public ControlPlaneSnapshot Apply(ManifestSet manifests)
    {
        ControlPlaneSnapshot snapshot = Engine.Apply(manifests);
        Volatile.Write(ref _current, snapshot);
        TaskCompletionSource previous = Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        previous.TrySetResult();
        return snapshot;
    }

    /// <summary>Registers a stream for <paramref name="host"/>; an older stream of the same host is ended (the
    /// newest connection wins). Returns a token cancelled when this session is replaced.</summary>
    public CancellationToken Connect(string host, CancellationTokenSource session)
    {
        lock (_lock)
        {
            if (_sessions.TryGetValue(host, out CancellationTokenSource? old))
            {
                old.Cancel();
            }
            _sessions[host] = session;
            Agent(host).Connected = true;
        }
        return session.Token;
    }

    public void Disconnect(string host, CancellationTokenSource session)
    {
        lock (_lock)
        {
            if (_sessions.TryGetValue(host, out CancellationTokenSource? current) && current == session)
            {
                _sessions.Remove(host);
                Agent(host).Connected = false;
            }
        }
    }

    public void RecordAck(string host, ulong version)
    {
        lock (_lock)
        {
            Agent(host).AckedVersion = version;
        }
    }

    public void RecordNack(string host, ulong version, IReadOnlyList<FieldError> errors)
    {
        lock (_lock)
        {
            HostAgentRecord record = Agent(host);
            record.NackedVersion = version;
            record.NackErrors = errors;
        }
    }

    public void RecordStatus(string host, InterfaceStatusReport report)
    {
        lock (_lock)
        {
            HostAgentRecord record = Agent(host);
            var interfaces = report.Complete
                ? new Dictionary<string, InterfaceStatus>(StringComparer.Ordinal)
                : new Dictionary<string, InterfaceStatus>(record.Interfaces, StringComparer.Ordinal);
            foreach (InterfaceStatus status in report.Interfaces)
            {
                interfaces[status.Id] = status.Clone();
            }
            record.Interfaces = interfaces;
        }
    }

    /// <summary>A copy of the host's agent record (a fresh one when the host's agent was never seen).</summary>
    public HostAgentRecord AgentRecord(string host)
    {
        lock (_lock)
        {
            return _agents.TryGetValue(host, out HostAgentRecord? record) ? record.Copy() : new HostAgentRecord();
        }
    }

    private HostAgentRecord Agent(string host)
    {
        if (!_agents.TryGetValue(host, out HostAgentRecord? record))
        {
            record = new HostAgentRecord();
            _agents[host] = record;
        }
        return record;
    }
}
