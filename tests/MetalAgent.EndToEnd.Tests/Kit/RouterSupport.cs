namespace MetalAgent.EndToEnd.Tests.Kit;

/// <summary>Whether this build of metalagent has the <c>router</c> verb (the userspace underlay router
/// that carries traffic between the underlay and the internet namespace).</summary>
internal static class RouterSupport
{
    public const string MissingReason = "metalagent has no 'router' verb yet: the internet path (VirtualIP, NAT gateway, NAT64, public load balancer) needs the userspace underlay router";

    // "metalagent router --help" without a router verb prints the root help and succeeds too: look for the verb's own usage line.
    private static readonly Lazy<bool> s_available = new(() =>
        Command.TryRunAsync("dotnet", [ServiceProcess.AgentDll, "router", "--help"], TimeSpan.FromSeconds(30)).GetAwaiter().GetResult()
            is { Ok: true, Stdout: var help } && help.Contains("metalagent router [options]", StringComparison.Ordinal));

    public static bool Available => s_available.Value;
}
