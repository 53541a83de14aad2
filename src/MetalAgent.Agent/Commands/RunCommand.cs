using System.CommandLine;
using System.Runtime.InteropServices;
using MetalAgent.Agent.Sync;
using MetalAgent.Model.V1;
using Microsoft.Extensions.Logging;

namespace MetalAgent.Agent.Commands;

/// <summary><c>metalagent run --host NAME --underlay-prefix P --server URL [--ca F --cert F --key F] --state-dir DIR</c>: the agent.</summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var host = new Option<string>("--host") { Description = "this host's name in the control plane", Required = true };
        var prefix = new Option<string>("--underlay-prefix") { Description = "this host's underlay /64", Required = true };
        var server = ServerOption.Create("control plane URL (omit to forward from persisted state only)");
        var ca = new Option<string?>("--ca") { Description = "PEM CA bundle the server's certificate must chain to (https)" };
        var cert = new Option<string?>("--cert") { Description = "PEM client certificate naming this host (https)" };
        var key = new Option<string?>("--key") { Description = "PEM private key of --cert (https)" };
        var stateDir = new Option<DirectoryInfo>("--state-dir") { Description = "per-agent state directory", Required = true };
        var backend = new Option<string>("--backend") { Description = "port backend: memory or linux", DefaultValueFactory = _ => "memory" };
        var bindings = new Option<string[]>("--port-binding") { Description = "interface id=device (repeatable)", AllowMultipleArgumentsPerToken = true };
        var uplink = new Option<string?>("--uplink") { Description = "underlay device (linux backend)" };
        var uplinkGateway = new Option<string?>("--uplink-gateway") { Description = "underlay next hop (IPv6) of uplink0" };
        var uplinkGatewayMac = new Option<string?>("--uplink-gateway-mac") { Description = "pinned MAC of the underlay next hop" };
        var workers = new Option<int>("--workers") { Description = "worker threads", DefaultValueFactory = _ => 1 };
        var command = new Command("run", "Run the agent: sync with the control plane and forward")
        {
            host, prefix, server, ca, cert, key, stateDir, backend, bindings, uplink, uplinkGateway, uplinkGatewayMac, workers,
        };
        command.SetAction(async (result, token) =>
        {
            var ports = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (string binding in result.GetValue(bindings) ?? [])
            {
                int eq = binding.IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0 || eq == binding.Length - 1)
                {
                    Console.Error.WriteLine($"run: --port-binding {binding}: expected id=device");
                    return 2;
                }
                ports[binding[..eq]] = binding[(eq + 1)..];
            }
            IPortBackend portBackend;
            switch (result.GetValue(backend))
            {
                case "memory":
                    portBackend = new MemoryPortBackend(ports);
                    break;
                case "linux" when result.GetValue(uplink) is { } device:
                    portBackend = new LinuxPortBackend(device, ports);
                    break;
                case "linux":
                    Console.Error.WriteLine("run: --backend linux needs --uplink DEVICE");
                    return 2;
                case var other:
                    Console.Error.WriteLine($"run: unknown backend '{other}' (memory, linux)");
                    return 2;
            }
            var uplinks = new List<UplinkSpec>();
            if (result.GetValue(uplinkGateway) is { } gateway)
            {
                uplinks.Add(new UplinkSpec { Name = "uplink0", GatewayAddress = gateway, GatewayMac = result.GetValue(uplinkGatewayMac) ?? string.Empty });
            }
            var settings = new AgentSettings
            {
                HostName = result.GetValue(host)!,
                UnderlayPrefix = result.GetValue(prefix)!,
                Server = result.GetValue(server),
                ServerCaPath = FullPath(result.GetValue(ca)),
                ClientCertificatePath = FullPath(result.GetValue(cert)),
                ClientKeyPath = FullPath(result.GetValue(key)),
                StateDirectory = result.GetValue(stateDir)!.FullName,
                Uplinks = uplinks,
                Workers = result.GetValue(workers),
            };
            if (settings.CheckServerTls() is { Count: > 0 } problems)
            {
                Console.Error.WriteLine("run: " + string.Join("\nrun: ", problems));
                return 2;
            }
            using ILoggerFactory logging = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true));
            await using var agent = new AgentHost(settings, portBackend, logging);
            agent.Start();
            await WaitForShutdown(token);
            await agent.StopAsync();
            return 0;
        });
        return command;
    }

    internal static string? FullPath(string? path) => path is null ? null : Path.GetFullPath(path);

    /// <summary>Completes on SIGTERM, SIGINT (Ctrl-C) or when the command's token is cancelled.</summary>
    internal static async Task WaitForShutdown(CancellationToken token)
    {
        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Handler(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.TrySetResult();
        }
        using PosixSignalRegistration term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handler);
        using PosixSignalRegistration interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Handler);
        using CancellationTokenRegistration registration = token.Register(() => stop.TrySetResult());
        await stop.Task;
    }
}
