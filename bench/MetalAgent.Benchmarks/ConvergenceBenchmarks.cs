using System.Diagnostics;
using System.Globalization;
using System.Text;
using BenchmarkDotNet.Attributes;
using MetalAgent.Agent.Sync;
using MetalAgent.Backends;
using MetalAgent.Backends.Memory;
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
    private readonly List<double> _workCpu = [];
    private readonly List<double> _serverMs = [];
    private bool _movedOut;
    private double _idleCpuPerSecond;

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
        }, new SmallMemoryPortBackend());
        _agent.Start();
        WaitForAgent(_server.Current.Hosts["host-a"].Version);
        if (_agent.Applier.Spec!.Interfaces.Count != Interfaces)
        {
            throw new InvalidOperationException($"the agent holds {_agent.Applier.Spec.Interfaces.Count} interfaces, expected {Interfaces}");
        }
        // Past tiered compilation (a change runs a few hundred distinct methods, each once): BenchmarkDotNet's
        // short job warms up three operations only.
        for (int i = Interfaces <= 100 ? 60 : 2; i > 0; i--)
        {
            ManifestChangeToSnapshotLive();
        }
        _workCpu.Clear();
        _serverMs.Clear();
        // What the process burns with nothing changing (worker wake-ups, timers, keepalives), to read the CPU figure against.
        TimeSpan idle0 = Process.GetCurrentProcess().TotalProcessorTime;
        Thread.Sleep(1000);
        _idleCpuPerSecond = (Process.GetCurrentProcess().TotalProcessorTime - idle0).TotalMilliseconds;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        // The work the change caused on other threads (server and agent), without this thread's waiting; the
        // agent's status report and persistence after the publish may still be running when an operation ends.
        _workCpu.Sort();
        _serverMs.Sort();
        if (_workCpu.Count > 0)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"// {nameof(ConvergenceBenchmarks)} Interfaces={Interfaces} over {_workCpu.Count} changes: CPU of the other threads (server, agent) "
                + $"median {_workCpu[_workCpu.Count / 2]:F1} ms, min {_workCpu[0]:F1} ms; server snapshot published after median {_serverMs[_serverMs.Count / 2]:F1} ms, min {_serverMs[0]:F1} ms; "
                + $"idle process CPU {_idleCpuPerSecond:F1} ms/s"));
        }
        _agent.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Directory.Delete(_dir, recursive: true);
    }

    [Benchmark(Description = "manifest change -> new snapshot live on the agent")]
    public ulong ManifestChangeToSnapshotLive()
    {
        TimeSpan process0 = Process.GetCurrentProcess().TotalProcessorTime;
        long thread0 = ThreadCpuNanoseconds();
        ulong before = _agent.Applier.Version;
        _movedOut = !_movedOut;
        WriteChanging(_movedOut);
        ulong version = WaitForAgentAbove(before);
        long thread1 = ThreadCpuNanoseconds();
        TimeSpan process1 = Process.GetCurrentProcess().TotalProcessorTime;
        _workCpu.Add(((process1 - process0).TotalNanoseconds - (thread1 - thread0)) / 1e6);
        return version;
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

    /// <summary>Waits until the agent holds a version above <paramref name="version"/>; notes when the server published it.</summary>
    private ulong WaitForAgentAbove(ulong version)
    {
        long start = Stopwatch.GetTimestamp();
        double serverMs = -1;
        ulong now;
        while ((now = _agent.Applier.Version) <= version)
        {
            if (serverMs < 0 && _server.Current.Hosts["host-a"].Version > version)
            {
                serverMs = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
            Wait(start);
        }
        _serverMs.Add(serverMs < 0 ? Stopwatch.GetElapsedTime(start).TotalMilliseconds : serverMs);
        return now;
    }

    /// <summary>This thread's time on a CPU (first field of /proc/thread-self/schedstat), 0 where unavailable.</summary>
    private static long ThreadCpuNanoseconds()
    {
        try
        {
            string text = File.ReadAllText("/proc/thread-self/schedstat");
            return long.Parse(text.AsSpan(0, text.IndexOf(' ', StringComparison.Ordinal)), CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private void Wait(long start)
    {
        if (Stopwatch.GetElapsedTime(start) > s_deadline)
        {
            throw new TimeoutException($"the agent did not converge: it holds version {_agent.Applier.Version}, the server has "
                + $"{_server.Current.Hosts["host-a"].Version}; last error: {_agent.Client!.LastError}; last NACK: {_agent.Client.LastNack}");
        }
        // Yield rather than sleep: a 1 ms sleep would dominate the one-interface case.
        Thread.Yield();
    }

    /// <summary>In-memory ports with two 2 KiB slots per ring: MemoryPortBackend's ports (512 jumbo slots per
    /// ring, about 9.5 MB each) would need about 95 GB for 10,000 interfaces. No frames flow here.</summary>
    private sealed class SmallMemoryPortBackend : IPortBackend
    {
        private readonly List<InMemoryPort> _ports = [];

        public string DeviceName(string portName, PortRole role) => "mem:" + portName;

        public IPort Open(string portName, PortRole role, int queueCount)
        {
            var port = new InMemoryPort(portName, role, queueCount, capacity: 2, slotSize: 2048);
            _ports.Add(port);
            return port;
        }

        public void Dispose()
        {
            foreach (InMemoryPort port in _ports)
            {
                port.Dispose();
            }
        }
    }
}
