using System.Net.Http;
using Grpc.Core;
using Grpc.Net.Client;
using MetalAgent.ControlPlane.V1;
using Microsoft.Extensions.Logging;

namespace MetalAgent.Agent.Sync;

/// <summary>
/// The agent's side of HostSync.Stream: Hello with the held version and digest, then every StateUpdate
/// applied all-or-nothing by <see cref="HostApplier"/> and answered with Ack/Nack, and an interface status
/// report after each apply. HTTP/2 keepalive pings notice a dead peer within seconds; the client reconnects
/// with capped, jittered exponential backoff while the dataplane keeps forwarding with the last good state.
/// </summary>
public sealed class SyncClient : IDisposable
{
    private readonly AgentSettings _settings;
    private readonly HostApplier _applier;
    private readonly ILogger _logger;
    private readonly GrpcChannel _channel;
    private readonly ClientTlsMaterial? _tls;
    private readonly Lock _applyLock = new();
    private long _sessions;
    private long _nacks;
    private long _failures;
    private bool _stopped;

    public SyncClient(AgentSettings settings, HostApplier applier, ILogger logger)
    {
        _settings = settings;
        _applier = applier;
        _logger = logger;
        Uri server = settings.Server ?? throw new ArgumentException("the settings name no server", nameof(settings));
        _tls = ClientTlsMaterial.ForServer(server, settings.ServerCaPath, settings.ClientCertificatePath, settings.ClientKeyPath);
        var handler = new SocketsHttpHandler
        {
            KeepAlivePingDelay = settings.KeepAlivePingDelay,
            KeepAlivePingTimeout = settings.KeepAlivePingTimeout,
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
            ConnectTimeout = TimeSpan.FromSeconds(5),
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            EnableMultipleHttp2Connections = true,
        };
        _tls?.ApplyTo(handler);
        _channel = GrpcChannel.ForAddress(server, new GrpcChannelOptions { HttpHandler = handler });
    }

    /// <summary>Streams opened so far (each reconnect adds one).</summary>
    public long Sessions => Interlocked.Read(ref _sessions);

    /// <summary>Updates refused so far.</summary>
    public long Nacks => Interlocked.Read(ref _nacks);

    /// <summary>Sessions that ended without the agent asking (refused, failed to connect, or lost).</summary>
    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>Why the last session ended (for example a refusal's status and reason), or null.</summary>
    public string? LastError { get; private set; }

    /// <summary>The last Nack sent, for status and tests.</summary>
    public Nack? LastNack { get; private set; }

    /// <summary>Where the stream is (metrics, status, readiness).</summary>
    public SyncState State { get; private set; } = SyncState.Connecting;

    /// <summary>True when the last update on the current stream was acknowledged: the agent holds what the server sent.</summary>
    public bool InSync { get; private set; }

    /// <summary>Runs sessions until <paramref name="token"/> is cancelled; never throws for server trouble.</summary>
    public async Task RunAsync(CancellationToken token)
    {
        int failures = 0;
        while (!token.IsCancellationRequested)
        {
            string reason;
            bool progressed = false;
            try
            {
                progressed = await RunSessionAsync(token);
                reason = "the server closed the stream";
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                break;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && token.IsCancellationRequested)
            {
                break;
            }
            catch (RpcException e)
            {
                reason = Describe(e);
            }
            catch (Exception e) when (e is IOException or HttpRequestException or InvalidOperationException)
            {
                reason = e.Message;
            }
            Interlocked.Increment(ref _failures);
            failures = progressed ? 1 : failures + 1;
            TimeSpan delay = Backoff(failures);
            (State, InSync, LastError) = (SyncState.Disconnected, false, reason);
            AgentLog.Disconnected(_logger, _settings.Server!, reason, delay);
            try
            {
                await Task.Delay(delay, token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            State = SyncState.Connecting;
        }
        (State, InSync) = (SyncState.Stopped, false);
    }

    /// <summary>Status and detail, plus the innermost transport error (a TLS handshake failure says why).</summary>
    internal static string Describe(RpcException e)
    {
        string text = $"{e.StatusCode}: {e.Status.Detail}";
        Exception? inner = e.Status.DebugException;
        while (inner?.InnerException is not null)
        {
            inner = inner.InnerException;
        }
        return inner is null || text.Contains(inner.Message, StringComparison.Ordinal) ? text : $"{text} ({inner.Message})";
    }

    /// <summary>Stops applying updates (an update being applied finishes first).</summary>
    public void StopApplying()
    {
        lock (_applyLock)
        {
            _stopped = true;
        }
    }

    /// <summary>Capped exponential backoff with ±25 % jitter, so many agents do not reconnect in step.</summary>
    public TimeSpan Backoff(int failures)
    {
        double min = _settings.ReconnectMin.TotalMilliseconds;
        double max = _settings.ReconnectMax.TotalMilliseconds;
        double ms = Math.Min(max, min * Math.Pow(2, Math.Min(Math.Max(failures - 1, 0), 30)));
        ms *= 0.75 + (Random.Shared.NextDouble() * 0.5);
        return TimeSpan.FromMilliseconds(Math.Min(ms, max));
    }

    /// <summary>One stream; returns true when at least one update was answered.</summary>
    private async Task<bool> RunSessionAsync(CancellationToken token)
    {
        var client = new HostSync.HostSyncClient(_channel);
        using AsyncDuplexStreamingCall<AgentMessage, ServerMessage> call = client.Stream(cancellationToken: token);
        ulong held;
        string sha;
        lock (_applyLock)
        {
            held = _applier.Version;
            sha = _applier.Sha256;
        }
        await call.RequestStream.WriteAsync(new AgentMessage
        {
            Hello = new Hello
            {
                HostName = _settings.HostName,
                UnderlayPrefix = _settings.UnderlayPrefix,
                HeldVersion = held,
                HeldStateSha256 = sha,
                AgentVersion = typeof(SyncClient).Assembly.GetName().Version?.ToString() ?? string.Empty,
            },
        }, token);
        Interlocked.Increment(ref _sessions);
        State = SyncState.Connected;
        AgentLog.Connected(_logger, _settings.Server!, held);
        bool progressed = false;
        while (await call.ResponseStream.MoveNext(token))
        {
            if (call.ResponseStream.Current.MessageCase != ServerMessage.MessageOneofCase.Update)
            {
                continue;
            }
            AgentMessage answer;
            InterfaceStatusReport? status = null;
            lock (_applyLock)
            {
                if (_stopped)
                {
                    break;
                }
                answer = _applier.Apply(call.ResponseStream.Current.Update, out bool applied);
                if (applied || !progressed)
                {
                    status = _applier.StatusReport();
                }
            }
            if (answer.MessageCase == AgentMessage.MessageOneofCase.Nack)
            {
                LastNack = answer.Nack;
                Interlocked.Increment(ref _nacks);
            }
            InSync = answer.MessageCase == AgentMessage.MessageOneofCase.Ack;
            await call.RequestStream.WriteAsync(answer, token);
            if (status is not null)
            {
                await call.RequestStream.WriteAsync(new AgentMessage { Status = status }, token);
            }
            progressed = true;
        }
        return progressed;
    }

    public void Dispose()
    {
        _channel.Dispose();
        _tls?.Dispose();
    }
}

/// <summary>The sync stream's state.</summary>
public enum SyncState
{
    /// <summary>Opening a stream (first attempt, or after a backoff).</summary>
    Connecting,
    /// <summary>The stream is open (Hello sent).</summary>
    Connected,
    /// <summary>The last stream ended; waiting out the backoff. Forwarding continues with the last good state.</summary>
    Disconnected,
    /// <summary>The agent is stopping.</summary>
    Stopped,
}
