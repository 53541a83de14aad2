using System.Net;
using MetalAgent.Agent.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace MetalAgent.Agent.Metrics;

/// <summary>
/// The local HTTP endpoint (HTTP/1.1, loopback by default): <c>/metrics</c> (Prometheus text format,
/// gathered at scrape time), <c>/healthz/live</c> (200 while every worker makes progress) and
/// <c>/healthz/ready</c> (200 while synced and forwarding); 503 with the reason otherwise.
/// </summary>
public sealed class MetricsServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private MetricsServer(WebApplication app, IPEndPoint endpoint)
    {
        _app = app;
        Endpoint = endpoint;
    }

    /// <summary>The endpoint listened on (the chosen port when asked for port 0).</summary>
    public IPEndPoint Endpoint { get; }

    public static async Task<MetricsServer> StartAsync(AgentService service, IPEndPoint endpoint, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        WebApplication app = KestrelApps.Create(loggerFactory, kestrel => kestrel.Listen(endpoint, listen => listen.Protocols = HttpProtocols.Http1));
        app.MapGet("/metrics", (HttpContext context) =>
        {
            context.Response.Headers.CacheControl = "no-store";
            return Results.Text(AgentMetrics.Render(service), PrometheusTextWriter.ContentType);
        });
        app.MapGet("/healthz/live", () => service.IsLive
            ? Results.Text("ok\n")
            : Results.Text("not live: " + StuckWorkers(service) + "\n", statusCode: StatusCodes.Status503ServiceUnavailable));
        app.MapGet("/healthz/ready", () => service.IsReady
            ? Results.Text("ok\n")
            : Results.Text("not ready: " + service.StatusLine() + "\n", statusCode: StatusCodes.Status503ServiceUnavailable));
        await app.StartAsync(cancellationToken);
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var uri = new Uri(address);
        return new MetricsServer(app, new IPEndPoint(endpoint.Address, uri.Port));
    }

    private static string StuckWorkers(AgentService service)
    {
        List<string> stuck = [];
        foreach (WorkerLiveness worker in service.Health.Workers())
        {
            if (!worker.Alive)
            {
                stuck.Add(FormattableString.Invariant($"worker {worker.Index} without progress for {worker.SinceProgress.TotalSeconds:0.0}s"));
            }
        }
        return stuck.Count == 0 ? "workers not running" : string.Join("; ", stuck);
    }

    public Task StopAsync() => KestrelApps.StopAsync(_app);

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}
