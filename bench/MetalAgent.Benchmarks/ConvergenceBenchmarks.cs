using System.Diagnostics;
using System.Globalization;
using System.Text;
using BenchmarkDotNet.Attributes;
using MetalAgent.Agent.Sync;
using MetalAgent.ControlPlane.Allocation;
using MetalAgent.ControlPlane.Configuration;
using MetalAgent.ControlPlane.Server;
using MetalAgent.Model.V1;

namespace MetalAgent.Benchmarks;

/// <summary>
/// Manifest change to new snapshot live on the agent: the real control plane (plaintext loopback gRPC,
/// in-memory allocation store) and the real agent (in-memory port backend) in this process. One operation
/// replaces a manifest file (atomic rename, as an editor or a GitOps sync does) that moves one interface into
/// or out of a load balancer; it ends when the agent has published the new version. That covers the watcher,
/// re-reading and parsing every manifest, the engine, the delta, the stream, and on the agent the delta,
/// validation, incremental compile and publish. The watcher's debounce is set to zero here; the server's
/// default (<see cref="ControlPlaneHostOptions.ReloadDelay"/>, 100 ms) adds to it in production.
/// </summary>
[InvocationCount(1, unrollFactor: 1)]
public class ConvergenceBenchmarks
{
    private static readonly TimeSpan s_deadline = TimeSpan.FromSeconds(120);

    private string _dir = null!;
    private ControlPlaneHost _server = null!;
    private AgentHost _agent = null!;
    private bool _movedOut;

    /// <summary>Interfaces on the host (each with its Machine), all in one network behind one load balancer.</summary>
    [Params(1, 10_000)]
    public int Interfaces { get; set; }

    private string ManifestDirectory => Path.Combine(_dir, "manifests");

    [GlobalSetup]
    public void Setup()
    {
        _dir = Path.Combine(Path.GetTempPath(), "metalagent-convergence-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(ManifestDirectory);
        File.WriteAllText(Path.Combine(ManifestDirectory, "fleet.yaml"), Fleet(Interfaces));
        WriteChanging(movedOut: false);
        ControlPlaneConfig config = ControlPlaneConfig.Parse("""
            listen: 127.0.0.1:0
            routerUnderlayAddress: fc00:0:ff::1
            publicPools: [203.0.113.0/24]
            hosts:
            - name: host-a
              underlayPrefix: fc00:1:a::/64
            """, _dir);
        _server = ControlPlaneHost.StartAsync(config, ManifestDirectory, new ControlPlaneHostOptions
        {
            Store = new MemoryStateStore(),
            ReloadDelay = TimeSpan.Zero,
            RescanInterval = TimeSpan.FromSeconds(30),
        }).GetAwaiter().GetResult();
        _agent = new AgentHost(new AgentSettings
        {
            HostName = "host-a",
            UnderlayPrefix = "fc00:1:a::/64",
            Server = _server.Address,
            StateDirectory = Path.Combine(_dir, "agent"),
            Uplinks = [new UplinkSpec { Name = "uplink0", GatewayAddress = "fe80::1", GatewayMac = "02:00:00:00:ff:01" }],
            MacPersistInterval = TimeSpan.FromHours(1),
        }, new MemoryPortBackend());
        _agent.Start();
        WaitForAgent(_server.Current.Hosts["host-a"].Version);
        if (_agent.Applier.Spec!.Interfaces.Count != Interfaces)
        {
            throw new InvalidOperationException($"the agent holds {_agent.Applier.Spec.Interfaces.Count} interfaces, expected {Interfaces}");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _agent.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Directory.Delete(_dir, recursive: true);
    }

    [Benchmark(Description = "manifest change -> new snapshot live on the agent")]
    public ulong ManifestChangeToSnapshotLive()
    {
        ulong before = _agent.Applier.Version;
        _movedOut = !_movedOut;
        WriteChanging(_movedOut);
        return WaitForAgentAbove(before);
    }

    /// <summary>The network, the load balancer, and interfaces 1..n-1 with their Machines (interface 0 lives
    /// in the file that changes).</summary>
    private static string Fleet(int interfaces)
    {
        var yaml = new StringBuilder("""
            apiVersion: networking.ironcore.dev/v1alpha1
            kind: Network
            metadata: {namespace: default, name: bench}
            ---
            apiVersion: networking.ironcore.dev/v1alpha1
            kind: LoadBalancer
            metadata: {namespace: default, name: web}
            spec:
              type: Public
              ipFamilies: [IPv4]
              networkRef: {name: bench}
              networkInterfaceSelector: {matchLabels: {app: web}}
              ports:
              - port: 80

            """);
        for (int i = 1; i < interfaces; i++)
        {
            yaml.Append("---\n").Append(Interface(i, "web"));
        }
        return yaml.ToString();
    }

    private static string Interface(int i, string app) => string.Create(CultureInfo.InvariantCulture, $$"""
        apiVersion: networking.ironcore.dev/v1alpha1
        kind: NetworkInterface
        metadata:
          namespace: default
          name: nic-{{i}}
          labels:
            app: {{app}}
        spec:
          networkRef: {name: bench}
          ipFamilies: [IPv4]
          ips:
          - value: 10.0.{{i / 250}}.{{(i % 250) + 1}}
        ---
        apiVersion: compute.ironcore.dev/v1alpha1
        kind: Machine
        metadata:
          namespace: default
          name: vm-{{i}}
        spec:
          machineClassRef: {name: small}
          machinePoolRef: {name: host-a}
          networkInterfaces:
          - name: primary
            networkInterfaceRef:
              name: nic-{{i}}

        """);

    /// <summary>Interface 0, in or out of the load balancer, written to a hidden file (ignored by the server)
    /// and renamed over the watched one.</summary>
    private void WriteChanging(bool movedOut)
    {
        string temporary = Path.Combine(ManifestDirectory, ".changing.tmp");
        File.WriteAllText(temporary, Interface(0, movedOut ? "db" : "web"));
        File.Move(temporary, Path.Combine(ManifestDirectory, "changing.yaml"), overwrite: true);
    }

    private void WaitForAgent(ulong version)
    {
        long start = Stopwatch.GetTimestamp();
        while (_agent.Applier.Version != version)
        {
            Wait(start);
        }
    }

    private ulong WaitForAgentAbove(ulong version)
    {
        long start = Stopwatch.GetTimestamp();
        ulong now;
        while ((now = _agent.Applier.Version) <= version)
        {
            Wait(start);
        }
        return now;
    }

    private static void Wait(long start)
    {
        if (Stopwatch.GetElapsedTime(start) > s_deadline)
        {
            throw new TimeoutException("the agent did not converge");
        }
        // Yield rather than sleep: a 1 ms sleep would dominate the one-interface case.
        Thread.Yield();
    }
}
