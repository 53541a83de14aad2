using MetalAgent.Backends.Linux;
using MetalAgent.Tests.Shared;

namespace MetalAgent.Agent.Tests.Router;

/// <summary>
/// Network namespaces for one root test, named "mat-PID-RANDOM" like the backend tests' (so either
/// sweeps the other's leftovers): created on demand, all deleted on dispose, also after a failure.
/// Deleting a namespace deletes the devices in it. Nothing outside these namespaces is touched.
/// </summary>
internal sealed class RouterNamespaces : IDisposable
{
    private readonly List<string> _names = [];

    /// <summary>A new namespace; with <paramref name="ipv6"/> false the kernel in it sends no IPv6 of its own.</summary>
    public string Create(bool ipv6)
    {
        string name = TestNamespaceTool.NewName();
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
        string stem = "mat" + TestNamespaceTool.RandomSuffix();
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
    public static string Ip(params string[] args) => TestNamespaceTool.Ip(args);
}
