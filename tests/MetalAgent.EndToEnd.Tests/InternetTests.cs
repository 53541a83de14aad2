using System.Net;
using System.Net.Sockets;
using Grpc.Core;
using Grpc.Net.Client;
using MetalAgent.ControlPlane.V1;
using MetalAgent.EndToEnd.Tests.Kit;

namespace MetalAgent.EndToEnd.Tests;

/// <summary>
/// The internet path through the underlay router: web-1's VirtualIP both ways, web-2 through the NAT
/// gateway (its own port range) over IPv4 and from IPv6 through NAT64, the public load balancer over
/// web-1 and web-2, and who must not get out (db-1's egress policy, networks without NAT).
/// </summary>
[Collection(TopologyCollection.Name)]
public sealed class InternetTests(Topology topology)
{
    private static readonly TimeSpan s_converge = TimeSpan.FromSeconds(20);

    private string Internet => topology.InternetNs;

    [E2EFact]
    public async Task Web1_reaches_the_internet_from_its_virtual_ip()
    {
        IPAddress vip = await topology.PublicIpAsync("VirtualIP", "virtualip-sample");
        using var server = new EchoServer(Internet, "internet", AddressFamily.InterNetwork, 8000);
        (Socket socket, string reply) = await Tcp.ConnectAsync(topology["web-1"], new IPEndPoint(Topology.InternetServer, 8000), s_converge);
        socket.Dispose();
        Assert.Equal("internet hello from web-1", reply);
        Assert.Equal(vip, Assert.Single(server.Peers).Address);
    }

    [E2EFact]
    public async Task Web1_is_reachable_on_its_virtual_ip_from_the_internet()
    {
        IPAddress vip = await topology.PublicIpAsync("VirtualIP", "virtualip-sample");
        using EchoServer web1 = Tcp.Serve(topology["web-1"], 8001);
        (Socket socket, string reply) = await Tcp.ConnectAsync(Internet, "internet", new IPEndPoint(vip, 8001), s_converge);
        socket.Dispose();
        Assert.Equal("web-1 hello from internet", reply);
        // Translated back to web-1's own address on the way in; the internet source stays as it was.
        Assert.Equal(Topology.InternetServer, Assert.Single(web1.Peers).Address);
    }

    [E2EFact]
    public async Task Web2_reaches_the_internet_through_the_nat_gateway_inside_its_port_range()
    {
        (IPAddress natIp, int first, int last) = await topology.NatSliceAsync("host-b", "web-2");
        Assert.Equal(await topology.PublicIpAsync("NATGateway", "natgateway-sample"), natIp);
        Assert.Equal(64, last - first + 1);
        using var server = new EchoServer(Internet, "internet", AddressFamily.InterNetwork, 8002);
        for (int i = 0; i < 5; i++)
        {
            (Socket socket, string reply) = await Tcp.ConnectAsync(topology["web-2"], new IPEndPoint(Topology.InternetServer, 8002), s_converge);
            socket.Dispose();
            Assert.Equal("internet hello from web-2", reply);
        }
        Assert.All(server.Peers, p =>
        {
            Assert.Equal(natIp, p.Address);
            Assert.InRange(p.Port, first, last);
        });
        Assert.Equal(5, server.Peers.Select(p => p.Port).Distinct().Count());
    }

    [E2EFact]
    public async Task Web2_reaches_ipv4_internet_from_its_ipv6_address_through_nat64()
    {
        (IPAddress natIp, int first, int last) = await topology.NatSliceAsync("host-b", "web-2");
        using var server = new EchoServer(Internet, "internet", AddressFamily.InterNetwork, 8003);
        IPAddress nat64 = IPAddress.Parse("64:ff9b::" + Topology.InternetServer);
        (Socket socket, string reply) = await Tcp.ConnectAsync(topology["web-2"], new IPEndPoint(nat64, 8003), s_converge);
        socket.Dispose();
        Assert.Equal("internet hello from web-2", reply);
        IPEndPoint peer = Assert.Single(server.Peers);
        Assert.Equal(natIp, peer.Address);
        Assert.InRange(peer.Port, first, last);
    }

    [E2EFact]
    public async Task Db1_egress_policy_keeps_it_from_the_internet()
    {
        using var server = new EchoServer(Internet, "internet", AddressFamily.InterNetwork, 8080);
        // The same server is reachable through the same NAT gateway from web-2.
        (Socket socket, _) = await Tcp.ConnectAsync(topology["web-2"], new IPEndPoint(Topology.InternetServer, 8080), s_converge);
        socket.Dispose();
        await Tcp.AssertTimesOutAsync(topology["db-1"], new IPEndPoint(Topology.InternetServer, 8080));
        Assert.Single(server.Peers);
    }

    [E2EFact]
    public async Task Networks_without_nat_or_virtual_ip_do_not_reach_the_internet()
    {
        using var server = new EchoServer(Internet, "internet", AddressFamily.InterNetwork, 8004);
        (Socket socket, _) = await Tcp.ConnectAsync(topology["web-2"], new IPEndPoint(Topology.InternetServer, 8004), s_converge);
        socket.Dispose();
        await Tcp.AssertTimesOutAsync(topology["batch-1"], new IPEndPoint(Topology.InternetServer, 8004));
        await Tcp.AssertTimesOutAsync(topology["other-1"], new IPEndPoint(Topology.InternetServer, 8004));
        Assert.Single(server.Peers);
    }

    [E2EFact]
    public async Task Public_load_balancer_spreads_new_connections_over_web1_and_web2()
    {
        IPAddress lb = await OwnLoadBalancerIpAsync(topology["web-1"], topology["web-2"]);
        using EchoServer web1 = Tcp.Serve(topology["web-1"], 80);
        using EchoServer web2 = Tcp.Serve(topology["web-2"], 80);
        var served = new Dictionary<string, int>(StringComparer.Ordinal);
        // New connections from two internet addresses and many ports: the router may hand them to either host.
        for (int i = 0; i < 24; i++)
        {
            IPAddress source = i % 2 == 0 ? Topology.InternetServer : Topology.InternetServer2;
            (Socket socket, string reply) = await Tcp.ConnectAsync(Internet, "internet", new IPEndPoint(lb, 80), s_converge, source);
            socket.Dispose();
            string target = reply.Split(' ')[0];
            served[target] = served.GetValueOrDefault(target) + 1;
        }
        Assert.True(served.ContainsKey("web-1") && served.ContainsKey("web-2"), "targets: " + string.Join(", ", served));
        // Direct server return: the targets see the internet clients' own addresses.
        Assert.All(web1.Peers.Concat(web2.Peers), p => Assert.True(p.Address.Equals(Topology.InternetServer) || p.Address.Equals(Topology.InternetServer2), p.ToString()));
    }

    [E2EFact]
    public async Task Router_view_lets_either_host_serve_the_load_balancer_ip()
    {
        IPAddress lb = await topology.PublicIpAsync("LoadBalancer", "loadbalancer-sample");
        using GrpcChannel channel = topology.Management.Channel("router", "router");
        using AsyncServerStreamingCall<RouterViewUpdate> watch = new RouterView.RouterViewClient(channel)
            .Watch(new RouterHello { RouterName = "router" }, deadline: DateTime.UtcNow.AddSeconds(10));
        Assert.True(await watch.ResponseStream.MoveNext(CancellationToken.None));
        PublicIpRoute route = Assert.Single(watch.ResponseStream.Current.Routes, r => r.Ip == lb.ToString());
        Assert.Equal(PublicIpKind.LoadBalancer, route.Kind);
        Assert.Equal(["host-a", "host-b"], route.Owners.Select(o => o.Host).Order(StringComparer.Ordinal));
    }

    [E2EFact]
    public async Task Established_load_balancer_connection_survives_adding_a_target()
    {
        IPAddress lb = await OwnLoadBalancerIpAsync(topology["web-1"], topology["web-2"]);
        using EchoServer web1 = Tcp.Serve(topology["web-1"], 80);
        using EchoServer web2 = Tcp.Serve(topology["web-2"], 80);
        var connections = new List<(Socket Socket, string Target)>();
        try
        {
            for (int i = 0; i < 8; i++)
            {
                (Socket socket, string reply) = await Tcp.ConnectAsync(Internet, "internet", new IPEndPoint(lb, 80), s_converge, i % 2 == 0 ? Topology.InternetServer : Topology.InternetServer2);
                connections.Add((socket, reply.Split(' ')[0]));
            }
            await topology.AddSpareAsync();
            try
            {
                await Command.RunAsync("ip", "-n", topology.Spare.Namespace, "addr", "replace", lb + "/32", "dev", topology.Spare.Device);
                using EchoServer web3 = Tcp.Serve(topology.Spare, 80);
                // Every connection keeps its target although the Maglev table now also holds web-3.
                foreach ((Socket socket, string target) in connections)
                {
                    Assert.Equal($"{target} after adding web-3", await Tcp.EchoAsync(socket, "after adding web-3", TimeSpan.FromSeconds(10)));
                }
            }
            finally
            {
                await topology.RemoveSpareAsync();
            }
        }
        finally
        {
            foreach ((Socket socket, _) in connections)
            {
                socket.Dispose();
            }
        }
    }

    /// <summary>
    /// A sender on a veth with transmit checksum offload (any Linux host sending locally) hands the router
    /// frames whose TCP checksum is only partial (AF_PACKET flags them TP_STATUS_CSUMNOTREADY). The packet
    /// socket port finishes it; forwarded unfinished, the NAT's incremental update would reach web-2 wrong and
    /// its kernel would drop the SYN-ACK (TcpInCsumErrors).
    /// </summary>
    [E2EFact]
    public async Task Internet_hosts_with_checksum_offload_reach_web2_through_the_nat_gateway()
    {
        using var server = new EchoServer(Internet, "internet", AddressFamily.InterNetwork, 8005);
        await topology.SetChecksumOffloadAsync(on: true);
        try
        {
            (Socket socket, string reply) = await Tcp.ConnectAsync(topology["web-2"], new IPEndPoint(Topology.InternetServer, 8005), s_converge);
            socket.Dispose();
            Assert.Equal("internet hello from web-2", reply);
        }
        finally
        {
            await topology.SetChecksumOffloadAsync(on: false);
        }
    }

    /// <summary>The load balancer's public IP, added as an address on its targets (a target owns the LB IP).</summary>
    private async Task<IPAddress> OwnLoadBalancerIpAsync(params Guest[] targets)
    {
        IPAddress lb = await topology.PublicIpAsync("LoadBalancer", "loadbalancer-sample");
        foreach (Guest g in targets)
        {
            await Command.RunAsync("ip", "-n", g.Namespace, "addr", "replace", lb + "/32", "dev", g.Device);
        }
        return lb;
    }
}
