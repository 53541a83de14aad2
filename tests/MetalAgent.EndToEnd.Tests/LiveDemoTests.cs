using System.Net;
using System.Net.Sockets;
using MetalAgent.EndToEnd.Tests.Kit;
using Xunit.Abstractions;

namespace MetalAgent.EndToEnd.Tests;

/// <summary>
/// The live demo (<c>bash scripts/demo.sh</c>): on the end-to-end topology — the control plane over TLS,
/// agents host-a and host-b with guests on TAP devices configured by real DHCP clients, the underlay and
/// the userspace router towards the internet namespace — it shows guests pinging each other, an internet
/// client reaching web-1 and web-2 through the public load balancer, web-1 reaching the internet from
/// its VirtualIP, then <c>metalagent status</c> and <c>metalagent get</c>. Each step is also asserted,
/// so the demo is tested by CI like everything else.
/// </summary>
[Collection(TopologyCollection.Name)]
public sealed class LiveDemoTests(Topology topology, ITestOutputHelper output)
{
    private static readonly TimeSpan s_converge = TimeSpan.FromSeconds(20);

    [E2EFact]
    public async Task Live_demo()
    {
        Say("MetalAgent live demo: control plane (TLS), agents host-a and host-b, underlay router, internet namespace.");
        foreach (Guest g in topology.Guests.Values.OrderBy(g => g.Name, StringComparer.Ordinal))
        {
            Say($"  guest {g.Name,-8} on {g.Host}: {g.Ipv4} (namespace {g.Namespace}, TAP {g.Device}, configured by DHCP)");
        }

        Say("\n$ ping -c 2 web-2 (from web-1: host-a to host-b over IP-in-IPv6)");
        string ping = await Command.RunAsync("ip", "netns", "exec", topology["web-1"].Namespace, "ping", "-c", "2", "-W", "2", topology["web-2"].Ipv4.ToString());
        Say(ping);
        Assert.Contains(" 0% packet loss", ping, StringComparison.Ordinal);

        Say("$ ping -c 2 batch-1 (from web-1: across the network peering)");
        string peering = await Command.RunAsync("ip", "netns", "exec", topology["web-1"].Namespace, "ping", "-c", "2", "-W", "2", topology["batch-1"].Ipv4.ToString());
        Say(peering);
        Assert.Contains(" 0% packet loss", peering, StringComparison.Ordinal);

        IPAddress lb = await topology.PublicIpAsync("LoadBalancer", "loadbalancer-sample");
        foreach (Guest target in new[] { topology["web-1"], topology["web-2"] })
        {
            // A load balancer target owns the LB's IP.
            await Command.RunAsync("ip", "-n", target.Namespace, "addr", "replace", lb + "/32", "dev", target.Device);
        }
        using (EchoServer web1 = Tcp.Serve(topology["web-1"], 80))
        using (EchoServer web2 = Tcp.Serve(topology["web-2"], 80))
        {
            Say($"Internet clients connect to the public load balancer {lb}:80 (Maglev over web-1 and web-2):");
            var served = new SortedDictionary<string, int>(StringComparer.Ordinal);
            for (int i = 0; i < 8; i++)
            {
                IPAddress source = i % 2 == 0 ? Topology.InternetServer : Topology.InternetServer2;
                (Socket socket, string reply) = await Tcp.ConnectAsync(topology.InternetNs, "internet", new IPEndPoint(lb, 80), s_converge, source);
                socket.Dispose();
                Say($"  {source} -> {lb}:80 answered: {reply}");
                string target = reply.Split(' ')[0];
                served[target] = served.GetValueOrDefault(target) + 1;
            }
            Assert.True(served.Count >= 1, "nobody answered");
        }

        using (var internet = new EchoServer(topology.InternetNs, "internet", AddressFamily.InterNetwork, 8099))
        {
            IPAddress vip = await topology.PublicIpAsync("VirtualIP", "virtualip-sample");
            (Socket socket, string reply) = await Tcp.ConnectAsync(topology["web-1"], new IPEndPoint(Topology.InternetServer, 8099), s_converge);
            socket.Dispose();
            Say($"\nweb-1 connects to the internet server {Topology.InternetServer}:8099 and is seen as {Assert.Single(internet.Peers).Address} (its VirtualIP {vip}): {reply}");
            Assert.Equal(vip, internet.Peers.Single().Address);
        }

        Say("\n$ metalagent status   (host-a, over its root-only control socket)");
        CommandResult status = await Command.TryRunAsync("dotnet", [ServiceProcess.AgentDll, "status", "--socket", topology.ControlSocket("host-a")], TimeSpan.FromSeconds(30));
        Say(status.Stdout);
        Assert.True(status.Ok, status.ToString());

        Say("$ metalagent get networkinterface   (an operator, over TLS with a client certificate)");
        CommandResult get = await Command.TryRunAsync("ip",
            ["netns", "exec", topology.ManagementNs, "dotnet", ServiceProcess.AgentDll, "get", "NetworkInterface", .. topology.Management.OperatorArguments("demo")],
            TimeSpan.FromSeconds(30));
        Say(get.Stdout);
        Assert.True(get.Ok, get.ToString());
        Assert.Contains("web-1", get.Stdout, StringComparison.Ordinal);
        Say("The topology is torn down when the run ends (namespaces, devices, processes).");
    }

    private void Say(string text) => output.WriteLine(text);
}
