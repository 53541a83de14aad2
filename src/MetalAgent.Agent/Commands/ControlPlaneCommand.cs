using System.CommandLine;
using MetalAgent.Agent.Hosting;
using MetalAgent.ControlPlane.Configuration;
using MetalAgent.ControlPlane.Server;
using Microsoft.Extensions.Logging;

namespace MetalAgent.Agent.Commands;

/// <summary><c>metalagent controlplane --config FILE --manifests PATH</c>: the reference control plane.</summary>
internal static class ControlPlaneCommand
{
    public static Command Create()
    {
        var config = new Option<FileInfo>("--config") { Description = "control plane configuration (YAML)", Required = true };
        var manifests = new Option<string>("--manifests") { Description = "IronCore manifests: a file or a directory", Required = true };
        var command = new Command("controlplane", "Run the reference control plane until SIGTERM or Ctrl-C") { config, manifests };
        command.SetAction(async (result, token) =>
        {
            ControlPlaneConfig parsed;
            try
            {
                parsed = ControlPlaneConfig.Load(result.GetValue(config)!.FullName);
            }
            catch (Exception e) when (e is ConfigException or IOException)
            {
                if (e is ConfigException { Errors: { Count: > 0 } errors })
                {
                    // The exception's message already lists them; print the list once, one per line.
                    Console.Error.WriteLine($"controlplane: invalid configuration, {errors.Count} problem(s):");
                    foreach (var error in errors)
                    {
                        Console.Error.WriteLine("  " + error);
                    }
                }
                else
                {
                    Console.Error.WriteLine($"controlplane: {e.Message}");
                }
                return 2;
            }
            using ILoggerFactory logging = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true));
            ControlPlaneHost host;
            try
            {
                host = await ControlPlaneHost.StartAsync(parsed, result.GetValue(manifests)!, new ControlPlaneHostOptions { LoggerFactory = logging }, token);
            }
            catch (Exception e) when (e is ConfigException or InvalidOperationException or IOException)
            {
                Console.Error.WriteLine($"controlplane: {e.Message}");
                return 2;
            }
            await using (host)
            {
                Console.WriteLine($"serving on {host.Address}");
                using SystemdNotifier? notifier = SystemdNotifier.FromEnvironment();
                using var stop = CancellationTokenSource.CreateLinkedTokenSource(token);
                notifier?.Ready($"serving on {host.Address}, manifests generation {host.Current.Generation}");
                Task watchdog = ControlPlaneWatchdog(notifier, host, stop.Token);
                await RunCommand.WaitForShutdown(token);
                notifier?.Stopping("stopping");
                await stop.CancelAsync();
                await watchdog;
            }
            return 0;
        });
        return command;
    }

    /// <summary>
    /// WATCHDOG=1 at half the watchdog timeout while the process answers: the loop runs on the thread pool
    /// that also serves the gRPC streams, and reads the runtime's current snapshot, so a starved pool or a
    /// hung process stops the pings and systemd restarts the control plane.
    /// </summary>
    private static async Task ControlPlaneWatchdog(SystemdNotifier? notifier, ControlPlaneHost host, CancellationToken token)
    {
        if (notifier?.WatchdogTimeout is not { } timeout)
        {
            return;
        }
        using var timer = new PeriodicTimer(timeout / 2);
        try
        {
            do
            {
                if (host.Current is not null)
                {
                    notifier.Watchdog();
                }
            }
            while (await timer.WaitForNextTickAsync(token));
        }
        catch (OperationCanceledException)
        {
        }
    }
}
