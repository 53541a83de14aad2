using System.CommandLine;
using MetalAgent.Agent.Configuration;
using MetalAgent.Agent.Hosting;
using MetalAgent.Agent.Sync;
using Microsoft.Extensions.Logging;

namespace MetalAgent.Agent.Commands;

/// <summary><c>metalagent run [--config FILE] [--host NAME ...]</c>: the agent. Every setting can come from the
/// configuration file (default /etc/metalagent/agent.yaml) and be overridden by its option; see docs/CONFIGURATION.md.</summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var config = new Option<string?>("--config") { Description = $"configuration file (YAML); default {AgentConfigLoader.DefaultPath} when it exists" };
        var check = new Option<bool>("--check") { Description = "check the configuration, print the effective settings and exit" };
        var command = new Command("run", "Run the agent: sync with the control plane and forward") { config, check };
        var scalars = new List<(ConfigSetting Setting, Option<string> Option)>();
        var maps = new List<(ConfigSetting Setting, Option<string[]> Option)>();
        foreach (ConfigSetting setting in AgentConfigSchema.All)
        {
            string description = $"{setting.Description} (file key {setting.Key}{(setting.Default.Length > 0 ? ", default " + setting.Default : string.Empty)})";
            if (setting.IsMap)
            {
                var option = new Option<string[]>(setting.OptionName) { Description = description + "; name=value, repeatable", AllowMultipleArgumentsPerToken = true };
                maps.Add((setting, option));
                command.Options.Add(option);
            }
            else
            {
                var option = new Option<string>(setting.OptionName) { Description = description };
                scalars.Add((setting, option));
                command.Options.Add(option);
            }
        }
        command.SetAction(async (result, token) =>
        {
            var overrides = new List<(ConfigSetting, IReadOnlyList<string>)>();
            foreach ((ConfigSetting setting, Option<string> option) in scalars)
            {
                if (result.GetResult(option) is not null && result.GetValue(option) is { } value)
                {
                    overrides.Add((setting, [value]));
                }
            }
            foreach ((ConfigSetting setting, Option<string[]> option) in maps)
            {
                if (result.GetValue(option) is { Length: > 0 } values)
                {
                    overrides.Add((setting, values));
                }
            }
            string? path = result.GetValue(config);
            AgentConfigResult loaded = AgentConfigLoader.Load(path ?? AgentConfigLoader.DefaultPath, pathExplicit: path is not null, overrides);
            if (loaded.Problems.Count > 0)
            {
                Console.Error.WriteLine($"run: invalid configuration, {loaded.Problems.Count} problem(s):");
                foreach (string problem in loaded.Problems)
                {
                    Console.Error.WriteLine("  " + problem);
                }
                return 2;
            }
            if (result.GetValue(check))
            {
                foreach (ConfigSetting setting in AgentConfigSchema.All)
                {
                    string source = loaded.Sources.TryGetValue(setting.Key, out string? s) ? s : "default";
                    Console.WriteLine($"{setting.Key}: {setting.Show(loaded.Config)}    # {source}");
                }
                return 0;
            }
            return await RunAsync(loaded.Config, SystemdNotifier.FromEnvironment(), token);
        });
        return command;
    }

    /// <summary>Runs the agent until SIGTERM, SIGINT or <paramref name="token"/>; returns the exit code.</summary>
    internal static async Task<int> RunAsync(AgentConfig config, SystemdNotifier? notifier, CancellationToken token)
    {
        using ILoggerFactory logging = LoggerFactory.Create(b =>
        {
            // Under systemd (journal on stdout) use the syslog priority prefixes journald understands.
            if (Environment.GetEnvironmentVariable("JOURNAL_STREAM") is not null)
            {
                b.AddSystemdConsole();
            }
            else
            {
                b.AddSimpleConsole(o => o.SingleLine = true);
            }
            b.SetMinimumLevel(config.LogLevel);
        });
        using (notifier)
        {
            using var shutdown = new ShutdownSignal(token);
            var host = new AgentHost(config.ToSettings(), config.CreateBackend(), logging, config.ToConntrackOptions());
            host.Dataplane.RouterAdvertisementInterval = config.RouterAdvertisementInterval;
            await using var service = new AgentService(host, new AgentServiceOptions
            {
                MetricsEndpoint = config.MetricsListen,
                ControlSocketPath = config.ControlSocket,
                Notifier = notifier,
                WorkerStallTimeout = config.WorkerStallTimeout,
            }, logging);
            try
            {
                await service.StartAsync(token);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                Console.Error.WriteLine($"run: {e.Message}");
                return 1;
            }
            await shutdown.Task;
            await service.StopAsync();
            return 0;
        }
    }

    /// <summary>Completes on SIGTERM, SIGINT (Ctrl-C) or when the command's token is cancelled.</summary>
    internal static async Task WaitForShutdown(CancellationToken token)
    {
        using var shutdown = new ShutdownSignal(token);
        await shutdown.Task;
    }
}
