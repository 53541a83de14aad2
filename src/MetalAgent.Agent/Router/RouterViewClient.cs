using System.Net.Http;
using Grpc.Core;
using Grpc.Net.Client;
using MetalAgent.ControlPlane.V1;
using MetalAgent.Packets;
using Microsoft.Extensions.Logging;

namespace MetalAgent.Agent.Router;

/// <summary>
/// Watches the control plane's router view (RouterView.Watch) and compiles every update into a
/// <see cref="PublicIpTable"/> that it swaps into the pipeline. On a broken stream it reconnects with
/// capped, jittered exponential backoff while the router keeps forwarding with the last view (fail
/// static). TLS: the server is validated against the given CA, and the router's client certificate
/// (role router) is presented when given.
/// </summary>
public sealed class RouterViewClient : IDisposable
{
    private readonly Uri _server;
    private readonly string _name;
    private readonly UInt128 _underlay;
    private readonly RouterPipeline _pipeline;
    private readonly ILogger _logger;
    private readonly GrpcChannel _channel;
    private long _updates;

    public RouterViewClient(Uri server, Sync.ClientTlsMaterial? tls, string name, RouterPipeline pipeline, ILogger logger)
    {
        _server = server;
        _name = name;
        _underlay = pipeline.Spec.UnderlayAddress;
        _pipeline = pipeline;
        _logger = logger;
        _channel = GrpcChannel.ForAddress(server, new GrpcChannelOptions { HttpHandler = CreateHandler(tls) });
    }

    public TimeSpan ReconnectMin { get; init; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan ReconnectMax { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>View updates applied so far.</summary>
    public long Updates => Interlocked.Read(ref _updates);

    /// <summary>An HTTP/2 handler with keepalive pings (a dead stream is noticed within seconds) and, for
    /// https, the client certificate and a server validation against the given CA alone.</summary>
    public static SocketsHttpHandler CreateHandler(Sync.ClientTlsMaterial? tls)
    {
        var handler = new SocketsHttpHandler
        {
            KeepAlivePingDelay = TimeSpan.FromSeconds(10),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(5),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
            ConnectTimeout = TimeSpan.FromSeconds(5),
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            EnableMultipleHttp2Connections = true,
        };
        tls?.ApplyTo(handler);
        return handler;
    }

    /// <summary>Watches until <paramref name="token"/> is cancelled; never throws for server trouble.</summary>
    public async Task RunAsync(CancellationToken token)
    {
        var client = new RouterView.RouterViewClient(_channel);
        int failures = 0;
        while (!token.IsCancellationRequested)
        {
            string reason;
            bool progressed = false;
            try
            {
                using AsyncServerStreamingCall<RouterViewUpdate> call = client.Watch(
                    new RouterHello { RouterName = _name, UnderlayAddress = Addresses.FormatIPv6(_underlay) }, cancellationToken: token);
                await foreach (RouterViewUpdate update in call.ResponseStream.ReadAllAsync(token))
                {
                    if (!progressed)
                    {
                        RouterLog.Connected(_logger, _server);
                    }
                    Apply(update);
                    progressed = true;
                }
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
                reason = $"{e.StatusCode}: {e.Status.Detail}";
            }
            catch (Exception e) when (e is IOException or HttpRequestException or InvalidOperationException)
            {
                reason = e.Message;
            }
            failures = progressed ? 1 : failures + 1;
            TimeSpan delay = Backoff(failures);
            RouterLog.Disconnected(_logger, _server, reason, delay, _pipeline.Table.Version);
            try
            {
                await Task.Delay(delay, token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    /// <summary>Compiles a view and swaps it in (also used directly by tests).</summary>
    public void Apply(RouterViewUpdate update)
    {
        var problems = new List<string>();
        PublicIpTable table = PublicIpTable.Build(update, problems);
        _pipeline.Table = table;
        Interlocked.Increment(ref _updates);
        RouterLog.ViewApplied(_logger, update.Version, table.Count);
        foreach (string problem in problems)
        {
            RouterLog.ViewProblem(_logger, update.Version, problem);
        }
    }

    private TimeSpan Backoff(int failures)
    {
        double min = ReconnectMin.TotalMilliseconds;
        double max = ReconnectMax.TotalMilliseconds;
        double delay = Math.Min(max, min * Math.Pow(2, Math.Min(failures - 1, 20)));
        return TimeSpan.FromMilliseconds(delay * (0.75 + (Random.Shared.NextDouble() * 0.5)));
    }

    public void Dispose() => _channel.Dispose();
}
