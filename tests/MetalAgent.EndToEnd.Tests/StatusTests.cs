using System.Text.Json;
using MetalAgent.ControlPlane.V1;
using MetalAgent.EndToEnd.Tests.Kit;

namespace MetalAgent.EndToEnd.Tests;

/// <summary>What operators see: the control plane's object status and each agent's own status over its
/// local control socket (<c>metalagent status</c>).</summary>
[Collection(TopologyCollection.Name)]
public sealed class StatusTests(Topology topology)
{
    [E2EFact]
    public async Task Control_plane_reports_every_interface_available_on_its_host()
    {
        GetObjectsResponse response = await topology.Query.GetObjectsAsync(new GetObjectsRequest { Kind = "NetworkInterface" }, deadline: DateTime.UtcNow.AddSeconds(10));
        foreach (Guest g in topology.Guests.Values)
        {
            ObjectStatus o = Assert.Single(response.Objects, o => o.Name == g.Name);
            Assert.Equal("Available", o.NetworkInterface.State);
            Assert.Equal(g.Host, o.NetworkInterface.Host);
            Assert.Contains(g.Ipv4.ToString(), o.NetworkInterface.Ips);
        }
    }

    [E2ETheory]
    [InlineData("host-a")]
    [InlineData("host-b")]
    public async Task Agent_status_shows_it_in_sync_with_its_guests_taps_bound(string host)
    {
        using JsonDocument status = await topology.AgentStatusAsync(host);
        JsonElement root = status.RootElement;
        Assert.Equal(host, root.GetProperty("hostName").GetString());
        Assert.True(root.GetProperty("inSync").GetBoolean());
        Assert.True(root.GetProperty("ready").GetBoolean());
        foreach (Guest g in topology.Guests.Values.Where(g => g.Host == host))
        {
            JsonElement port = root.GetProperty("ports").EnumerateArray().Single(p => p.GetProperty("name").GetString() == g.Name);
            Assert.Equal("vm", port.GetProperty("kind").GetString());
            Assert.Equal(g.Device, port.GetProperty("device").GetString());
            Assert.True(port.GetProperty("bound").GetBoolean());
            JsonElement iface = root.GetProperty("interfaces").EnumerateArray().Single(i => i.GetProperty("id").GetString() == g.Name);
            Assert.Equal("available", iface.GetProperty("state").GetString());
        }
    }

    [E2ETheory]
    [InlineData("host-a")]
    [InlineData("host-b")]
    public async Task Agent_learned_each_guests_mac(string host)
    {
        using JsonDocument status = await topology.AgentStatusAsync(host);
        foreach (Guest g in topology.Guests.Values.Where(g => g.Host == host))
        {
            JsonElement iface = status.RootElement.GetProperty("interfaces").EnumerateArray().Single(i => i.GetProperty("id").GetString() == g.Name);
            Assert.Equal(await g.MacAsync(), iface.GetProperty("mac").GetString());
        }
    }
}
