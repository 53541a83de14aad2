using MetalAgent.ControlPlane.Configuration;
using MetalAgent.ControlPlane.Manifests;

namespace MetalAgent.ControlPlane.Tests;

/// <summary>The quickstart manifests and the two-host test configuration.</summary>
internal static class TestData
{
    public const string ConfigYaml = """
        listen: 127.0.0.1:0
        routerUnderlayAddress: fc00:0:ff::1
        publicPools: [203.0.113.0/24, 2001:db8:ffff::/48]
        mtu: 1500
        dnsServers: [198.51.100.53]
        hosts:
        - name: host-a
          underlayPrefix: fc00:1:a::/64
        - name: host-b
          underlayPrefix: fc00:1:b::/64
        """;

    public static string DataDirectory => Path.Combine(AppContext.BaseDirectory, "Data");

    public static string QuickstartPath => Path.Combine(DataDirectory, "quickstart.yaml");

    public static string QuickstartYaml => File.ReadAllText(QuickstartPath);

    public static ControlPlaneConfig Config() => ControlPlaneConfig.Parse(ConfigYaml, DataDirectory);

    public static ManifestSet Quickstart() => ManifestSet.Load(QuickstartPath);

    /// <summary>A fresh temporary directory, removed by the caller.</summary>
    public static string TempDirectory()
    {
        string path = Path.Combine(Path.GetTempPath(), "metalagent-cp-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }
}
