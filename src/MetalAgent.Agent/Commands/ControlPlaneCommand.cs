using System.CommandLine;
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
                // A ConfigException's message lists every problem, one per line.
                Console.Error.WriteLine($"controlplane: {e.Message}");
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
                await RunCommand.WaitForShutdown(token);
            }
            return 0;
        });
        return command;
    }
}
