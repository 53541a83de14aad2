namespace MetalAgent.EndToEnd.Tests;

/// <summary>An end-to-end fact: skipped (with the reason) where the topology cannot be built — not root,
/// or a tool it needs (iproute2, busybox udhcpc, dhclient, ping, unshare, ethtool) missing.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class E2EFactAttribute : FactAttribute
{
    private static readonly Lazy<string?> s_missing = new(FindMissing);

    public E2EFactAttribute()
    {
        if (s_missing.Value is { } reason)
        {
            Skip = reason;
        }
    }

    /// <summary>Why the topology cannot be built here, or null.</summary>
    public static string? MissingReason => s_missing.Value;

    /// <summary>True when the topology can be built here.</summary>
    public static bool CanRun => s_missing.Value is null;

    private static string? FindMissing()
    {
        if (!OperatingSystem.IsLinux() || !Environment.IsPrivilegedProcess)
        {
            return "needs root on Linux: builds network namespaces, veth pairs and TAP devices";
        }
        foreach (string tool in (string[])["ip", "busybox", "dhclient", "ping", "unshare", "ethtool"])
        {
            if (!Environment.GetEnvironmentVariable("PATH")!.Split(':').Any(d => File.Exists(Path.Combine(d, tool))))
            {
                return $"needs '{tool}' (scripts/setup.sh installs it)";
            }
        }
        return null;
    }
}

/// <summary>The theory counterpart of <see cref="E2EFactAttribute"/>.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class E2ETheoryAttribute : TheoryAttribute
{
    public E2ETheoryAttribute()
    {
        if (!E2EFactAttribute.CanRun)
        {
            Skip = E2EFactAttribute.MissingReason;
        }
    }
}
