using Grpc.Core;
using Grpc.Net.Client;
using MetalAgent.ControlPlane.V1;

namespace MetalAgent.EndToEnd.Tests;

/// <summary>The control plane on the management network serves TLS only, to callers whose client
/// certificate the run's CA issued, each within its role.</summary>
[Collection(TopologyCollection.Name)]
public sealed class ManagementTests(Topology topology)
{
    [E2EFact]
    public async Task Operator_certificate_reads_object_status()
    {
        using GrpcChannel channel = topology.Management.Channel("operator", "alice");
        GetObjectsResponse response = await new StateQuery.StateQueryClient(channel).GetObjectsAsync(new GetObjectsRequest { Kind = "Network" }, deadline: Deadline);
        Assert.Equal(3, response.Objects.Count);
    }

    [E2EFact]
    public async Task Host_certificate_reads_its_own_state_only()
    {
        using GrpcChannel channel = topology.Management.Channel("host", "host-a");
        var client = new StateQuery.StateQueryClient(channel);
        GetHostStateResponse own = await client.GetHostStateAsync(new GetHostStateRequest { Host = "host-a" }, deadline: Deadline);
        Assert.Contains(own.Spec.Interfaces, i => i.Id == "web-1");
        RpcException refused = await Assert.ThrowsAsync<RpcException>(() => client.GetHostStateAsync(new GetHostStateRequest { Host = "host-b" }, deadline: Deadline).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
    }

    [E2EFact]
    public async Task Clients_without_a_certificate_are_refused()
    {
        using GrpcChannel channel = topology.Management.Channel(role: null);
        RpcException refused = await Assert.ThrowsAsync<RpcException>(() => new StateQuery.StateQueryClient(channel).GetObjectsAsync(new GetObjectsRequest(), deadline: Deadline).ResponseAsync);
        Assert.NotEqual(StatusCode.OK, refused.StatusCode);
    }

    [E2EFact]
    public async Task Plaintext_is_refused()
    {
        using GrpcChannel channel = topology.Management.Channel(tls: false);
        RpcException refused = await Assert.ThrowsAsync<RpcException>(() => new StateQuery.StateQueryClient(channel).GetObjectsAsync(new GetObjectsRequest(), deadline: Deadline).ResponseAsync);
        Assert.NotEqual(StatusCode.OK, refused.StatusCode);
    }

    private static DateTime Deadline => DateTime.UtcNow.AddSeconds(10);
}
