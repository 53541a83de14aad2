using System.Net.Sockets;
using MetalAgent.Agent.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace MetalAgent.Agent.Local;

/// <summary>
/// Serves <see cref="AgentControlService"/> (gRPC, HTTP/2) on a Unix domain socket with mode 0600, so only
/// root (or the agent's user) can connect. The socket's directory is created with mode 0700 when missing;
/// systemd's RuntimeDirectory does the same for /run/metalagent. A stale socket file left by a crashed
/// agent is replaced; a live one (another agent answering) is an error.
/// </summary>
public sealed class LocalControlServer : IAsyncDisposable
{
    /// <summary>Largest request accepted (trace frames from a pcap).</summary>
    public const int MaxRequestBytes = 64 * 1024 * 1024;

    private readonly WebApplication _app;

    private LocalControlServer(WebApplication app, string path)
    {
        _app = app;
        SocketPath = path;
    }

    public string SocketPath { get; }

    public static async Task<LocalControlServer> StartAsync(AgentService service, string path, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        string directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        if (!Directory.Exists(directory) && !OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        if (File.Exists(path))
        {
            if (await AnswersAsync(path, cancellationToken))
            {
                throw new InvalidOperationException($"{path}: another agent is serving this control socket");
            }
            File.Delete(path);
        }
        WebApplication app = KestrelApps.Create(
            loggerFactory,
            kestrel => kestrel.ListenUnixSocket(path, listen => listen.Protocols = HttpProtocols.Http2),
            builder =>
            {
                builder.Services.AddGrpc(o => o.MaxReceiveMessageSize = MaxRequestBytes);
                builder.Services.AddSingleton(service);
            });
        app.MapGrpcService<AgentControlService>();
        await app.StartAsync(cancellationToken);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        return new LocalControlServer(app, path);
    }

    private static async Task<bool> AnswersAsync(string path, CancellationToken cancellationToken)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>Stops answering and removes the socket file.</summary>
    public async Task StopAsync()
    {
        await KestrelApps.StopAsync(_app);
        try
        {
            File.Delete(SocketPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}
