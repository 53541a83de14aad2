using System.Net;
using System.Net.Sockets;
using MetalAgent.EndToEnd.Tests.Kit;

namespace MetalAgent.EndToEnd.Tests;

/// <summary>A guest's MAC (learned from its DHCP, ARP and ND) and its addresses are enforced: frames from
/// another MAC and packets from addresses it does not own go nowhere.</summary>
[Collection(TopologyCollection.Name)]
public sealed class SpoofingTests(Topology topology)
{
    private static readonly TimeSpan s_converge = TimeSpan.FromSeconds(15);

    /// <summary>
    /// A second sender on web-2's link (a macvlan on its TAP, in a namespace of its own) uses web-2's address
    /// and knows the gateway's MAC without asking (a permanent neighbour entry, no ARP, no IPv6), so only its
    /// MAC differs from the one the agent learned: its datagrams reach nobody, web-2's own do.
    /// </summary>
    [E2EFact]
    public async Task Frames_from_another_mac_than_the_learned_one_are_dropped()
    {
        Guest web2 = topology["web-2"];
        Guest batch1 = topology["batch-1"];
        await web2.AssertReachesAsync(batch1.Ipv4, s_converge);
        string gatewayMac = await NeighbourMacAsync(web2, "169.254.0.1");
        string spoofNs = topology.Run.AddNamespace("spoof-" + Guid.NewGuid().ToString("N")[..6], ipv6: false);
        try
        {
            await Command.RunAsync("ip", "-n", web2.Namespace, "link", "add", "link", web2.Device, "name", "spoof", "address", "02:00:00:00:e2:e2", "type", "macvlan", "mode", "private");
            await Command.RunAsync("ip", "-n", web2.Namespace, "link", "set", "spoof", "netns", spoofNs);
            await Command.RunAsync("ip", "-n", spoofNs, "addr", "add", web2.Ipv4 + "/32", "dev", "spoof");
            await Command.RunAsync("ip", "-n", spoofNs, "link", "set", "spoof", "up");
            await Command.RunAsync("ip", "-n", spoofNs, "neigh", "replace", "169.254.0.1", "lladdr", gatewayMac, "dev", "spoof", "nud", "permanent");
            await Command.RunAsync("ip", "-n", spoofNs, "route", "add", "default", "via", "169.254.0.1", "dev", "spoof", "onlink");

            long droppedBefore = await topology.DropCountAsync("host-b", "spoofed_mac");
            using Socket receiver = NamespaceSockets.Create(batch1.Namespace, AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            receiver.Bind(new IPEndPoint(IPAddress.Any, 7402));
            var target = new IPEndPoint(batch1.Ipv4, 7402);
            await SendAsync(spoofNs, target, "spoofed");
            await SendAsync(web2.Namespace, target, "genuine");
            // Datagrams of one path arrive in order: the genuine one, sent after the spoofed one, comes first and alone.
            Assert.Equal("genuine", await ReceiveAsync(receiver, TimeSpan.FromSeconds(10)));
            await SendAsync(spoofNs, target, "spoofed again");
            await web2.AssertReachesAsync(batch1.Ipv4, s_converge);
            await SendAsync(web2.Namespace, target, "genuine again");
            Assert.Equal("genuine again", await ReceiveAsync(receiver, TimeSpan.FromSeconds(10)));
            // They did reach the agent, which dropped them for their MAC.
            Assert.True(await topology.DropCountAsync("host-b", "spoofed_mac") >= droppedBefore + 2);
        }
        finally
        {
            await Command.TryRunAsync("ip", "netns", "del", spoofNs);
        }
        await web2.AssertReachesAsync(batch1.Ipv4, s_converge);
    }

    private static async Task SendAsync(string ns, IPEndPoint target, string text)
    {
        using Socket socket = NamespaceSockets.Create(ns, AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        await socket.SendToAsync(System.Text.Encoding.ASCII.GetBytes(text), target);
    }

    private static async Task<string> ReceiveAsync(Socket socket, TimeSpan within)
    {
        var buffer = new byte[256];
        using var cts = new CancellationTokenSource(within);
        int n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
        return System.Text.Encoding.ASCII.GetString(buffer, 0, n);
    }

    private static async Task<string> NeighbourMacAsync(Guest guest, string address)
    {
        string text = (await guest.IpAsync("neigh", "show", address, "dev", guest.Device)).Stdout;
        int at = text.IndexOf("lladdr ", StringComparison.Ordinal);
        return at < 0 ? throw new InvalidOperationException($"{guest.Name} has no neighbour entry for {address}: {text}") : text.Substring(at + 7, 17);
    }

    [E2EFact]
    public async Task A_guest_sending_from_an_address_it_does_not_own_reaches_nobody()
    {
        Guest web2 = topology["web-2"];
        long droppedBefore = await topology.DropCountAsync("host-b", "spoofed_source");
        IPAddress foreign = IPAddress.Parse("10.0.0.99");
        using EchoServer batch = Tcp.Serve(topology["batch-1"], 7400);
        (Socket own, _) = await Tcp.ConnectAsync(web2, new IPEndPoint(topology["batch-1"].Ipv4, 7400), s_converge);
        own.Dispose();
        await web2.IpAsync("addr", "add", foreign + "/32", "dev", web2.Device);
        try
        {
            (ConnectOutcome outcome, Socket? socket, string detail) = await NamespaceSockets.ConnectAsync(
                web2.Namespace, new IPEndPoint(topology["batch-1"].Ipv4, 7400), Tcp.ConnectTimeout, foreign);
            socket?.Dispose();
            Assert.True(outcome == ConnectOutcome.TimedOut, $"a connection from {foreign} must be dropped, but: {outcome} {detail}");
        }
        finally
        {
            await web2.IpAsync("addr", "del", foreign + "/32", "dev", web2.Device);
        }
        Assert.DoesNotContain(batch.Peers, p => p.Address.Equals(foreign));
        Assert.True(await topology.DropCountAsync("host-b", "spoofed_source") > droppedBefore);
    }
}
