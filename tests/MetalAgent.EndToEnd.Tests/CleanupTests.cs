using System.Diagnostics;
using System.Globalization;
using MetalAgent.Backends.Linux;
using MetalAgent.EndToEnd.Tests.Kit;

namespace MetalAgent.EndToEnd.Tests;

/// <summary>What the topology creates is removed when a run ends, also when it fails, and what a run that
/// died left behind is removed by the next one. (The topology fixture itself also fails the run when its
/// own teardown leaves anything.)</summary>
[Collection(TopologyCollection.Name)]
public sealed class CleanupTests
{
    [E2EFact]
    public void A_failed_run_leaves_no_namespace_link_process_or_directory()
    {
        var run = new TestRun('c');
        string a = string.Empty, b = string.Empty;
        int daemon = 0;
        int tracked = 0;
        try
        {
            a = run.AddNamespace("a", ipv6: false);
            b = run.AddNamespace("b", ipv6: true);
            TestRun.AddResolvConf(b);
            Command.Run("ip", "-n", a, "link", "add", "vx", "type", "veth", "peer", "name", "vy", "netns", b);
            Command.Run("ip", "-n", b, "tuntap", "add", "mode", "tap", "name", "tx");
            // A process the run started and a daemon that detached from it (as dhclient does) inside a namespace.
            Process started = Process.Start(new ProcessStartInfo("ip", ["netns", "exec", a, "sleep", "300"]))!;
            run.Track(started);
            tracked = started.Id;
            string pid = Command.Run("ip", "netns", "exec", b, "sh", "-c", "setsid sleep 300 >/dev/null 2>&1 & echo $!");
            daemon = int.Parse(pid.Trim(), CultureInfo.InvariantCulture);
            Assert.True(IsAlive(daemon));
            throw new InvalidOperationException("the run fails half way");
        }
        catch (InvalidOperationException)
        {
        }
        finally
        {
            run.Dispose();
        }
        Assert.Empty(run.Leftovers());
        Assert.False(File.Exists(Path.Combine(NetworkNamespace.NamedDirectory, a)));
        Assert.False(File.Exists(Path.Combine(NetworkNamespace.NamedDirectory, b)));
        Assert.False(Directory.Exists(Path.Combine(TestRun.EtcNetns, b)));
        Assert.False(IsAlive(tracked), $"process {tracked} still runs");
        Assert.False(IsAlive(daemon), $"daemon {daemon} still runs");
        Assert.False(Directory.Exists(run.Directory));
    }

    [E2EFact]
    public void Leftovers_of_a_dead_run_are_swept_and_live_runs_are_not_touched()
    {
        // A process id that no longer exists (the kernel hands out ids in increasing order, so it is not reused at once).
        using Process gone = Process.Start(new ProcessStartInfo("true"))!;
        gone.WaitForExit();
        string dead = $"{TestRun.Prefix}{gone.Id}t";
        string deadNs = dead + "-guest";
        var live = new TestRun('s');
        int orphan = 0;
        try
        {
            Command.Run("ip", "netns", "add", deadNs);
            TestRun.AddResolvConf(deadNs);
            Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), dead));
            orphan = int.Parse(Command.Run("ip", "netns", "exec", deadNs, "sh", "-c", "setsid sleep 300 >/dev/null 2>&1 & echo $!").Trim(), CultureInfo.InvariantCulture);
            string liveNs = live.AddNamespace("x", ipv6: false);

            List<string> swept = TestRun.SweepStale();

            Assert.Contains("namespace " + deadNs, swept);
            Assert.False(File.Exists(Path.Combine(NetworkNamespace.NamedDirectory, deadNs)));
            Assert.False(Directory.Exists(Path.Combine(TestRun.EtcNetns, deadNs)));
            Assert.False(Directory.Exists(Path.Combine(Path.GetTempPath(), dead)));
            Assert.False(IsAlive(orphan), $"orphan {orphan} still runs");
            Assert.True(File.Exists(Path.Combine(NetworkNamespace.NamedDirectory, liveNs)));
            Assert.True(Directory.Exists(live.Directory));
        }
        finally
        {
            live.Dispose();
            if (File.Exists(Path.Combine(NetworkNamespace.NamedDirectory, deadNs)))
            {
                Command.TryRun("ip", "netns", "del", deadNs);
            }
        }
        Assert.Empty(live.Leftovers());
    }

    [E2EFact]
    public void Only_mae_names_of_dead_processes_count_as_stale()
    {
        Assert.False(TestRun.IsStale($"mae-{Environment.ProcessId}t-web-1"));
        Assert.False(TestRun.IsStale("mat-1-x"));
        Assert.False(TestRun.IsStale("mae-t-x"));
        Assert.False(TestRun.IsStale("mae-1t-x"));
        using Process gone = Process.Start(new ProcessStartInfo("true"))!;
        gone.WaitForExit();
        Assert.True(TestRun.IsStale($"mae-{gone.Id}t-web-1"));
    }

    private static bool IsAlive(int pid) => TestRun.IsAlive(pid);
}
