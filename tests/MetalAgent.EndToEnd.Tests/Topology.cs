using System.Net;
using System.Net.Sockets;
using Grpc.Net.Client;
using MetalAgent.ControlPlane.V1;
using MetalAgent.EndToEnd.Tests.Kit;

namespace MetalAgent.EndToEnd.Tests;

/// <summary>
/// The one topology of a test run (an xunit collection fixture), built from network namespaces named
/// "mae-PIDt-ROLE":
/// <code>
///  mgmt: control plane, TLS on [fc00:ffff::1]:7443 ── bridge "mgmt" ── veths to host-a, host-b, router
///
///  web-1 ─┐ TAPs (created by the agent in     ┌──────────── underlay ─────────────┐
///  db-1  ─┼ the guests' namespaces)  host-a ──│ uplink veth   IPv6 forwarding,     │
///  other-1┘  agent A, 2 workers               │ fe80::1 on every port (each        │
///  web-2  ─┐                          host-b ──│ uplink's next hop); routes         │
///  batch-1 ┘ agent B, 1 worker                │ fc00:1:a::/64, fc00:1:b::/64 on    │
///  (web-3: bound on host-a, added by tests)   │ link; fc00:0:ff::1 → router        │
///                                             └────────────────┬───────────────────┘
///  internet: 198.51.100.10/.11, 2001:db8:eeee::10 ── veth ── router: metalagent router
///            203.0.113.0/24, 2001:db8:ffff::/48 via the router   (AF_PACKET on both links)
/// </code>
/// The agents resolve their gateway and answer neighbour solicitations for their /128s themselves; the
/// router answers ARP/ND for its own addresses. Guests get their configuration from real DHCP clients.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "xunit disposes fixtures through IAsyncLifetime.DisposeAsync")]
public sealed class Topology : IAsyncLifetime
{
    public const string UnderlayPrefixA = "fc00:1:a::/64";
    public const string UnderlayPrefixB = "fc00:1:b::/64";
    public const string RouterUnderlay = "fc00:0:ff::1";
    public const int Mtu = 1400;
    public const string DnsServer = "198.51.100.53";
    public const string RouterInternetIpv4 = "198.51.100.1";
    public const string RouterInternetIpv6 = "2001:db8:eeee::1";

    /// <summary>The internet namespace's servers (and clients): two IPv4 addresses and one IPv6.</summary>
    internal static readonly IPAddress InternetServer = IPAddress.Parse("198.51.100.10");
    internal static readonly IPAddress InternetServer2 = IPAddress.Parse("198.51.100.11");
    internal static readonly IPAddress InternetServer6 = IPAddress.Parse("2001:db8:eeee::10");

    private readonly Dictionary<string, ServiceProcess> _agents = new(StringComparer.Ordinal);
    private ManagementNetwork? _management;
    private List<string> _routerServerArgs = [];
    private GrpcChannel? _channel;
    private bool _disposed;

    internal TestRun Run { get; private set; } = null!;

    internal string ManagementNs { get; private set; } = string.Empty;

    internal string UnderlayNs { get; private set; } = string.Empty;

    internal ServiceProcess ControlPlane { get; private set; } = null!;

    /// <summary>The underlay router (<c>metalagent router</c>).</summary>
    internal ServiceProcess Router { get; private set; } = null!;

    internal string RouterNs { get; private set; } = string.Empty;

    /// <summary>The "internet": 198.51.100.0/24 and 2001:db8:eeee::/64 servers behind the router.</summary>
    internal string InternetNs { get; private set; } = string.Empty;

    internal IReadOnlyDictionary<string, Guest> Guests { get; private set; } = new Dictionary<string, Guest>();

    /// <summary>web-3 (host-a, 10.0.0.3, app: web): its namespace and host-a's port binding exist from the start,
    /// the interface only while a test adds it to the manifests (<see cref="AddSpareAsync"/>).</summary>
    internal Guest Spare { get; private set; } = null!;

    internal IReadOnlyDictionary<string, ServiceProcess> Agents => _agents;

    /// <summary>The hostname of the machine before the topology existed (DHCP must never change it).</summary>
    internal string MachineHostname { get; private set; } = string.Empty;

    internal string ManifestsDirectory => Path.Combine(Run.Directory, "manifests");

    internal Guest this[string name] => Guests[name];

    /// <summary>The control plane's query service (reached inside the management namespace).</summary>
    internal StateQuery.StateQueryClient Query => new(_channel!);

    internal ManagementNetwork Management => _management!;

    public async Task InitializeAsync()
    {
        if (!E2EFactAttribute.CanRun)
        {
            return;
        }
        MachineHostname = File.ReadAllText("/proc/sys/kernel/hostname").Trim();
        TestRun.SweepStale();
        Run = new TestRun('t');
        try
        {
            await BuildAsync();
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    public Task DisposeAsync()
    {
        if (Run is null || _disposed)
        {
            return Task.CompletedTask;
        }
        _disposed = true;
        _channel?.Dispose();
        _management?.Dispose();
        foreach (ServiceProcess agent in _agents.Values)
        {
            agent.Dispose();
        }
        ControlPlane?.Dispose();
        Router?.Dispose();
        KeepLogs();
        Run.Dispose();
        List<string> left = Run.Leftovers();
        if (left.Count > 0)
        {
            throw new InvalidOperationException("the topology left behind: " + string.Join("; ", left));
        }
        return Task.CompletedTask;
    }

    /// <summary>The agent's local control socket (status, flows, trace).</summary>
    internal string ControlSocket(string host) => Path.Combine(Run.Directory, host + ".sock");

    /// <summary>The agent's own status (<c>metalagent status -o json</c> over its control socket).</summary>
    internal async Task<System.Text.Json.JsonDocument> AgentStatusAsync(string host)
    {
        CommandResult r = await Command.TryRunAsync("dotnet", [ServiceProcess.AgentDll, "status", "--socket", ControlSocket(host), "-o", "json"], TimeSpan.FromSeconds(30));
        Assert.True(r.Ok, r.ToString());
        return System.Text.Json.JsonDocument.Parse(r.Stdout);
    }

    /// <summary>How many packets the agent dropped for <paramref name="reason"/> ("spoofed_mac", ...).</summary>
    internal async Task<long> DropCountAsync(string host, string reason)
    {
        using System.Text.Json.JsonDocument status = await AgentStatusAsync(host);
        foreach (System.Text.Json.JsonElement r in status.RootElement.GetProperty("counters").GetProperty("dropReasons").EnumerateArray())
        {
            if (r.GetProperty("reason").GetString() == reason)
            {
                return long.Parse(r.GetProperty("count").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
            }
        }
        return 0;
    }

    /// <summary>An empty configuration file: the agents take everything from their command line.</summary>
    private string AgentConfigFile(string host)
    {
        string path = Path.Combine(Run.Directory, host + ".yaml");
        File.WriteAllText(path, "# e2e: all settings on the command line\n");
        return path;
    }

    /// <summary>The HostSpec the control plane currently holds for a host, with its ack state.</summary>
    internal async Task<GetHostStateResponse> HostStateAsync(string host) =>
        await Query.GetHostStateAsync(new GetHostStateRequest { Host = host }, deadline: DateTime.UtcNow.AddSeconds(10));

    /// <summary>Waits until the host's agent acknowledged the control plane's current version for it.</summary>
    internal Task WaitForAckAsync(string host, TimeSpan within) =>
        Eventually.AssertAsync($"{host} acknowledges the current state", within, async () =>
        {
            GetHostStateResponse s = await HostStateAsync(host);
            return (s.AckedVersion == s.Version && s.Version > 0, $"version {s.Version} acked {s.AckedVersion} nacked {s.NackedVersion} {string.Join("; ", s.NackErrors)}");
        }, TimeSpan.FromMilliseconds(200));

    internal string SpareManifest => Path.Combine(ManifestsDirectory, "web-3.yaml");

    /// <summary>Adds web-3 to the manifests, waits until host-a serves it and its DHCP client configured it.</summary>
    internal async Task AddSpareAsync()
    {
        await ReplaceFileAsync(SpareManifest, """
            apiVersion: networking.ironcore.dev/v1alpha1
            kind: NetworkInterface
            metadata:
              namespace: default
              name: web-3
              labels:
                app: web
            spec:
              networkRef:
                name: network-sample
              ipFamilies: [IPv4]
              ips:
              - value: 10.0.0.3
            ---
            apiVersion: compute.ironcore.dev/v1alpha1
            kind: Machine
            metadata:
              namespace: default
              name: web-3
            spec:
              machineClassRef:
                name: machineclass-sample
              machinePoolRef:
                name: host-a
              networkInterfaces:
              - name: primary
                networkInterfaceRef:
                  name: web-3

            """);
        await Eventually.AssertAsync("host-a's state names web-3", TimeSpan.FromSeconds(20),
            async () => (await HostStateAsync("host-a")).Spec.Interfaces.Any(i => i.Id == "web-3"));
        await WaitForAckAsync("host-a", TimeSpan.FromSeconds(20));
        await AttachGuestAsync(Spare);
    }

    /// <summary>Removes web-3 from the manifests and waits until host-a applied that.</summary>
    internal async Task RemoveSpareAsync()
    {
        File.Delete(SpareManifest);
        await Eventually.AssertAsync("host-a's state no longer names web-3", TimeSpan.FromSeconds(20),
            async () => !(await HostStateAsync("host-a")).Spec.Interfaces.Any(i => i.Id == "web-3"));
        await WaitForAckAsync("host-a", TimeSpan.FromSeconds(20));
    }

    /// <summary>Writes next to the file and renames over it, so the control plane never reads half a manifest.</summary>
    internal static async Task ReplaceFileAsync(string path, string text)
    {
        string temporary = path + ".tmp";
        await File.WriteAllTextAsync(temporary, text);
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>The public IPv4 the control plane allocated to a VirtualIP, NATGateway or LoadBalancer (first one).</summary>
    internal async Task<IPAddress> PublicIpAsync(string kind, string name)
    {
        GetObjectsResponse response = await Query.GetObjectsAsync(new GetObjectsRequest { Kind = kind, Name = name, Namespace = "default" }, deadline: DateTime.UtcNow.AddSeconds(10));
        ObjectStatus o = Assert.Single(response.Objects);
        string ip = o.StatusCase switch
        {
            ObjectStatus.StatusOneofCase.VirtualIp => o.VirtualIp.Ip,
            ObjectStatus.StatusOneofCase.NatGateway => o.NatGateway.Ips[0].Ip,
            ObjectStatus.StatusOneofCase.LoadBalancer => o.LoadBalancer.Ips[0],
            _ => throw new InvalidOperationException($"{kind} {name} has no public IP: {o}"),
        };
        return IPAddress.Parse(ip);
    }

    /// <summary>The interface's NAT slice as its host's agent enforces it (public IP, inclusive port range).</summary>
    internal async Task<(IPAddress Ip, int FirstPort, int LastPort)> NatSliceAsync(string host, string interfaceId)
    {
        GetHostStateResponse state = await HostStateAsync(host);
        MetalAgent.Model.V1.NatSliceSpec nat = state.Spec.Interfaces.Single(i => i.Id == interfaceId).NatIpv4;
        return (IPAddress.Parse(nat.PublicIp), (int)nat.FirstPort, (int)nat.LastPort);
    }

    private async Task BuildAsync()
    {
        string manifests = ManifestsDirectory;
        Directory.CreateDirectory(manifests);
        File.Copy(Path.Combine(AppContext.BaseDirectory, "quickstart.yaml"), Path.Combine(manifests, "quickstart.yaml"));
        ManagementNs = Run.AddNamespace("mgmt", ipv6: true);
        _management = new ManagementNetwork(Run.Directory, ManagementNs);
        string management = _management.ServerConfig;
        string config = Path.Combine(Run.Directory, "controlplane.yaml");
        File.WriteAllText(config, $$"""
            {{management}}
            routerUnderlayAddress: {{RouterUnderlay}}
            publicPools: [203.0.113.0/24, 2001:db8:ffff::/48]
            mtu: {{Mtu}}
            dnsServers: [{{DnsServer}}]
            stateFile: controlplane-state.json
            hosts:
            - name: host-a
              underlayPrefix: {{UnderlayPrefixA}}
            - name: host-b
              underlayPrefix: {{UnderlayPrefixB}}

            """);

        ControlPlane = new ServiceProcess(Run, "controlplane", ManagementNs, ["controlplane", "--config", config, "--manifests", manifests]);
        ControlPlane.Start();

        UnderlayNs = Run.AddNamespace("underlay", ipv6: true);
        await Command.RunAsync("ip", "netns", "exec", UnderlayNs, "sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=1");
        var uplinks = new Dictionary<string, (string Ns, List<string> ServerArgs)>(StringComparer.Ordinal);
        foreach ((string host, string prefix) in new (string, string)[] { ("host-a", UnderlayPrefixA), ("host-b", UnderlayPrefixB) })
        {
            string ns = Run.AddNamespace(host, ipv6: false);
            // The underlay side is the uplink's next hop fe80::1, which the agent resolves by neighbour discovery; the
            // host's /64 is on-link there, and the agent answers neighbour solicitations for each of its /128s.
            await Command.RunAsync("ip", "-n", UnderlayNs, "link", "add", host, "mtu", "9000", "type", "veth", "peer", "name", "uplink", "mtu", "9000", "netns", ns);
            await Command.RunAsync("ip", "-n", ns, "link", "set", "uplink", "up");
            await Command.RunAsync("ip", "-n", UnderlayNs, "link", "set", host, "up");
            await Command.RunAsync("ip", "-n", UnderlayNs, "addr", "add", "fe80::1/64", "dev", host, "nodad");
            await Command.RunAsync("ip", "-n", UnderlayNs, "-6", "route", "add", prefix, "dev", host);
            uplinks[host] = (ns, _management.Attach(ns, "host", host));
        }

        await BuildInternetAsync();

        var guests = new Dictionary<string, Guest>(StringComparer.Ordinal);
        foreach ((string name, string host, string ipv4, string? ipv6) in new (string, string, string, string?)[] {
            ("web-1", "host-a", "10.0.0.1", "fd10::1"),
            ("db-1", "host-a", "10.0.0.10", null),
            ("other-1", "host-a", "10.0.0.1", null),
            ("web-2", "host-b", "10.0.0.2", "fd10::2"),
            ("batch-1", "host-b", "10.1.0.1", null) })
        {
            string ns = Run.AddNamespace(name, ipv6: true);
            string resolv = TestRun.AddResolvConf(ns);
            guests[name] = new Guest(name, host, ns, "vm-" + name, Path.Combine(Run.Directory, "guests", name), resolv, ipv4, ipv6);
        }
        Guests = guests;
        string spareNs = Run.AddNamespace("web-3", ipv6: true);
        Spare = new Guest("web-3", "host-a", spareNs, "vm-web-3", Path.Combine(Run.Directory, "guests", "web-3"), TestRun.AddResolvConf(spareNs), "10.0.0.3", null);

        await ControlPlane.WaitForLineAsync("serving on", TimeSpan.FromSeconds(30));
        _channel = _management.Channel();

        foreach ((string host, (string ns, List<string> serverArgs)) in uplinks)
        {
            List<string> args =
            [
                "run", "--host", host, "--underlay-prefix", host == "host-a" ? UnderlayPrefixA : UnderlayPrefixB,
                .. serverArgs, "--state-dir", Path.Combine(Run.Directory, "state-" + host),
                "--backend", "linux", "--uplink", "uplink", "--uplink-gateway", "fe80::1",
                // Everything host-local stays in the run's directory: never the machine's /etc/metalagent or /run/metalagent.
                "--config", AgentConfigFile(host), "--control-socket", ControlSocket(host), "--flow-capacity", "65536",
                // Two workers on host-a exercise multi-queue TAPs and the packet socket fanout; one on host-b.
                "--workers", host == "host-a" ? "2" : "1",
            ];
            foreach (Guest g in guests.Values.Append(Spare).Where(g => g.Host == host))
            {
                args.Add("--port-binding");
                args.Add($"{g.Name}={g.Device}@{g.Namespace}");
            }
            var agent = new ServiceProcess(Run, "agent-" + host, ns, args);
            _agents[host] = agent;
            agent.Start();
        }
        Router = new ServiceProcess(Run, "router", RouterNs,
        [
            "router", .. _routerServerArgs,
            "--underlay-device", "underlay", "--underlay-address", RouterUnderlay, "--underlay-gateway", "fe80::1",
            "--internet-device", "internet", "--internet-address", RouterInternetIpv4 + "/24", "--internet-address", RouterInternetIpv6 + "/64",
        ]);
        Router.Start();
        await Task.WhenAll(_agents.Values.Select(a => a.WaitForLineAsync("applied state version", TimeSpan.FromSeconds(60)))
            .Append(Router.WaitForLineAsync("router view version", TimeSpan.FromSeconds(60))));
        await Task.WhenAll(guests.Values.Select(AttachGuestAsync));
    }

    /// <summary>
    /// The router namespace between the underlay and the internet namespace. The kernel's side of both router
    /// links carries no address (the userspace router answers ARP/ND for its own); the internet namespace holds
    /// the servers and routes the public pools back via the router's internet address.
    /// </summary>
    private async Task BuildInternetAsync()
    {
        RouterNs = Run.AddNamespace("router", ipv6: false);
        InternetNs = Run.AddNamespace("internet", ipv6: true);
        await Command.RunAsync("ip", "-n", UnderlayNs, "link", "add", "router", "mtu", "9000", "type", "veth", "peer", "name", "underlay", "mtu", "9000", "netns", RouterNs);
        await Command.RunAsync("ip", "-n", RouterNs, "link", "set", "underlay", "up");
        await Command.RunAsync("ip", "-n", UnderlayNs, "link", "set", "router", "up");
        await Command.RunAsync("ip", "-n", UnderlayNs, "addr", "add", "fe80::1/64", "dev", "router", "nodad");
        await Command.RunAsync("ip", "-n", UnderlayNs, "-6", "route", "add", RouterUnderlay + "/128", "dev", "router");
        await Command.RunAsync("ip", "-n", RouterNs, "link", "add", "internet", "type", "veth", "peer", "name", "eth0", "netns", InternetNs);
        await Command.RunAsync("ip", "-n", RouterNs, "link", "set", "internet", "up");
        await Command.RunAsync("ip", "-n", InternetNs, "link", "set", "eth0", "up");
        // Packets from a real internet arrive with finished checksums; the kernel's own on a veth carry only a
        // partial one (checksum offload), which an AF_PACKET reader must finish (see InternetTests).
        await SetChecksumOffloadAsync(on: false);
        await Command.RunAsync("ip", "-n", InternetNs, "addr", "add", InternetServer + "/24", "dev", "eth0");
        await Command.RunAsync("ip", "-n", InternetNs, "addr", "add", InternetServer2 + "/24", "dev", "eth0");
        await Command.RunAsync("ip", "-n", InternetNs, "addr", "add", InternetServer6 + "/64", "dev", "eth0", "nodad");
        await Command.RunAsync("ip", "-n", InternetNs, "route", "add", "203.0.113.0/24", "via", RouterInternetIpv4);
        await Command.RunAsync("ip", "-n", InternetNs, "-6", "route", "add", "2001:db8:ffff::/48", "via", RouterInternetIpv6);
        _routerServerArgs = _management!.Attach(RouterNs, "router", "router");
    }

    /// <summary>Turns transmit checksum offload of the internet namespace's link on or off.</summary>
    internal Task SetChecksumOffloadAsync(bool on) =>
        Command.RunAsync("ip", "netns", "exec", InternetNs, "ethtool", "-K", "eth0", "tx", on ? "on" : "off");

    /// <summary>Waits for the guest's TAP (the agent creates it in the guest's namespace through its port
    /// binding), brings it up and runs the guest's DHCP clients.</summary>
    private async Task AttachGuestAsync(Guest guest)
    {
        await Eventually.AssertAsync($"agent {guest.Host} creates TAP {guest.Device} in {guest.Namespace}", TimeSpan.FromSeconds(30),
            async () => (await guest.IpAsync("link", "show", "dev", guest.Device)).Ok);
        await Command.RunAsync("ip", "-n", guest.Namespace, "link", "set", "dev", guest.Device, "up");
        CommandResult v4 = await guest.Dhcp4Async();
        if (!v4.Ok)
        {
            throw new InvalidOperationException($"DHCPv4 of {guest.Name} failed: {v4}");
        }
        if (guest.Ipv6 is not null)
        {
            CommandResult v6 = await guest.Dhcp6Async();
            if (!v6.Ok)
            {
                throw new InvalidOperationException($"DHCPv6 of {guest.Name} failed: {v6}");
            }
        }
    }

    /// <summary>Copies the process logs next to the test assembly (e2e-logs/) before the scratch directory goes.</summary>
    private void KeepLogs()
    {
        try
        {
            string target = Path.Combine(AppContext.BaseDirectory, "e2e-logs");
            Directory.CreateDirectory(target);
            foreach (string log in Directory.EnumerateFiles(Run.Directory, "*.log"))
            {
                File.Copy(log, Path.Combine(target, Path.GetFileName(log)), overwrite: true);
            }
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>The collection every end-to-end test belongs to: one topology, tests run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class TopologyCollection : ICollectionFixture<Topology>
{
    public const string Name = "topology";
}
