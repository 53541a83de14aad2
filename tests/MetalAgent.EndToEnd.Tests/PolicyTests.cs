using System.Net;
using System.Net.Sockets;
using MetalAgent.EndToEnd.Tests.Kit;

namespace MetalAgent.EndToEnd.Tests;

/// <summary>
/// The quickstart's NetworkPolicy selects db-1 (app: db) for both directions: ingress TCP 5432 from the
/// web interfaces (and 172.17.0.0/16 and the web load balancer), egress TCP 8080 to 10.0.0.0/24. Everything
/// else is dropped, replies of allowed connections pass, DHCP with the virtual gateway is never filtered.
/// </summary>
[Collection(TopologyCollection.Name)]
public sealed class PolicyTests(Topology topology)
{
    private static readonly TimeSpan s_converge = TimeSpan.FromSeconds(15);

    private Guest Db => topology["db-1"];

    [E2EFact]
    public async Task Db1_accepts_5432_from_web1_on_its_own_host()
    {
        using EchoServer db = Tcp.Serve(Db, 5432);
        (Socket socket, string reply) = await Tcp.ConnectAsync(topology["web-1"], new IPEndPoint(Db.Ipv4, 5432), s_converge);
        socket.Dispose();
        // The reply leaves db-1 although its egress allows only TCP 8080: replies of allowed connections pass.
        Assert.Equal("db-1 hello from web-1", reply);
    }

    [E2EFact]
    public async Task Db1_accepts_5432_from_web2_across_hosts()
    {
        using EchoServer db = Tcp.Serve(Db, 5432);
        (Socket socket, string reply) = await Tcp.ConnectAsync(topology["web-2"], new IPEndPoint(Db.Ipv4, 5432), s_converge);
        socket.Dispose();
        Assert.Equal("db-1 hello from web-2", reply);
    }

    [E2EFact]
    public async Task Db1_accepts_5432_from_the_web_load_balancers_address()
    {
        // A target owns its load balancer's IP (an alias it may send from); the policy admits the LB labelled app: web.
        IPAddress lb = await topology.PublicIpAsync("LoadBalancer", "loadbalancer-sample");
        Guest web1 = topology["web-1"];
        await Command.RunAsync("ip", "-n", web1.Namespace, "addr", "replace", lb + "/32", "dev", web1.Device);
        using EchoServer db = Tcp.Serve(Db, 5432);
        (Socket socket, string reply) = await Tcp.ConnectAsync(web1.Namespace, web1.Name, new IPEndPoint(Db.Ipv4, 5432), s_converge, lb);
        socket.Dispose();
        Assert.Equal("db-1 hello from web-1", reply);
        Assert.Equal(lb, Assert.Single(db.Peers).Address);
    }

    [E2EFact]
    public async Task Db1_drops_other_ports_from_web_guests()
    {
        using EchoServer allowed = Tcp.Serve(Db, 5432);
        using EchoServer other = Tcp.Serve(Db, 5433);
        (Socket socket, _) = await Tcp.ConnectAsync(topology["web-1"], new IPEndPoint(Db.Ipv4, 5432), s_converge);
        socket.Dispose();
        await Tcp.AssertTimesOutAsync(topology["web-1"], new IPEndPoint(Db.Ipv4, 5433));
        await Tcp.AssertTimesOutAsync(topology["web-2"], new IPEndPoint(Db.Ipv4, 5433));
        Assert.Empty(other.Peers);
    }

    [E2EFact]
    public async Task Db1_drops_5432_from_sources_the_policy_does_not_name()
    {
        using EchoServer db = Tcp.Serve(Db, 5432);
        (Socket socket, _) = await Tcp.ConnectAsync(topology["web-2"], new IPEndPoint(Db.Ipv4, 5432), s_converge);
        socket.Dispose();
        // batch-1 (10.1.0.1, the peered network) reaches web-2 on the same host, but not db-1.
        await Tcp.AssertTimesOutAsync(topology["batch-1"], new IPEndPoint(Db.Ipv4, 5432));
        Assert.DoesNotContain(db.Peers, p => p.Address.Equals(topology["batch-1"].Ipv4));
    }

    [E2EFact]
    public async Task Db1_is_not_pingable_as_its_ingress_allows_tcp_only()
    {
        await topology["web-1"].AssertReachesAsync(topology["web-2"].Ipv4, s_converge);
        await topology["web-1"].AssertDoesNotReachAsync(Db.Ipv4);
    }

    [E2EFact]
    public async Task Db1_egress_reaches_tcp_8080_in_10_0_0_0_24()
    {
        using EchoServer web1 = Tcp.Serve(topology["web-1"], 8080);
        using EchoServer web2 = Tcp.Serve(topology["web-2"], 8080);
        (Socket a, string replyA) = await Tcp.ConnectAsync(Db, new IPEndPoint(topology["web-1"].Ipv4, 8080), s_converge);
        a.Dispose();
        (Socket b, string replyB) = await Tcp.ConnectAsync(Db, new IPEndPoint(topology["web-2"].Ipv4, 8080), s_converge);
        b.Dispose();
        // The answers enter db-1 although its ingress allows only 5432: replies pass.
        Assert.Equal("web-1 hello from db-1", replyA);
        Assert.Equal("web-2 hello from db-1", replyB);
    }

    [E2EFact]
    public async Task Db1_egress_drops_other_ports()
    {
        using EchoServer allowed = Tcp.Serve(topology["web-1"], 8080);
        using EchoServer other = Tcp.Serve(topology["web-1"], 8081);
        (Socket socket, _) = await Tcp.ConnectAsync(Db, new IPEndPoint(topology["web-1"].Ipv4, 8080), s_converge);
        socket.Dispose();
        await Tcp.AssertTimesOutAsync(Db, new IPEndPoint(topology["web-1"].Ipv4, 8081));
        Assert.Empty(other.Peers);
    }

    [E2EFact]
    public async Task Db1_egress_drops_destinations_outside_10_0_0_0_24()
    {
        using EchoServer batch = Tcp.Serve(topology["batch-1"], 8080);
        (Socket socket, _) = await Tcp.ConnectAsync(topology["web-2"], new IPEndPoint(topology["batch-1"].Ipv4, 8080), s_converge);
        socket.Dispose();
        await Tcp.AssertTimesOutAsync(Db, new IPEndPoint(topology["batch-1"].Ipv4, 8080));
        Assert.DoesNotContain(batch.Peers, p => p.Address.Equals(Db.Ipv4));
    }

    [E2EFact]
    public async Task Db1_egress_drops_icmp()
    {
        await Db.AssertDoesNotReachAsync(topology["web-1"].Ipv4);
    }

    [E2EFact]
    public async Task Db1_dhcp_keeps_working_under_its_policy()
    {
        File.Delete(Path.Combine(Db.StateDirectory, "udhcpc-bound.env"));
        CommandResult result = await Db.Dhcp4Async();
        Assert.True(result.Ok, result.ToString());
        Assert.Equal("10.0.0.10", Db.Lease4().GetValueOrDefault("ip"));
    }
}
