using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace MetalAgent.Agent.Hosting;

/// <summary>Small Kestrel applications for the agent's local endpoints: no configuration files, no
/// environment-driven URLs, only the listeners given, the agent's log level.</summary>
internal static class KestrelApps
{
    /// <summary>How long a stopping endpoint waits for requests in flight before closing them.</summary>
    public static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(2);

    public static WebApplication Create(ILoggerFactory loggerFactory, Action<KestrelServerOptions> listen, Action<WebApplicationBuilder>? configure = null)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = [],
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = "Production",
        });
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddProvider(new ForwardingLoggerProvider(loggerFactory));
        builder.WebHost.ConfigureKestrel(listen);
        configure?.Invoke(builder);
        return builder.Build();
    }

    public static async Task StopAsync(WebApplication app)
    {
        using var grace = new CancellationTokenSource(StopGrace);
        await app.StopAsync(grace.Token);
    }

    /// <summary>Hands the endpoints' warnings and errors to the agent's logger factory.</summary>
    private sealed class ForwardingLoggerProvider(ILoggerFactory factory) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => factory.CreateLogger(categoryName);

        public void Dispose()
        {
        }
    }
}
