using Grpc.Core;
using Grpc.Net.Client;
using MetalAgent.ControlPlane.Allocation;
using MetalAgent.ControlPlane.Server;
using MetalAgent.ControlPlane.Sync;
using MetalAgent.ControlPlane.V1;
using MetalAgent.Model.V1;
using MetalAgent.Model.Validation;

namespace MetalAgent.ControlPlane.Tests;

/// <summary>The real server on 127.0.0.1 with a real gRPC client.</summary>
public sealed class GrpcLoopbackTests : IAsyncLifetime
{
    private static readonly TimeSpan s_deadline = TimeSpan.FromSeconds(30);

    private readonly string _dir = TestData.TempDirectory();
    private ControlPlaneHost _host = null!;
    private GrpcChannel _channel = null!;

    private string ManifestPath => Path.Combine(_dir, "manifests", "quickstart.yaml");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(ManifestPath)!);
        File.Copy(TestData.QuickstartPath, ManifestPath);
        _host = await ControlPlaneHost.StartAsync(TestData.Config(), Path.GetDirectoryName(ManifestPath)!,
            new ControlPlaneHostOptions { Store = new JsonFileStateStore(Path.Combine(_dir, "state.json")) });
        _channel = GrpcChannel.ForAddress(_host.Address);
    }

    public async Task DisposeAsync()
    {
        _channel.Dispose();
        await _host.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private static async Task<StateUpdate> NextUpdate(AsyncDuplexStreamingCall<AgentMessage, ServerMessage> call)
    {
        using var cts = new CancellationTokenSource(s_deadline);
        Assert.True(await call.ResponseStream.MoveNext(cts.Token));
        return call.ResponseStream.Current.Update;
    }

    private static Hello HelloA(ulong held = 0, string sha = "") =>
        new() { HostName = "host-a", UnderlayPrefix = "fc00:1:a::/64", HeldVersion = held, HeldStateSha256 = sha };

    [Fact]
    public async Task Agent_gets_the_full_state_then_a_delta_with_a_higher_version_after_a_manifest_change()
    {
        var client = new HostSync.HostSyncClient(_channel);
        using var call = client.Stream();
        await call.RequestStream.WriteAsync(new AgentMessage { Hello = HelloA() });

        StateUpdate first = await NextUpdate(call);
        Assert.Equal(StateUpdate.StateOneofCase.Full, first.StateCase);
        HostSpec held = first.Full;
        Assert.Equal(first.Version, held.Version);
        Assert.Equal(HostSpecDiff.Sha256(held), first.StateSha256);
        Assert.Empty(HostSpecValidator.Validate(held));
        Assert.Equal(["db-1", "other-1", "web-1"], held.Interfaces.Select(i => i.Id));
        await call.RequestStream.WriteAsync(new AgentMessage { Ack = new Ack { Nonce = first.Nonce, Version = first.Version } });
        await call.RequestStream.WriteAsync(new AgentMessage
        {
            Status = new InterfaceStatusReport
            {
                Version = first.Version,
                Complete = true,
                Interfaces = { new InterfaceStatus { Id = "web-1", State = InterfaceState.Available, PortDevice = "tap-web-1" } },
            },
        });

        // Edit the manifest file: the watcher (or the rescan) reloads it.
        await File.WriteAllTextAsync(ManifestPath, ManifestChangeTests.Web2AsDb(TestData.QuickstartYaml));
        StateUpdate second = await NextUpdate(call);
        Assert.Equal(StateUpdate.StateOneofCase.Delta, second.StateCase);
        Assert.True(second.Version > first.Version);
        Assert.Equal(first.Version, second.Delta.BaseVersion);
        Assert.Empty(second.Delta.UpsertedInterfaces.Select(i => i.Id).Except(["web-1"]));
        held = HostSpecDiff.Apply(held, second.Delta, second.Version);
        Assert.Equal(second.StateSha256, HostSpecDiff.Sha256(held));
        await call.RequestStream.WriteAsync(new AgentMessage { Ack = new Ack { Nonce = second.Nonce, Version = second.Version } });

        var query = new StateQuery.StateQueryClient(_channel);
        GetHostStateResponse state = await WaitFor(
            () => query.GetHostStateAsync(new GetHostStateRequest { Host = "host-a" }).ResponseAsync,
            r => r.AckedVersion == second.Version);
        Assert.Equal(held, state.Spec);
        Assert.True(state.Connected);
        Assert.Equal("tap-web-1", state.Interfaces.Single().PortDevice);
        GetObjectsResponse objects = await query.GetObjectsAsync(new GetObjectsRequest { Kind = "NetworkInterface", Name = "web-1" });
        Assert.Equal("Available", objects.Objects.Single().NetworkInterface.State);

        // Reconnecting with what it holds, the agent gets an empty delta at the same version.
        await call.RequestStream.CompleteAsync();
        using var again = client.Stream();
        await again.RequestStream.WriteAsync(new AgentMessage { Hello = HelloA(second.Version, second.StateSha256) });
        StateUpdate resumed = await NextUpdate(again);
        Assert.Equal(second.Version, resumed.Version);
        Assert.True(HostSpecDiff.IsEmpty(resumed.Delta));
        await again.RequestStream.CompleteAsync();
    }

    [Fact]
    public async Task A_nack_is_recorded_and_the_refused_version_is_not_resent()
    {
        var client = new HostSync.HostSyncClient(_channel);
        using var call = client.Stream();
        await call.RequestStream.WriteAsync(new AgentMessage { Hello = HelloA() });
        StateUpdate first = await NextUpdate(call);
        var error = new FieldError { Field = "interfaces[0].port", Type = FieldErrorType.Invalid, Detail = "no such device" };
        await call.RequestStream.WriteAsync(new AgentMessage { Nack = new Nack { Nonce = first.Nonce, Version = first.Version, Errors = { error } } });

        var query = new StateQuery.StateQueryClient(_channel);
        GetHostStateResponse state = await WaitFor(
            () => query.GetHostStateAsync(new GetHostStateRequest { Host = "host-a" }).ResponseAsync,
            r => r.NackedVersion == first.Version);
        Assert.Equal(error, state.NackErrors.Single());
        Assert.Equal(0UL, state.AckedVersion);

        // The next change comes whole again (nothing was acknowledged).
        await File.WriteAllTextAsync(ManifestPath, ManifestChangeTests.Web2AsDb(TestData.QuickstartYaml));
        StateUpdate second = await NextUpdate(call);
        Assert.Equal(StateUpdate.StateOneofCase.Full, second.StateCase);
        Assert.True(second.Version > first.Version);
        await call.RequestStream.CompleteAsync();
    }

    [Fact]
    public async Task A_hello_with_another_underlay_prefix_is_refused()
    {
        var client = new HostSync.HostSyncClient(_channel);
        using var call = client.Stream();
        await call.RequestStream.WriteAsync(new AgentMessage { Hello = new Hello { HostName = "host-a", UnderlayPrefix = "fc00:9::/64" } });
        RpcException e = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(StatusCode.PermissionDenied, e.StatusCode);
        Assert.Equal("host-a: underlay prefix fc00:9::/64 does not match the configured fc00:1:a::/64", e.Status.Detail);

        using var unknown = client.Stream();
        await unknown.RequestStream.WriteAsync(new AgentMessage { Hello = new Hello { HostName = "host-z", UnderlayPrefix = "fc00:1:a::/64" } });
        e = await Assert.ThrowsAsync<RpcException>(() => unknown.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(StatusCode.PermissionDenied, e.StatusCode);
        Assert.Equal("host-z: not a configured host", e.Status.Detail);
    }

    [Fact]
    public async Task The_router_watches_its_view()
    {
        var client = new RouterView.RouterViewClient(_channel);
        using var cts = new CancellationTokenSource(s_deadline);
        using var call = client.Watch(new RouterHello { RouterName = "router-1", UnderlayAddress = "fc00:0:ff::1" }, cancellationToken: cts.Token);
        Assert.True(await call.ResponseStream.MoveNext(cts.Token));
        RouterViewUpdate view = call.ResponseStream.Current;
        Assert.Equal(_host.Current.RouterView, view);
        Assert.Equal(2, view.Routes.Single(r => r.Kind == PublicIpKind.LoadBalancer).Owners.Count);

        await File.WriteAllTextAsync(ManifestPath, ManifestChangeTests.Web2AsDb(TestData.QuickstartYaml));
        Assert.True(await call.ResponseStream.MoveNext(cts.Token));
        RouterViewUpdate next = call.ResponseStream.Current;
        Assert.True(next.Version > view.Version);
        Assert.Equal("host-a", next.Routes.Single(r => r.Kind == PublicIpKind.LoadBalancer).Owners.Single().Host);
    }

    [Fact]
    public async Task Object_queries_report_manifest_errors()
    {
        await File.AppendAllTextAsync(ManifestPath, "\n---\napiVersion: networking.ironcore.dev/v1alpha1\nkind: VirtualIP\nmetadata: {name: v6}\nspec: {type: Public, ipFamily: IPv5}\n");
        await _host.ReloadAsync();
        var query = new StateQuery.StateQueryClient(_channel);
        GetObjectsResponse response = await query.GetObjectsAsync(new GetObjectsRequest { Kind = "VirtualIP" });
        Assert.Equal(["v6", "virtualip-sample"], response.Objects.Select(o => o.Name));
        FieldError error = response.Objects[0].Errors.Single();
        Assert.Equal(("spec.ipFamily", FieldErrorType.NotSupported, "IPv5"), (error.Field, error.Type, error.Value));
        Assert.Equal("203.0.113.1", response.Objects[1].VirtualIp.Ip);
    }

    private static async Task<T> WaitFor<T>(Func<Task<T>> poll, Func<T, bool> done)
    {
        using var cts = new CancellationTokenSource(s_deadline);
        while (true)
        {
            T value = await poll();
            if (done(value))
            {
                return value;
            }
            await Task.Delay(20, cts.Token);
        }
    }
}
