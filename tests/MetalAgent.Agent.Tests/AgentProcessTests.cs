using System.Diagnostics;
using System.Net.Sockets;
using MetalAgent.Agent.Local;
using MetalAgent.Agent.Local.V1;
using MetalAgent.Model.StateFiles;

namespace MetalAgent.Agent.Tests;

/// <summary>The real executable: <c>metalagent run --config FILE</c> under a fake service manager, stopped with SIGTERM.</summary>
public sealed class AgentProcessTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "metalagent-proc-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly Socket _notify = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);

    public AgentProcessTests()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "state"));
        _notify.Bind(new UnixDomainSocketEndPoint(Path.Combine(_dir, "notify")));
    }

    public void Dispose()
    {
        _notify.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private List<string> ReceiveUntil(string assignment, Process process)
    {
        var seen = new List<string>();
        DateTime deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline && !process.HasExited)
        {
            string? message = SystemdNotifyTests.Receive(_notify, TimeSpan.FromMilliseconds(200));
            if (message is not null)
            {
                seen.Add(message);
                if (message.Split('\n').Contains(assignment))
                {
                    return seen;
                }
            }
        }
        Assert.Fail($"no {assignment} (exited: {process.HasExited}); got: {string.Join(" | ", seen)}; output: {process.StandardOutput.ReadToEnd()} {process.StandardError.ReadToEnd()}");
        return seen;
    }

    [Fact]
    public async Task Run_reads_its_config_notifies_READY_and_WATCHDOG_answers_status_and_stops_cleanly_on_SIGTERM()
    {
        HostStateFile.Save(Path.Combine(_dir, "state", "hostspec.json"), OpsAgent.HostA());
        string socket = Path.Combine(_dir, "run", "agent.sock");
        string config = Path.Combine(_dir, "agent.yaml");
        File.WriteAllText(config, $"""
            host: host-a
            underlayPrefix: fc00:1:a::/64
            stateDir: {Path.Combine(_dir, "state")}
            metricsListen: "off"
            controlSocket: {socket}
            flowCapacity: 16384
            logLevel: warning
            """);
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in (string[])[Path.Combine(AppContext.BaseDirectory, "metalagent.dll"), "run", "--config", config, "--workers", "2"])
        {
            start.ArgumentList.Add(arg);
        }
        start.Environment["NOTIFY_SOCKET"] = Path.Combine(_dir, "notify");
        start.Environment["WATCHDOG_USEC"] = "1000000";
        start.Environment.Remove("WATCHDOG_PID");
        using Process process = Process.Start(start)!;
        try
        {
            ReceiveUntil("READY=1", process);
            ReceiveUntil("WATCHDOG=1", process);
            ReceiveUntil("WATCHDOG=1", process);

            using (var client = new LocalControlClient(socket))
            {
                StatusReply status = await client.Agent.GetStatusAsync(new StatusRequest());
                Assert.Equal(("host-a", true, 2), (status.HostName, status.Ready, status.Workers.Count));
            }

            using (Process kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }
            ReceiveUntil("STOPPING=1", process);
            using var exit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await process.WaitForExitAsync(exit.Token);
            Assert.Equal(0, process.ExitCode);
            Assert.False(File.Exists(socket));
            Assert.True(File.Exists(Path.Combine(_dir, "state", "vm-macs.json")));
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }
        }
    }
}
