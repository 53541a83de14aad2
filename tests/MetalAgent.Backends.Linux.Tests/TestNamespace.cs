using MetalAgent.Tests.Shared;

namespace MetalAgent.Backends.Linux.Tests;

/// <summary>
/// A network namespace of its own for one test ("mat-PID-RANDOM"), with IPv6 off so the kernel
/// sends nothing on its own, and veth pairs inside it. Deleting the namespace deletes every device in
/// it (veth and TAP, persistent or not). Namespaces left by a test process that died are removed the
/// first time a new one is created; nothing outside namespaces named "mat-" is touched.
/// </summary>
internal sealed class TestNamespace : IDisposable
{
    private TestNamespace(string name) => Name = name;

    public string Name { get; }

    public static TestNamespace Create()
    {
        var ns = new TestNamespace(TestNamespaceTool.NewName());
        Ip("netns", "add", ns.Name);
        try
        {
            NetworkNamespace.Run(ns.Name, () =>
            {
                File.WriteAllText("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");
                File.WriteAllText("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
            });
        }
        catch
        {
            ns.Dispose();
            throw;
        }
        return ns;
    }

    /// <summary>A unique interface name "mat" + 8 hex + <paramref name="suffix"/> (at most 15 chars).</summary>
    public static string InterfaceName(string suffix = "") => "mat" + TestNamespaceTool.RandomSuffix() + suffix;

    /// <summary>Creates a veth pair inside the namespace, both ends up with the MTU; returns (port end, outside end).</summary>
    public (string Inside, string Outside) AddVethPair(int mtu = 9000)
    {
        string stem = InterfaceName();
        string a = stem + "a", b = stem + "b";
        Ip("-n", Name, "link", "add", a, "mtu", mtu.ToString(), "type", "veth", "peer", "name", b, "mtu", mtu.ToString());
        Ip("-n", Name, "link", "set", a, "up");
        Ip("-n", Name, "link", "set", b, "up");
        return (a, b);
    }

    /// <summary>Runs <c>ip -n NAME args</c>.</summary>
    public void IpIn(params string[] args) => Ip(["-n", Name, .. args]);

    public void Dispose() => Ip("netns", "del", Name);

    /// <summary>Runs iproute2 and throws with its stderr when it fails.</summary>
    public static string Ip(params string[] args) => TestNamespaceTool.Ip(args);
}
