using System.Net;
using MetalAgent.Agent.Configuration;
using MetalAgent.Tests.Shared;
using Microsoft.Extensions.Logging;

namespace MetalAgent.Agent.Tests;

/// <summary>The agent's configuration file, command-line overrides, and the complete list of problems.</summary>
public sealed class AgentConfigTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "metalagent-config-" + Guid.NewGuid().ToString("N")[..12]);

    public AgentConfigTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string yaml)
    {
        string path = Path.Combine(_dir, "agent.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    private static (ConfigSetting, IReadOnlyList<string>) Cli(string key, params string[] values) => (AgentConfigSchema.Find(key)!, values);

    [Fact]
    public void An_https_server_without_tls_material_is_listed()
    {
        string path = Write("""
            host: host-a
            underlayPrefix: fc00:1:a::/64
            server: https://cp.example:7443
            """);
        AgentConfigResult result = AgentConfigLoader.Load(path, pathExplicit: true, []);
        Assert.Equal(3, result.Problems.Count(p => p.Contains("https needs", StringComparison.Ordinal)));
    }

    [Fact]
    public void Every_setting_is_read_from_the_file()
    {
        using var ca = new TestCertificateAuthority("config-ca", _dir);
        (string cert, string key) = ca.IssueClient("host", "host-a");
        string path = Write($$"""
            host: host-a
            underlayPrefix: fc00:1:a::/64
            server: https://cp.example:7443
            ca: {{ca.CertificatePath}}
            cert: {{cert}}
            key: {{key}}
            stateDir: /var/lib/metalagent-test
            backend: linux
            portBindings:
              web-1: tap-web-1
              db-1: eth7
            uplink: eth1
            uplinkGateway: fe80::1
            uplinkGatewayMac: 02:00:00:00:ff:01
            workers: 4
            flowCapacity: 65536
            maxFlowsPerInterface: 1000
            routerAdvertisementInterval: 0
            metricsListen: "[::1]:9500"
            controlSocket: /run/ma/agent.sock
            logLevel: debug
            workerStallTimeout: 1500ms
            reconnectMin: 1s
            reconnectMax: 2m
            keepAlivePingDelay: 10s
            keepAlivePingTimeout: 3s
            macPersistInterval: 1h
            """);
        AgentConfigResult result = AgentConfigLoader.Load(path, pathExplicit: true, []);
        Assert.Empty(result.Problems);
        AgentConfig c = result.Config;
        Assert.Equal(("host-a", "fc00:1:a::/64", "https://cp.example:7443/", "/var/lib/metalagent-test", "linux"), (c.Host, c.UnderlayPrefix, c.Server!.ToString(), c.StateDirectory, c.Backend));
        Assert.Equal((ca.CertificatePath, cert, key), (c.ServerCa, c.ClientCertificate, c.ClientKey));
        Assert.Equal(["db-1=eth7", "web-1=tap-web-1"], c.PortBindings.Select(e => $"{e.Key}={e.Value}"));
        Assert.Equal(("eth1", "fe80::1", "02:00:00:00:ff:01"), (c.Uplink, c.UplinkGateway, c.UplinkGatewayMac));
        Assert.Equal((4, 65536, 1000, 0), (c.Workers, c.FlowCapacity, c.MaxFlowsPerInterface, c.RouterAdvertisementInterval));
        Assert.Equal(IPEndPoint.Parse("[::1]:9500"), c.MetricsListen);
        Assert.Equal(("/run/ma/agent.sock", LogLevel.Debug), (c.ControlSocket, c.LogLevel));
        Assert.Equal(
            [TimeSpan.FromMilliseconds(1500), TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(2), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(3), TimeSpan.FromHours(1)],
            [c.WorkerStallTimeout, c.ReconnectMin, c.ReconnectMax, c.KeepAlivePingDelay, c.KeepAlivePingTimeout, c.MacPersistInterval]);
        Assert.All(AgentConfigSchema.All, s => Assert.Equal(path, result.Sources[s.Key]));

        Sync.AgentSettings settings = c.ToSettings();
        Assert.Equal(("host-a", 4, "fe80::1"), (settings.HostName, settings.Workers, settings.Uplinks.Single().GatewayAddress));
        Assert.Equal(65536, c.ToConntrackOptions().Capacity);
    }

    [Fact]
    public void Defaults_apply_when_the_file_is_minimal_and_a_missing_default_file_is_no_problem()
    {
        AgentConfigResult result = AgentConfigLoader.Load(Path.Combine(_dir, "absent.yaml"), pathExplicit: false, [Cli("host", "host-b"), Cli("underlayPrefix", "fc00:1:b::/64")]);
        Assert.Empty(result.Problems);
        AgentConfig c = result.Config;
        Assert.Equal(("memory", 1, AgentConfig.DefaultStateDirectory, AgentConfig.DefaultControlSocket), (c.Backend, c.Workers, c.StateDirectory, c.ControlSocket));
        Assert.Equal(IPEndPoint.Parse(AgentConfig.DefaultMetricsListen), c.MetricsListen);
        Assert.Null(c.Server);
        Assert.Equal("command line", result.Sources["host"]);

        AgentConfigResult explicitMissing = AgentConfigLoader.Load(Path.Combine(_dir, "absent.yaml"), pathExplicit: true, [Cli("host", "host-b"), Cli("underlayPrefix", "fc00:1:b::/64")]);
        Assert.Equal([$"{Path.Combine(_dir, "absent.yaml")}: file not found"], explicitMissing.Problems);
    }

    [Fact]
    public void Command_line_options_override_the_file_and_add_port_bindings()
    {
        string path = Write("""
            host: host-a
            underlayPrefix: fc00:1:a::/64
            workers: 2
            metricsListen: 127.0.0.1:9464
            portBindings:
              web-1: tap-a
              db-1: tap-b
            """);
        AgentConfigResult result = AgentConfigLoader.Load(path, pathExplicit: true,
            [Cli("workers", "8"), Cli("metricsListen", "off"), Cli("controlSocket", "off"), Cli("portBindings", "web-1=tap-z", "batch-1=tap-c")]);
        Assert.Empty(result.Problems);
        Assert.Equal(8, result.Config.Workers);
        Assert.Null(result.Config.MetricsListen);
        Assert.Null(result.Config.ControlSocket);
        Assert.Equal(["batch-1=tap-c", "db-1=tap-b", "web-1=tap-z"], result.Config.PortBindings.Select(e => $"{e.Key}={e.Value}"));
        Assert.Equal("command line", result.Sources["workers"]);
        Assert.Equal(path + " + command line", result.Sources["portBindings"]);
        Assert.Equal(path, result.Sources["host"]);
    }

    [Fact]
    public void Every_problem_is_listed_with_its_setting()
    {
        string path = Write("""
            hots: host-a
            underlayPrefix: fc00:1:a::/48
            server: ftp://cp
            backend: dpdk
            workers: lots
            flowCapacity: 10
            metricsListen: localhost
            controlSocket: relative.sock
            workerStallTimeout: 5
            reconnectMin: 20s
            reconnectMax: 1s
            uplinkGatewayMac: 02:00:00:00:ff
            portBindings:
              web-1: this-name-is-far-too-long
            logLevel: [debug]
            """);
        AgentConfigResult result = AgentConfigLoader.Load(path, pathExplicit: true, [Cli("uplinkGateway", "10.0.0.1")]);
        string[] expectedPrefixes =
        [
            "hots: unknown setting (did you mean host?) (agent.yaml line 1)",
            "underlayPrefix: must be a /64",
            "server: must be an absolute http:// or https:// URL",
            "backend: must be one of memory, linux",
            "workers: must be an integer from 1 to 256",
            "flowCapacity: must be an integer from 1024",
            "metricsListen: must be address:port",
            "controlSocket: must be an absolute path or off",
            "workerStallTimeout: must be a duration",
            "uplinkGatewayMac: must be a MAC address",
            "portBindings.web-1: must be a network device name",
            "logLevel: must be a single value, not a list",
            "--uplink-gateway: must be an IPv6 address",
            "host: required (set host in " + path + " or pass --host)",
            "reconnectMin: must not exceed reconnectMax (1s)",
        ];
        foreach (string expected in expectedPrefixes)
        {
            Assert.Contains(result.Problems, p => p.StartsWith(expected, StringComparison.Ordinal));
        }
        Assert.Equal(expectedPrefixes.Length, result.Problems.Count);
    }

    [Fact]
    public void Settings_that_need_each_other_and_yaml_errors_are_problems()
    {
        AgentConfigResult linux = AgentConfigLoader.Load(null, false, [Cli("host", "a"), Cli("underlayPrefix", "fc00::/64"), Cli("backend", "linux"), Cli("uplinkGatewayMac", "02:00:00:00:00:01")]);
        Assert.Equal(
            ["uplink: required by backend linux (the underlay device, for example eth1)", "uplinkGatewayMac: needs uplinkGateway (the MAC pins that next hop)"],
            linux.Problems);

        string path = Write("host: [unclosed\n");
        AgentConfigResult broken = AgentConfigLoader.Load(path, true, [Cli("underlayPrefix", "fc00::/64")]);
        Assert.StartsWith($"{path}: YAML syntax error at line", broken.Problems[0], StringComparison.Ordinal);

        AgentConfigResult list = AgentConfigLoader.Load(Write("- host: a\n"), true, []);
        Assert.Contains(list.Problems, p => p.EndsWith("the configuration must be a mapping of settings (key: value)", StringComparison.Ordinal));
    }

    [Fact]
    public void Empty_values_leave_defaults_and_durations_round_trip()
    {
        AgentConfigResult result = AgentConfigLoader.Load(Write("host: a\nunderlayPrefix: fc00::/64\nserver:\nworkers: ~\n"), true, []);
        Assert.Empty(result.Problems);
        Assert.Null(result.Config.Server);
        Assert.Equal(1, result.Config.Workers);

        // A relative path in the file is relative to the file, on the command line to the working directory.
        AgentConfigResult relative = AgentConfigLoader.Load(Write("host: a\nunderlayPrefix: fc00::/64\nstateDir: state\n"), true, []);
        Assert.Equal(Path.Combine(_dir, "state"), relative.Config.StateDirectory);
        AgentConfigResult fromCli = AgentConfigLoader.Load(null, false, [Cli("host", "a"), Cli("underlayPrefix", "fc00::/64"), Cli("stateDir", "st")]);
        Assert.Equal(Path.GetFullPath("st"), fromCli.Config.StateDirectory);
        foreach (string text in (string[])["250ms", "5s", "2m", "1h", "1.5s"])
        {
            Assert.True(ConfigSetting.TryParseDuration(text, out TimeSpan value));
            Assert.True(ConfigSetting.TryParseDuration(ConfigSetting.FormatDuration(value), out TimeSpan again));
            Assert.Equal(value, again);
        }
        Assert.False(ConfigSetting.TryParseDuration("5", out _));
        Assert.False(ConfigSetting.TryParseDuration("-1s", out _));
    }

    [Fact]
    public void Every_setting_has_a_command_line_option_and_is_documented()
    {
        string docs = File.ReadAllText(Path.Combine(RepositoryRoot(), "docs", "CONFIGURATION.md"));
        Assert.Equal(AgentConfigSchema.All.Count, AgentConfigSchema.All.Select(s => s.OptionName).Distinct().Count());
        foreach (ConfigSetting setting in AgentConfigSchema.All)
        {
            Assert.Contains($"`{setting.Key}`", docs, StringComparison.Ordinal);
            Assert.Contains($"`{setting.OptionName}", docs, StringComparison.Ordinal);
        }
        System.CommandLine.Command run = Commands.RunCommand.Create();
        foreach (ConfigSetting setting in AgentConfigSchema.All)
        {
            Assert.Contains(run.Options, o => o.Name == setting.OptionName);
        }
    }

    [Fact]
    public void The_example_configurations_shipped_with_the_units_are_valid()
    {
        string systemd = Path.Combine(RepositoryRoot(), "systemd");
        AgentConfigResult agent = AgentConfigLoader.Load(Path.Combine(systemd, "agent.yaml"), pathExplicit: true, []);
        Assert.Empty(agent.Problems);
        Assert.Equal(("host-a", "linux", "eth1"), (agent.Config.Host, agent.Config.Backend, agent.Config.Uplink));
        var controlPlane = ControlPlane.Configuration.ControlPlaneConfig.Parse(File.ReadAllText(Path.Combine(systemd, "controlplane.yaml")), systemd);
        Assert.Equal(2, controlPlane.Hosts.Count);
        string unit = File.ReadAllText(Path.Combine(systemd, "metalagent.service"));
        Assert.Contains("ExecStart=/usr/lib/metalagent/metalagent run --config /etc/metalagent/agent.yaml", unit, StringComparison.Ordinal);
        Assert.DoesNotContain("\nMemoryDenyWriteExecute=", unit, StringComparison.Ordinal);
    }

    internal static string RepositoryRoot()
    {
        for (string? dir = AppContext.BaseDirectory; dir is not null; dir = Path.GetDirectoryName(dir))
        {
            if (File.Exists(Path.Combine(dir, "MetalAgent.sln")))
            {
                return dir;
            }
        }
        throw new InvalidOperationException("repository root not found above " + AppContext.BaseDirectory);
    }
}
