using System.Diagnostics;
using System.Security.Cryptography;
using MetalAgent.Backends.Linux;

namespace MetalAgent.Agent.Tests.Router;

/// <summary>
/// Network namespaces for one root test, named "mat-PID-RANDOM" like the backend tests' (so either
/// sweeps the other's leftovers): created on demand, all deleted on dispose, also after a failure.
/// Deleting a namespace deletes the devices in it. Nothing outside these namespaces is touched.
/// </summary>
internal sealed class RouterNamespaces : IDisposable
{
    private const string Prefix = "mat-";
    private static readonly Lazy<bool> s_swept = new(SweepStale);
    private readonly List<string> _names = [];

    /// <summary>A new namespace; with <paramref name="ipv6"/> false the kernel in it sends no IPv6 of its own.</summary>
    public string Create(bool ipv6)
    {
        _ = s_swept.Value;
        string name = $"{Prefix}{Environment.ProcessId}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";
        Ip("netns", "add", name);
        _names.Add(name);
        NetworkNamespace.Run(name, () =>
        {
            string value = ipv6 ? "0" : "1";
            File.WriteAllText("/proc/sys/net/ipv6/conf/all/disable_ipv6", value);
            File.WriteAllText("/proc/sys/net/ipv6/conf/default/disable_ipv6", value);
        });
        Ip("-n", name, "link", "set", "lo", "up");
        return name;
    }

    /// <summary>A veth pair with one end in each namespace, both up; returns the two device names.</summary>
    public static (string A, string B) Link(string nsA, string nsB)
    {
        string stem = "mat" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
        string a = stem + "a", b = stem + "b";
        Ip("-n", nsA, "link", "add", a, "type", "veth", "peer", "name", b, "netns", nsB);
        Ip("-n", nsA, "link", "set", a, "up");
        Ip("-n", nsB, "link", "set", b, "up");
        return (a, b);
    }

    public void Dispose()
    {
        foreach (string name in _names)
        {
            try
            {
                Ip("netns", "del", name);
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }
        }
    }

    /// <summary>Runs iproute2 and throws with its stderr when it fails.</summary>
    public static string Ip(params string[] args) => Run("ip", args);

    /// <summary>Runs a program to completion; throws with its output when it fails.</summary>
    public static string Run(string program, params string[] args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using Process p = Process.Start(psi)!;
        Task<string> output = p.StandardOutput.ReadToEndAsync();
        string error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', args)}: exit {p.ExitCode}: {error.Trim()} {output.Result.Trim()}");
        }
        return output.Result;
    }

    private static bool SweepStale()
    {
        if (!Directory.Exists(NetworkNamespace.NamedDirectory))
        {
            return true;
        }
        foreach (string path in Directory.GetFiles(NetworkNamespace.NamedDirectory, Prefix + "*"))
        {
            string name = Path.GetFileName(path);
            string[] parts = name.Split('-');
            if (parts.Length == 3 && int.TryParse(parts[1], out int pid) && pid != Environment.ProcessId && !Directory.Exists($"/proc/{pid}"))
            {
                try
                {
                    Ip("netns", "del", name);
                }
                catch (InvalidOperationException)
                {
                    // Another test process swept it first.
                }
            }
        }
        return true;
    }
}
