using System.Net;
using System.Security.Cryptography;
using System.Text;
using MetalAgent.ControlPlane.Allocation;
using MetalAgent.ControlPlane.Configuration;
using MetalAgent.ControlPlane.Manifests;
using MetalAgent.ControlPlane.State;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using MetalAgent.Model.Validation;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace MetalAgent.ControlPlane.Server;

/// <summary>Options of an in-process control plane.</summary>
public sealed class ControlPlaneHostOptions
{
    /// <summary>The allocation store; default: <see cref="ControlPlaneConfig.StateFile"/> as a JSON file, or
    /// memory when the configuration names none.</summary>
    public IStateStore? Store { get; init; }

    /// <summary>Who callers are; default: <see cref="CertificateIdentityResolver"/> allowing plaintext loopback.</summary>
    public IClientIdentityResolver? Identities { get; init; }

    /// <summary>Safety-net rescan of the manifests, in case a file-system event was missed.</summary>
    public TimeSpan RescanInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Quiet time after a file-system event before reloading (editors write files in steps).</summary>
    public TimeSpan ReloadDelay { get; init; } = TimeSpan.FromMilliseconds(100);

    public ILoggerFactory? LoggerFactory { get; init; }
}

/// <summary>The reference control plane running in-process: the gRPC services (HostSync, RouterView,
/// StateQuery) on Kestrel (HTTP/2), fed by manifests that are reloaded on change (file-system watcher plus a
/// periodic rescan). With <see cref="ControlPlaneConfig.Tls"/> it serves TLS and requires a client certificate
/// chaining to the configured client CA (whose subject names the caller's role, see
/// <see cref="CertificateIdentityResolver"/>); without it, it serves plaintext on a loopback address only.</summary>
public sealed class ControlPlaneHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string _manifestsPath;
    private readonly ControlPlaneHostOptions _options;
    private readonly SemaphoreSlim _reloadLock = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly FileSystemWatcher? _watcher;
    private readonly ILogger _logger;
    private Task _rescanLoop = Task.CompletedTask;
    private CancellationTokenSource? _pendingReload;
    private string _loadedDigest = string.Empty;
    private readonly ServerTlsMaterial? _tls;

    private ControlPlaneHost(WebApplication app, ControlPlaneRuntime runtime, string manifestsPath, ControlPlaneHostOptions options, ServerTlsMaterial? tls)
    {
        _app = app;
        _tls = tls;
        Runtime = runtime;
        _manifestsPath = Path.GetFullPath(manifestsPath);
        _options = options;
        _logger = (options.LoggerFactory ?? Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance).CreateLogger<ControlPlaneHost>();
        bool isDirectory = Directory.Exists(_manifestsPath);
        string watchDirectory = isDirectory ? _manifestsPath : Path.GetDirectoryName(_manifestsPath)!;
        if (Directory.Exists(watchDirectory))
        {
            _watcher = new FileSystemWatcher(watchDirectory)
            {
                IncludeSubdirectories = isDirectory,
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.DirectoryName,
            };
            if (!isDirectory)
            {
                _watcher.Filter = Path.GetFileName(_manifestsPath);
            }
            _watcher.Changed += OnFileEvent;
            _watcher.Created += OnFileEvent;
            _watcher.Deleted += OnFileEvent;
            _watcher.Renamed += OnFileEvent;
        }
    }

    /// <summary>The address clients connect to (http://127.0.0.1:port, or https:// with TLS).</summary>
    public Uri Address { get; private set; } = null!;

    public ControlPlaneRuntime Runtime { get; }

    public ControlPlaneSnapshot Current => Runtime.Current;

    /// <summary>Loads the manifests, starts listening on <see cref="ControlPlaneConfig.Listen"/> and watching
    /// <paramref name="manifestsPath"/> (a file or a directory). Throws <see cref="ConfigException"/> listing every
    /// problem when the listen address is not loopback and no TLS is configured, or the TLS material does not load.</summary>
    public static async Task<ControlPlaneHost> StartAsync(ControlPlaneConfig config, string manifestsPath, ControlPlaneHostOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new ControlPlaneHostOptions();
        ArgumentNullException.ThrowIfNull(config);
        if (config.Tls is null && !IPAddress.IsLoopback(config.Listen.Address))
        {
            // The configuration file reader refuses this too; configurations built in code reach here.
            throw new ConfigException([new ValidationError("tls", ValidationErrorType.Required,
                $"listening on {config.Listen} (not loopback) requires TLS with client certificates; plaintext is allowed on loopback only")]);
        }
        ServerTlsMaterial? tls = config.Tls is null ? null : ServerTlsMaterial.Load(config.Tls);
        try
        {
            return await StartCoreAsync(config, manifestsPath, options, tls, cancellationToken);
        }
        catch
        {
            tls?.Dispose();
            throw;
        }
    }

    private static async Task<ControlPlaneHost> StartCoreAsync(ControlPlaneConfig config, string manifestsPath, ControlPlaneHostOptions options, ServerTlsMaterial? tls, CancellationToken cancellationToken)
    {
        IStateStore store = options.Store ?? (config.StateFile is { } file ? new JsonFileStateStore(file) : new MemoryStateStore());
        // With TLS every caller is identified by its certificate; without it (loopback only) every caller is a developer.
        var runtime = new ControlPlaneRuntime(new ControlPlaneEngine(config, store), options.Identities ?? new CertificateIdentityResolver(allowLoopbackPlaintext: tls is null));

        ILogger tlsLogger = (options.LoggerFactory ?? Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance).CreateLogger<ServerTlsMaterial>();
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (options.LoggerFactory is not null)
        {
            builder.Services.AddSingleton(options.LoggerFactory);
        }
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(config.Listen, listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                if (tls is not null)
                {
                    listen.UseHttps(https =>
                    {
                        https.ServerCertificate = tls.Certificate;
                        if (tls.Intermediates.Count > 0)
                        {
                            https.ServerCertificateChain = tls.Intermediates;
                        }
                        https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
                        https.ClientCertificateValidation = (certificate, chain, _) =>
                        {
                            if (tls.ValidateClientCertificate(certificate, chain, out string? problem))
                            {
                                return true;
                            }
                            tlsLogger.LogWarning("refused a client certificate: {Problem}", problem);
                            return false;
                        };
                    });
                }
            });
            // Agents hold one stream for days; keepalive pings find dead peers.
            kestrel.Limits.Http2.KeepAlivePingDelay = TimeSpan.FromSeconds(10);
            kestrel.Limits.Http2.KeepAlivePingTimeout = TimeSpan.FromSeconds(10);
        });
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(runtime);
        WebApplication app = builder.Build();
        app.MapGrpcService<HostSyncService>();
        app.MapGrpcService<RouterViewService>();
        app.MapGrpcService<StateQueryService>();

        var host = new ControlPlaneHost(app, runtime, manifestsPath, options, tls);
        await host.ReloadAsync(cancellationToken: cancellationToken);
        await app.StartAsync(cancellationToken);
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        host.Address = new Uri(address);
        if (host._watcher is not null)
        {
            host._watcher.EnableRaisingEvents = true;
        }
        host._rescanLoop = host.RescanLoop();
        return host;
    }

    /// <summary>Reads the manifests again and publishes a new snapshot when their content changed (or when
    /// <paramref name="force"/>). Serialized with the watcher's and the rescan's reloads.</summary>
    public async Task<ControlPlaneSnapshot> ReloadAsync(bool force = false, CancellationToken cancellationToken = default)
    {
        await _reloadLock.WaitAsync(cancellationToken);
        try
        {
            (List<(string Source, string Text)> files, string digest) = ReadManifests();
            if (!force && digest == _loadedDigest && Runtime.Current.Generation > 0)
            {
                return Runtime.Current;
            }
            ControlPlaneSnapshot snapshot = Runtime.Apply(ManifestSet.FromFiles(files));
            _loadedDigest = digest;
            return snapshot;
        }
        finally
        {
            _reloadLock.Release();
        }
    }

    public async Task StopAsync()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }
        await _stop.CancelAsync();
        _watcher?.Dispose();
        try
        {
            await _rescanLoop;
        }
        catch (OperationCanceledException)
        {
        }
        await _app.StopAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await _app.DisposeAsync();
        _stop.Dispose();
        _reloadLock.Dispose();
        _pendingReload?.Dispose();
        _tls?.Dispose();
    }

    /// <summary>The manifest files and a digest of their names and contents. A missing path reads as no files.</summary>
    private (List<(string Source, string Text)> Files, string Digest) ReadManifests()
    {
        var files = new List<(string, string)>();
        if (Directory.Exists(_manifestsPath))
        {
            foreach (string name in Directory.EnumerateFiles(_manifestsPath, "*", SearchOption.AllDirectories)
                .Where(f => f.EndsWith(".yaml", StringComparison.Ordinal) || f.EndsWith(".yml", StringComparison.Ordinal))
                .Select(f => Path.GetRelativePath(_manifestsPath, f))
                .Where(f => !Path.GetFileName(f).StartsWith('.'))
                .Order(StringComparer.Ordinal))
            {
                files.Add((name, ReadShared(Path.Combine(_manifestsPath, name))));
            }
        }
        else if (File.Exists(_manifestsPath))
        {
            files.Add((Path.GetFileName(_manifestsPath), ReadShared(_manifestsPath)));
        }
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach ((string source, string text) in files)
        {
            sha.AppendData(Encoding.UTF8.GetBytes(source + "\0" + text + "\0"));
        }
        return (files, Convert.ToHexStringLower(sha.GetHashAndReset()));
    }

    private static string ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    private void OnFileEvent(object sender, FileSystemEventArgs e)
    {
        // Debounce: every event restarts the quiet period; the reload runs once it has passed.
        var pending = new CancellationTokenSource();
        CancellationTokenSource? previous = Interlocked.Exchange(ref _pendingReload, pending);
        previous?.Cancel();
        _ = ReloadAfterDelay(pending.Token);
    }

    private async Task ReloadAfterDelay(CancellationToken token)
    {
        try
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(token, _stop.Token);
            await Task.Delay(_options.ReloadDelay, linked.Token);
            await ReloadAsync(cancellationToken: _stop.Token);
        }
        catch (OperationCanceledException)
        {
        }
        catch (IOException ex)
        {
            _logger.LogWarning(ex, "reloading manifests failed; the periodic rescan retries");
        }
    }

    private async Task RescanLoop()
    {
        using var timer = new PeriodicTimer(_options.RescanInterval);
        while (await timer.WaitForNextTickAsync(_stop.Token))
        {
            try
            {
                await ReloadAsync(cancellationToken: _stop.Token);
            }
            catch (IOException ex)
            {
                _logger.LogWarning(ex, "rescanning manifests failed");
            }
        }
    }
}
