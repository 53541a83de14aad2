using System.Diagnostics;
using System.Security.Cryptography;
using MetalAgent.Backends.Linux;

namespace MetalAgent.Tests.Shared;

/// <summary>
/// What the root tests that make network namespaces share (linked into each such test project): names
/// "mat-PID-RANDOM", so any test process sweeps the leftovers of a dead one and nothing outside
/// namespaces named "mat-" is touched, and running iproute2 with its errors in the exception.
/// </summary>
internal static class TestNamespaceTool
{
    public const string Prefix = "mat-";

    private static readonly Lazy<bool> s_swept = new(SweepStale);

    /// <summary>A fresh namespace name; the first call removes namespaces left by test processes that died.</summary>
    public static string NewName()
    {
        _ = s_swept.Value;
        return $"{Prefix}{Environment.ProcessId}-{RandomSuffix()}";
    }

    /// <summary>8 random hex digits (device and namespace names).</summary>
    public static string RandomSuffix() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));

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
            throw new InvalidOperationException($"{program} {string.Join(' ', args)}: exit {p.ExitCode}: {error.Trim()} {output.Result.Trim()}".Trim());
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
