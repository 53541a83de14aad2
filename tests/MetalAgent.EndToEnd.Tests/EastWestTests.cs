using System.Net;
using System.Net.Sockets;
using MetalAgent.EndToEnd.Tests.Kit;

namespace MetalAgent.EndToEnd.Tests;

/// <summary>Guests reach each other inside a network and across the peering, on one host and across hosts;
/// the isolated network reuses web-1's address and reaches (and is reached by) nobody.</summary>
[Collection(TopologyCollection.Name)]
public sealed class EastWestTests(Topology topology)
{
    private static readonly TimeSpan s_converge = TimeSpan.FromSeconds(15);

    [E2EFact]
    public async Task Same_host_across_the_peering_web2_and_batch1_ping_each_other()
    {
        await topology["web-2"].AssertReachesAsync(topology["batch-1"].Ipv4, s_converge);
        await topology["batch-1"].AssertReachesAsync(topology["web-2"].Ipv4, s_converge);
    }

    [E2EFact]
    public async Task Across_hosts_web1_and_web2_ping_each_other()
    {
        await topology["web-1"].AssertReachesAsync(topology["web-2"].Ipv4, s_converge);
        await topology["web-2"].AssertReachesAsync(topology["web-1"].Ipv4, s_converge);
    }

    [E2EFact]
    public async Task Across_hosts_and_the_peering_web1_and_batch1_ping_each_other()
    {
        await topology["web-1"].AssertReachesAsync(topology["batch-1"].Ipv4, s_converge);
        await topology["batch-1"].AssertReachesAsync(topology["web-1"].Ipv4, s_converge);
    }

    [E2EFact]
    public async Task Web1_and_web2_ping_each_other_over_ipv6()
    {
        await topology["web-1"].AssertReachesAsync(topology["web-2"].Ipv6!, s_converge);
        await topology["web-2"].AssertReachesAsync(topology["web-1"].Ipv6!, s_converge);
    }

    [E2EFact]
    public async Task Guests_ping_their_virtual_gateway()
    {
        foreach (Guest g in topology.Guests.Values)
        {
            await g.AssertReachesAsync(IPAddress.Parse("169.254.0.1"), s_converge);
        }
    }

    [E2EFact]
    public async Task Isolated_other1_reaches_none_of_the_others()
    {
        Guest other = topology["other-1"];
        // Alive and served (its gateway answers), so the silence below is isolation, not a dead guest.
        await other.AssertReachesAsync(IPAddress.Parse("169.254.0.1"), s_converge);
        foreach (string name in (string[])["web-2", "batch-1", "db-1"])
        {
            await other.AssertDoesNotReachAsync(topology[name].Ipv4);
        }
    }

    [E2EFact]
    public async Task Nobody_reaches_isolated_other1_at_the_address_it_shares_with_web1()
    {
        const int port = 7001;
        using EchoServer web1 = Tcp.Serve(topology["web-1"], port);
        using EchoServer other1 = Tcp.Serve(topology["other-1"], port);
        foreach (string name in (string[])["web-2", "batch-1"])
        {
            (Socket socket, string reply) = await Tcp.ConnectAsync(topology[name], new IPEndPoint(IPAddress.Parse("10.0.0.1"), port), s_converge);
            socket.Dispose();
            Assert.StartsWith("web-1 ", reply, StringComparison.Ordinal);
        }
        Assert.Empty(other1.Peers);
        Assert.Equal(2, web1.Peers.Count);
    }

    [E2EFact]
    public async Task Tcp_on_the_same_host_across_the_peering()
    {
        const int port = 7002;
        using EchoServer server = Tcp.Serve(topology["batch-1"], port);
        (Socket socket, string reply) = await Tcp.ConnectAsync(topology["web-2"], new IPEndPoint(topology["batch-1"].Ipv4, port), s_converge);
        using (socket)
        {
            Assert.Equal("batch-1 hello from web-2", reply);
            Assert.Equal("batch-1 second line", await Tcp.EchoAsync(socket, "second line", TimeSpan.FromSeconds(5)));
        }
        Assert.Equal(topology["web-2"].Ipv4, Assert.Single(server.Peers).Address);
    }

    [E2EFact]
    public async Task Tcp_across_hosts()
    {
        const int port = 7003;
        using EchoServer server = Tcp.Serve(topology["web-2"], port);
        (Socket socket, string reply) = await Tcp.ConnectAsync(topology["web-1"], new IPEndPoint(topology["web-2"].Ipv4, port), s_converge);
        socket.Dispose();
        Assert.Equal("web-2 hello from web-1", reply);
        // The server sees the client's own address: no translation between guests.
        Assert.Equal(topology["web-1"].Ipv4, Assert.Single(server.Peers).Address);
    }

    [E2EFact]
    public async Task Tcp_across_hosts_over_ipv6()
    {
        const int port = 7004;
        using EchoServer server = Tcp.Serve(topology["web-1"], port, AddressFamily.InterNetworkV6);
        (Socket socket, string reply) = await Tcp.ConnectAsync(topology["web-2"], new IPEndPoint(topology["web-1"].Ipv6!, port), s_converge);
        socket.Dispose();
        Assert.Equal("web-1 hello from web-2", reply);
        Assert.Equal(topology["web-2"].Ipv6, Assert.Single(server.Peers).Address);
    }

    [E2EFact]
    public async Task Tcp_across_hosts_and_the_peering()
    {
        const int port = 7005;
        using EchoServer server = Tcp.Serve(topology["web-1"], port);
        (Socket socket, string reply) = await Tcp.ConnectAsync(topology["batch-1"], new IPEndPoint(topology["web-1"].Ipv4, port), s_converge);
        socket.Dispose();
        Assert.Equal("web-1 hello from batch-1", reply);
    }
}
