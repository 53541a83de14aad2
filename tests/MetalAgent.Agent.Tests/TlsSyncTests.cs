using System.Net.Http;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Net.Client;
using MetalAgent.Agent.Sync;
using MetalAgent.Backends.Memory;
using MetalAgent.Compiler;
using MetalAgent.ControlPlane.Configuration;
using MetalAgent.ControlPlane.Server;
using MetalAgent.ControlPlane.V1;
using MetalAgent.Model.V1;
using PacketDotNet;
using MetalAgent.Tests.Shared;

namespace MetalAgent.Agent.Tests;

/// <summary>The real control plane serving TLS on 127.0.0.1 with client certificates from a test CA: each role
/// gets what it may and nothing else; certificates from elsewhere get nothing.</summary>
public sealed class TlsSyncTests : IAsyncLifetime, IDisposable
{
    private static readonly TimeSpan s_deadline = TimeSpan.FromSeconds(30);

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "metalagent-tls-" + Guid.NewGuid().ToString("N"));
    private readonly List<AgentHost> _agents = [];
    private readonly List<GrpcChannel> _channels = [];
    private TestCertificateAuthority _ca = null!;
    private TestCertificateAuthority _rogue = null!;
    private ControlPlaneHost _server = null!;

    private string ManifestDirectory => Path.Combine(_dir, "manifests");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(ManifestDirectory);
        File.Copy(Path.Combine(AppContext.BaseDirectory, "Data", "quickstart.yaml"), Path.Combine(ManifestDirectory, "quickstart.yaml"));
        _ca = new TestCertificateAuthority("test-ca", _dir);
        _rogue = new TestCertificateAuthority("rogue-ca", _dir);
        (string serverCertificate, string serverKey) = _ca.IssueServer("controlplane");
        string yaml = $"""
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
            tls:
              certificate: {serverCertificate}
              key: {serverKey}
              clientCa: {_ca.CertificatePath}
            """;
        _server = await ControlPlaneHost.StartAsync(ControlPlaneConfig.Parse(yaml, _dir), ManifestDirectory);
    }

    public void Dispose()
    {
        _ca.Dispose();
        _rogue.Dispose();
    }

    public async Task DisposeAsync()
    {
        foreach (AgentHost agent in _agents)
        {
            await agent.DisposeAsync();
        }
        foreach (GrpcChannel channel in _channels)
        {
            channel.Dispose();
        }
        await _server.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task The_server_listens_with_tls()
    {
        Assert.Equal(Uri.UriSchemeHttps, _server.Address.Scheme);
        // A plaintext client cannot talk to it.
        using var plaintext = GrpcChannel.ForAddress(new UriBuilder(_server.Address) { Scheme = Uri.UriSchemeHttp }.Uri);
        await Assert.ThrowsAsync<RpcException>(() => new StateQuery.StateQueryClient(plaintext).GetObjectsAsync(new GetObjectsRequest(), deadline: Deadline()).ResponseAsync);
    }

    [Fact]
    public async Task A_host_with_its_certificate_converges_and_forwards()
    {
        AgentHost agent = StartAgent(_ca.IssueClient("host", "host-a"));
        await WaitUntil(() => agent.Applier.Version == _server.Current.Hosts["host-a"].Version, "the agent holds the server's version");
        await WaitUntil(() => _server.Runtime.AgentRecord("host-a").AckedVersion == agent.Applier.Version, "the server saw the ACK");

        InMemoryPort web1 = Port(agent, "web-1");
        byte[] reply = await AgentSyncTests.Exchange(web1, Frames.ArpRequest(Frames.VmMac, "10.0.0.1"), web1);
        Assert.Equal(ArpOperation.Response, Frames.Parse(reply).Extract<ArpPacket>().Operation);
        string web2Underlay = _server.Current.Hosts["host-b"].Spec.Interfaces.Single(i => i.Id == "web-2").UnderlayAddress;
        var gateway = Frames.Mac(HostCompiler.GatewayMac("web-1"));
        byte[] encapsulated = await AgentSyncTests.Exchange(web1, Frames.Udp(Frames.VmMac, gateway, "10.0.0.1", "10.0.0.2"), Port(agent, "uplink0"));
        Assert.Equal(System.Net.IPAddress.Parse(web2Underlay).ToString(), Frames.OuterDestination(encapsulated));
        Assert.Equal(0, agent.Client!.Failures);

        // The host may read its own state with the same certificate.
        GetHostStateResponse own = await new StateQuery.StateQueryClient(Channel(_ca.IssueClient("host", "host-a")))
            .GetHostStateAsync(new GetHostStateRequest { Host = "host-a" }, deadline: Deadline());
        Assert.Equal(agent.Applier.Version, own.AckedVersion);
    }

    [Fact]
    public async Task A_certificate_from_another_ca_gets_nothing()
    {
        (string, string) forged = _rogue.IssueClient("host", "host-a");
        RpcException e = await Assert.ThrowsAsync<RpcException>(() => FirstUpdate(Channel(forged), "host-a", "fc00:1:a::/64"));
        // With TLS 1.3 the server checks the client certificate after the client has finished its handshake, so the
        // client sees either a failed connection or a connection closed under its first request.
        Assert.True(e.StatusCode is StatusCode.Unavailable or StatusCode.Internal, e.Status.ToString());

        AgentHost agent = StartAgent(forged);
        await WaitUntil(() => agent.Client!.Failures >= 2, "the agent failed to connect twice");
        Assert.Equal(0UL, agent.Applier.Version);
        Assert.Null(agent.Applier.Spec);
        HostAgentRecord record = _server.Runtime.AgentRecord("host-a");
        Assert.False(record.Connected);
        Assert.Equal(0UL, record.AckedVersion);
    }

    [Fact]
    public async Task A_client_without_a_certificate_gets_nothing()
    {
        var handler = new SocketsHttpHandler { SslOptions = new SslClientAuthenticationOptions { CertificateChainPolicy = TrustOnly(_ca.CertificatePath) } };
        GrpcChannel channel = GrpcChannel.ForAddress(_server.Address, new GrpcChannelOptions { HttpHandler = handler });
        _channels.Add(channel);
        await Assert.ThrowsAsync<RpcException>(() => new StateQuery.StateQueryClient(channel).GetObjectsAsync(new GetObjectsRequest(), deadline: Deadline()).ResponseAsync);
        await Assert.ThrowsAsync<RpcException>(() => FirstUpdate(channel, "host-a", "fc00:1:a::/64"));
        Assert.False(_server.Runtime.AgentRecord("host-a").Connected);
    }

    [Fact]
    public async Task The_agent_trusts_only_the_ca_it_was_given_for_the_server()
    {
        // The client certificate is good, but the agent is told to trust another CA: the server's certificate is refused.
        (string certificate, string key) = _ca.IssueClient("host", "host-a");
        AgentHost agent = StartAgent((certificate, key), serverCa: _rogue.CertificatePath);
        await WaitUntil(() => agent.Client!.Failures >= 1, "the agent failed to connect");
        Assert.Equal(0UL, agent.Applier.Version);
        Assert.Contains("certificate", agent.Client!.LastError, StringComparison.OrdinalIgnoreCase);
        Assert.False(_server.Runtime.AgentRecord("host-a").Connected);
    }

    [Fact]
    public async Task A_host_certificate_cannot_sync_or_read_another_hosts_state()
    {
        GrpcChannel channel = Channel(_ca.IssueClient("host", "host-a"));
        RpcException e = await Assert.ThrowsAsync<RpcException>(() => FirstUpdate(channel, "host-b", "fc00:1:b::/64"));
        Assert.Equal(StatusCode.PermissionDenied, e.StatusCode);
        Assert.Equal("host-b: the host certificate host-a may not act as this host", e.Status.Detail);
        Assert.False(_server.Runtime.AgentRecord("host-b").Connected);

        var query = new StateQuery.StateQueryClient(channel);
        e = await Assert.ThrowsAsync<RpcException>(() => query.GetHostStateAsync(new GetHostStateRequest { Host = "host-b" }, deadline: Deadline()).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, e.StatusCode);
        Assert.Equal("host certificate host-a may not read host-b's state: only operators and the host itself may", e.Status.Detail);
        e = await Assert.ThrowsAsync<RpcException>(() => query.GetObjectsAsync(new GetObjectsRequest(), deadline: Deadline()).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, e.StatusCode);
        e = await Assert.ThrowsAsync<RpcException>(() => WatchRouterView(channel));
        Assert.Equal(StatusCode.PermissionDenied, e.StatusCode);
    }

    [Fact]
    public async Task A_host_presenting_another_underlay_prefix_is_refused_with_the_reason()
    {
        AgentHost agent = StartAgent(_ca.IssueClient("host", "host-a"), underlayPrefix: "fc00:1:b::/64");
        await WaitUntil(() => agent.Client!.LastError is not null, "the agent was refused");
        Assert.Equal("PermissionDenied: host-a: underlay prefix fc00:1:b::/64 does not match the configured fc00:1:a::/64", agent.Client!.LastError);
        Assert.Equal(0UL, agent.Applier.Version);
        Assert.Equal(0UL, _server.Runtime.AgentRecord("host-a").AckedVersion);
    }

    [Fact]
    public async Task The_router_certificate_gets_the_router_view_and_no_host_state()
    {
        GrpcChannel channel = Channel(_ca.IssueClient("router", "router-1"));
        RouterViewUpdate view = await WatchRouterView(channel);
        Assert.Equal(_server.Current.RouterView, view);
        Assert.NotEmpty(view.Routes);

        RpcException e = await Assert.ThrowsAsync<RpcException>(() => FirstUpdate(channel, "host-a", "fc00:1:a::/64"));
        Assert.Equal(StatusCode.PermissionDenied, e.StatusCode);
        Assert.Equal("router certificate router-1 may not open a host stream: that needs a host certificate (OU=host)", e.Status.Detail);
        var query = new StateQuery.StateQueryClient(channel);
        e = await Assert.ThrowsAsync<RpcException>(() => query.GetHostStateAsync(new GetHostStateRequest { Host = "host-a" }, deadline: Deadline()).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, e.StatusCode);
        e = await Assert.ThrowsAsync<RpcException>(() => query.GetObjectsAsync(new GetObjectsRequest(), deadline: Deadline()).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, e.StatusCode);
    }

    [Fact]
    public async Task An_operator_certificate_reads_but_cannot_open_a_host_stream()
    {
        GrpcChannel channel = Channel(_ca.IssueClient("operator", "alice"));
        var query = new StateQuery.StateQueryClient(channel);
        GetObjectsResponse objects = await query.GetObjectsAsync(new GetObjectsRequest { Kind = "NetworkInterface" }, deadline: Deadline());
        Assert.Contains(objects.Objects, o => o.Name == "web-1");
        GetHostStateResponse state = await query.GetHostStateAsync(new GetHostStateRequest { Host = "host-b" }, deadline: Deadline());
        Assert.Equal(_server.Current.Hosts["host-b"].Spec, state.Spec);

        RpcException e = await Assert.ThrowsAsync<RpcException>(() => FirstUpdate(channel, "host-a", "fc00:1:a::/64"));
        Assert.Equal(StatusCode.PermissionDenied, e.StatusCode);
        Assert.Equal("operator certificate alice may not open a host stream: that needs a host certificate (OU=host)", e.Status.Detail);
        Assert.False(_server.Runtime.AgentRecord("host-a").Connected);
        e = await Assert.ThrowsAsync<RpcException>(() => WatchRouterView(channel));
        Assert.Equal(StatusCode.PermissionDenied, e.StatusCode);
    }

    [Fact]
    public async Task A_certificate_from_the_ca_that_names_no_role_is_unauthenticated()
    {
        GrpcChannel channel = Channel(_ca.IssueClient("visitor", "bob"));
        RpcException e = await Assert.ThrowsAsync<RpcException>(() => new StateQuery.StateQueryClient(channel).GetObjectsAsync(new GetObjectsRequest(), deadline: Deadline()).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, e.StatusCode);
        Assert.Equal("the client certificate CN=bob, OU=visitor, O=metalagent tests names no role: its subject needs OU=host, OU=router or OU=operator and a CN", e.Status.Detail);
        e = await Assert.ThrowsAsync<RpcException>(() => FirstUpdate(channel, "host-a", "fc00:1:a::/64"));
        Assert.Equal(StatusCode.Unauthenticated, e.StatusCode);
        Assert.False(_server.Runtime.AgentRecord("host-a").Connected);
    }

    [Fact]
    public void Settings_list_every_tls_problem()
    {
        var settings = new AgentSettings
        {
            HostName = "host-a",
            UnderlayPrefix = "fc00:1:a::/64",
            Server = _server.Address,
            StateDirectory = _dir,
            ServerCaPath = Path.Combine(_dir, "missing.crt"),
        };
        IReadOnlyList<string> problems = settings.CheckServerTls();
        Assert.Equal(3, problems.Count);
        Assert.Contains("--cert", problems[0], StringComparison.Ordinal);
        Assert.Contains("--key", problems[1], StringComparison.Ordinal);
        Assert.StartsWith(Path.Combine(_dir, "missing.crt") + ": cannot read the CA bundle", problems[2], StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new SyncClient(settings, null!, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance));

        (string certificate, string key) = _ca.IssueClient("host", "host-a");
        var plaintext = new AgentSettings
        {
            HostName = "host-a",
            UnderlayPrefix = "fc00:1:a::/64",
            Server = new Uri("http://127.0.0.1:7443"),
            StateDirectory = _dir,
            ClientCertificatePath = certificate,
            ClientKeyPath = key,
        };
        Assert.Contains("plaintext http://", plaintext.CheckServerTls().Single(), StringComparison.Ordinal);

        var mismatched = new AgentSettings
        {
            HostName = "host-a",
            UnderlayPrefix = "fc00:1:a::/64",
            Server = _server.Address,
            StateDirectory = _dir,
            ServerCaPath = _ca.CertificatePath,
            ClientCertificatePath = certificate,
            ClientKeyPath = _rogue.IssueClient("host", "host-a").Key,
        };
        Assert.StartsWith(mismatched.ClientKeyPath + ": not the private key of the certificate", mismatched.CheckServerTls().Single(), StringComparison.Ordinal);
    }

    private static DateTime Deadline() => DateTime.UtcNow.Add(s_deadline);

    private static InMemoryPort Port(AgentHost agent, string name) =>
        ((MemoryPortBackend)agent.Backend).Port(name) ?? throw new InvalidOperationException($"port {name} not open");

    private static Task WaitUntil(Func<bool> done, string what) => AgentSyncTests.WaitUntil(done, what);

    private static X509ChainPolicy TrustOnly(string caPath)
    {
        var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
        policy.CustomTrustStore.ImportFromPemFile(caPath);
        return policy;
    }

    private AgentHost StartAgent((string Certificate, string Key) client, string underlayPrefix = "fc00:1:a::/64", string? serverCa = null)
    {
        var settings = new AgentSettings
        {
            HostName = "host-a",
            UnderlayPrefix = underlayPrefix,
            Server = _server.Address,
            ServerCaPath = serverCa ?? _ca.CertificatePath,
            ClientCertificatePath = client.Certificate,
            ClientKeyPath = client.Key,
            StateDirectory = Path.Combine(_dir, "agent-" + _agents.Count),
            Uplinks = [new UplinkSpec { Name = "uplink0", GatewayAddress = "fe80::1", GatewayMac = "02:00:00:00:ff:01" }],
            ReconnectMin = TimeSpan.FromMilliseconds(50),
            ReconnectMax = TimeSpan.FromMilliseconds(200),
        };
        var agent = new AgentHost(settings, new MemoryPortBackend());
        _agents.Add(agent);
        agent.Start();
        return agent;
    }

    /// <summary>A channel presenting <paramref name="client"/> and trusting the test CA, as the agent builds it.</summary>
    private GrpcChannel Channel((string Certificate, string Key) client)
    {
        ClientTlsMaterial tls = ClientTlsMaterial.ForServer(_server.Address, _ca.CertificatePath, client.Certificate, client.Key)!;
        var handler = new SocketsHttpHandler();
        tls.ApplyTo(handler);
        GrpcChannel channel = GrpcChannel.ForAddress(_server.Address, new GrpcChannelOptions { HttpHandler = handler });
        _channels.Add(channel);
        return channel;
    }

    /// <summary>Opens a host stream with a Hello and returns the first update; throws the stream's RpcException.</summary>
    private static async Task<StateUpdate> FirstUpdate(GrpcChannel channel, string host, string prefix)
    {
        using var cts = new CancellationTokenSource(s_deadline);
        using AsyncDuplexStreamingCall<AgentMessage, ServerMessage> call = new HostSync.HostSyncClient(channel).Stream(cancellationToken: cts.Token);
        try
        {
            await call.RequestStream.WriteAsync(new AgentMessage { Hello = new Hello { HostName = host, UnderlayPrefix = prefix } }, cts.Token);
        }
        catch (Exception e) when (e is RpcException or IOException)
        {
            // The call already failed (refused before the Hello was read, or, with TLS 1.3, the server rejected
            // the client certificate after the client finished its handshake); the call's status is read below.
        }
        Assert.True(await call.ResponseStream.MoveNext(cts.Token));
        return call.ResponseStream.Current.Update;
    }

    private static async Task<RouterViewUpdate> WatchRouterView(GrpcChannel channel)
    {
        using var cts = new CancellationTokenSource(s_deadline);
        using AsyncServerStreamingCall<RouterViewUpdate> call = new RouterView.RouterViewClient(channel)
            .Watch(new RouterHello { RouterName = "router-1", UnderlayAddress = "fc00:0:ff::1" }, cancellationToken: cts.Token);
        Assert.True(await call.ResponseStream.MoveNext(cts.Token));
        return call.ResponseStream.Current;
    }
}
