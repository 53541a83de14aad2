using System.Collections.Concurrent;

namespace MetalAgent.EndToEnd.Tests.Kit;

/// <summary>What this build of metalagent can do, from the help of its verbs (asked once per verb).</summary>
internal static class Support
{
    public const string RouterMissingReason = "metalagent has no 'router' verb yet: the internet path (VirtualIP, NAT gateway, NAT64, public load balancer) needs the userspace underlay router";

    private static readonly ConcurrentDictionary<string, string> s_help = new(StringComparer.Ordinal);

    /// <summary>The userspace underlay router (<c>metalagent router</c>) exists.</summary>
    public static bool Router => Help("router").Contains("metalagent router [options]", StringComparison.Ordinal);

    /// <summary>Agents take client certificates (<c>run --cert</c>), so the control plane can serve TLS on a management network.</summary>
    public static bool Tls => Help("run").Contains("--cert", StringComparison.Ordinal);

    // "metalagent VERB --help" for an unknown verb prints the root help and succeeds too: callers look for the verb's own text.
    private static string Help(string verb) => s_help.GetOrAdd(verb, v =>
        Command.TryRunAsync("dotnet", [ServiceProcess.AgentDll, v, "--help"], TimeSpan.FromSeconds(30)).GetAwaiter().GetResult().Stdout);
}
