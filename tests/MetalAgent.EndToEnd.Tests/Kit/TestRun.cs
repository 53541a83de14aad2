using System.Diagnostics;
using System.Globalization;
using MetalAgent.Backends.Linux;

namespace MetalAgent.EndToEnd.Tests.Kit;

/// <summary>
/// Everything one test run creates outside its own process, under one name prefix "mae-PID{tag}-":
/// network namespaces (devices live only inside them), their /etc/netns directories, the processes it
/// started and a scratch directory under /tmp. <see cref="Dispose"/> removes all of it, also after a
/// failure; <see cref="SweepStale"/> removes what runs of processes that no longer exist left behind.
/// Nothing without the "mae-" prefix is ever touched.
/// </summary>
internal sealed class TestRun : IDisposable
{
    public const string Prefix = "mae-";
    public const string EtcNetns = "/etc/netns";

    private readonly List<string> _namespaces = [];
    private readonly List<Process> _processes = [];
    private readonly Lock _lock = new();
    private bool _disposed;

    /// <param name="tag">A lowercase letter that keeps runs of the same process apart (t = topology).</param>
    public TestRun(char tag)
    {
        Id = string.Create(CultureInfo.InvariantCulture, $"{Prefix}{Environment.ProcessId}{tag}");
        Directory = Path.Combine(Path.GetTempPath(), Id);
        System.IO.Directory.CreateDirectory(Directory);
    }

    /// <summary>The prefix of every name this run creates ("mae-1234t").</summary>
    public string Id { get; }

    /// <summary>Scratch directory: configuration, manifests, state directories, logs.</summary>
    public string Directory { get; }

    public IReadOnlyList<string> Namespaces
    {
        get
        {
            lock (_lock)
            {
                return [.. _namespaces];
            }
        }
    }

    /// <summary>The namespace name for a role ("mae-1234t-host-a").</summary>
    public string NamespaceName(string role) => $"{Id}-{role}";

    /// <summary>Creates the namespace "ID-role" with loopback up and, when <paramref name="ipv6"/> is false,
    /// IPv6 off for every device created in it (so the kernel sends nothing of its own there).</summary>
    public string AddNamespace(string role, bool ipv6)
    {
        string name = NamespaceName(role);
        lock (_lock)
        {
            _namespaces.Add(name);
        }
        Command.Run("ip", "netns", "add", name);
        Command.Run("ip", "-n", name, "link", "set", "lo", "up");
        NetworkNamespace.Run(name, () =>
        {
            if (!ipv6)
            {
                File.WriteAllText("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");
                File.WriteAllText("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
            }
            else
            {
                // Addresses are usable at once: nothing else is on these links, duplicate detection only delays.
                File.WriteAllText("/proc/sys/net/ipv6/conf/all/accept_dad", "0");
                File.WriteAllText("/proc/sys/net/ipv6/conf/default/accept_dad", "0");
            }
        });
        return name;
    }

    /// <summary>Creates /etc/netns/NAME/resolv.conf (empty), which `ip netns exec` mounts over /etc/resolv.conf,
    /// so a DHCP client in the namespace never writes the machine's own. Returns the file's path.</summary>
    public static string AddResolvConf(string ns)
    {
        string dir = Path.Combine(EtcNetns, ns);
        System.IO.Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, "resolv.conf");
        File.WriteAllText(path, string.Empty);
        return path;
    }

    /// <summary>Owns a started process: <see cref="Dispose"/> kills it if it still runs.</summary>
    public void Track(Process process)
    {
        lock (_lock)
        {
            _processes.Add(process);
        }
    }

    /// <summary>Kills every tracked process and every process inside this run's namespaces, deletes the
    /// namespaces (and with them every device in them), their /etc/netns directories and the scratch directory.</summary>
    public void Dispose()
    {
        List<Process> processes;
        List<string> namespaces;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            processes = [.. _processes];
            namespaces = [.. _namespaces];
        }
        foreach (Process p in processes)
        {
            try
            {
                if (!p.HasExited)
                {
                    p.Kill(entireProcessTree: true);
                    p.WaitForExit(5000);
                }
            }
            catch (InvalidOperationException)
            {
                // Never started or already reaped.
            }
            p.Dispose();
        }
        foreach (string ns in namespaces)
        {
            RemoveNamespace(ns);
        }
        // Anything of this run that was not registered (a namespace created just before a failure).
        RemoveMatching(Id + "-");
        DeleteDirectory(Directory);
    }

    /// <summary>What of this run still exists: namespaces, /etc/netns directories, links in the test
    /// process's namespace, tracked processes still running, the scratch directory. Empty after Dispose.</summary>
    public List<string> Leftovers()
    {
        var left = new List<string>();
        string stem = Id + "-";
        foreach (string path in Matching(NetworkNamespace.NamedDirectory, stem))
        {
            left.Add("namespace " + Path.GetFileName(path));
        }
        foreach (string path in Matching(EtcNetns, stem))
        {
            left.Add("directory " + path);
        }
        foreach (string link in Command.Run("ip", "-o", "link", "show").Split('\n'))
        {
            if (link.Contains(Id, StringComparison.Ordinal))
            {
                left.Add("link " + link.Trim());
            }
        }
        lock (_lock)
        {
            foreach (Process p in _processes)
            {
                try
                {
                    if (!p.HasExited)
                    {
                        left.Add($"process {p.Id}");
                    }
                }
                catch (InvalidOperationException)
                {
                }
            }
        }
        if (System.IO.Directory.Exists(Directory))
        {
            left.Add("directory " + Directory);
        }
        return left;
    }

    /// <summary>Removes what runs of processes that no longer exist left behind ("mae-PID..." with PID dead):
    /// the processes in their namespaces, the namespaces, /etc/netns directories, scratch directories.</summary>
    public static List<string> SweepStale()
    {
        var removed = new List<string>();
        foreach (string path in Matching(NetworkNamespace.NamedDirectory, Prefix))
        {
            string name = Path.GetFileName(path);
            if (IsStale(name))
            {
                RemoveNamespace(name);
                removed.Add("namespace " + name);
            }
        }
        foreach (string path in Matching(EtcNetns, Prefix))
        {
            if (IsStale(Path.GetFileName(path)))
            {
                DeleteDirectory(path);
                removed.Add("directory " + path);
            }
        }
        foreach (string path in Matching(Path.GetTempPath(), Prefix))
        {
            if (IsStale(Path.GetFileName(path)))
            {
                DeleteDirectory(path);
                removed.Add("directory " + path);
            }
        }
        return removed;
    }

    /// <summary>"mae-1234t-host-a" belongs to a dead run when process 1234 does not exist.</summary>
    internal static bool IsStale(string name)
    {
        if (!name.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }
        int end = Prefix.Length;
        while (end < name.Length && char.IsAsciiDigit(name[end]))
        {
            end++;
        }
        return end > Prefix.Length
            && int.TryParse(name.AsSpan(Prefix.Length, end - Prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out int pid)
            && pid != Environment.ProcessId
            && !System.IO.Directory.Exists($"/proc/{pid}");
    }

    private static void RemoveMatching(string stem)
    {
        foreach (string path in Matching(NetworkNamespace.NamedDirectory, stem))
        {
            RemoveNamespace(Path.GetFileName(path));
        }
        foreach (string path in Matching(EtcNetns, stem))
        {
            DeleteDirectory(path);
        }
    }

    /// <summary>Kills the processes inside the namespace (only ever ours: DHCP clients, agents), deletes it and its /etc/netns directory.</summary>
    private static void RemoveNamespace(string name)
    {
        if (File.Exists(Path.Combine(NetworkNamespace.NamedDirectory, name)))
        {
            CommandResult pids = Command.TryRun("ip", "netns", "pids", name);
            foreach (string line in pids.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (int.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out int pid) && pid != Environment.ProcessId)
                {
                    Kill(pid);
                }
            }
            _ = Command.TryRun("ip", "netns", "del", name);
        }
        DeleteDirectory(Path.Combine(EtcNetns, name));
    }

    /// <summary>SIGKILL, then wait (briefly) until it is gone or a zombie: an orphan's new parent may never reap it.</summary>
    private static void Kill(int pid)
    {
        _ = Tmds.Linux.LibC.kill(pid, Tmds.Linux.LibC.SIGKILL);
        var clock = Stopwatch.StartNew();
        while (IsAlive(pid) && clock.ElapsedMilliseconds < 2000)
        {
            Thread.Sleep(10);
        }
    }

    /// <summary>True while the process exists and is not a zombie.</summary>
    internal static bool IsAlive(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..][0] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static IEnumerable<string> Matching(string directory, string stem) =>
        System.IO.Directory.Exists(directory)
            ? System.IO.Directory.EnumerateFileSystemEntries(directory, stem + "*").Order(StringComparer.Ordinal).ToList()
            : [];

    private static void DeleteDirectory(string path)
    {
        try
        {
            if (System.IO.Directory.Exists(path))
            {
                System.IO.Directory.Delete(path, recursive: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Reported by Leftovers.
        }
    }
}
