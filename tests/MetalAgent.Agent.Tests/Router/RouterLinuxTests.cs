using System.Diagnostics;
using System.Net;
using MetalAgent.Agent.Router;
using MetalAgent.Backends;
using MetalAgent.Backends.Linux;
using MetalAgent.ControlPlane.V1;
using static MetalAgent.Agent.Tests.Router.TestRouterFrames;

namespace MetalAgent.Agent.Tests.Router;

/// <summary>
/// The router on real devices: AF_PACKET on two veth pairs in a namespace of its own, a kernel
/// underlay next hop (answering the router's solicitation) and a kernel internet server running
/// ping against a VirtualIP. The test plays the host that owns the VirtualIP: it reads the
/// encapsulated request on the underlay link and sends the encapsulated reply back, which the router
/// decapsulates to the server, whose ping then succeeds.
/// </summary>
public sealed class RouterLinuxTests
{
    private static readonly TimeSpan s_deadline = TimeSpan.FromSeconds(15);

    [RootFact]
    public async Task A_kernel_ping_to_a_virtual_ip_goes_through_the_router_both_ways()
    {
        using var namespaces = new RouterNamespaces();
        string routerNs = namespaces.Create(ipv6: false);
        string underlayNs = namespaces.Create(ipv6: true);
        string internetNs = namespaces.Create(ipv6: false);
        (string routerUnderlay, string gatewayDevice) = RouterNamespaces.Link(routerNs, underlayNs);
        (string routerInternet, string serverDevice) = RouterNamespaces.Link(routerNs, internetNs);
        RouterNamespaces.Ip("-n", underlayNs, "addr", "add", "fc00:ffff::fffe/64", "dev", gatewayDevice, "nodad");
        RouterNamespaces.Ip("-n", internetNs, "addr", "add", "198.51.100.7/24", "dev", serverDevice);
        RouterNamespaces.Ip("-n", internetNs, "route", "add", "203.0.113.0/24", "via", "198.51.100.254");

        var errors = new List<string>();
        RouterSpec spec = RouterSpec.Parse("fc00:ffff::1", "fc00:ffff::fffe", null, ["198.51.100.254/24"], [], 0, errors);
        Assert.Empty(errors);
        var underlayPort = new PacketSocketPort("underlay", PortRole.Uplink, routerUnderlay, 1, routerNs);
        var internetPort = new PacketSocketPort("internet", PortRole.Uplink, routerInternet, 1, routerNs);
        await using var router = new RouterHost(spec, underlayPort, internetPort, new RouterHostOptions { CounterLogInterval = TimeSpan.Zero });
        var view = new RouterViewUpdate { Version = 1 };
        view.Routes.Add(RouterFixture.Route("203.0.113.10", PublicIpKind.VirtualIp, ("fc00:1:a::10", 0, 0)));
        router.Pipeline.Table = PublicIpTable.Build(view, []);
        using var host = new PacketSocketPort("host", PortRole.Uplink, gatewayDevice, 1, underlayNs);
        var pool = new PacketPool(64);
        router.Start();

        using Process ping = Start("ip", "netns", "exec", internetNs, "ping", "-c", "1", "-W", "10", "203.0.113.10");
        byte[] request = ReceiveEncapsulated(host, pool);

        // Resolved through the kernel's neighbor advertisement, sent from the router's /128.
        Assert.Equal(Mac(host.MacAddress).GetAddressBytes(), request[..6]);
        Assert.Equal(Mac(underlayPort.MacAddress).GetAddressBytes(), request[6..12]);
        Assert.Equal("fc00:ffff::1", OuterSource(request));
        Assert.Equal("fc00:1:a::10", OuterDestination(request));
        Assert.Equal(64, request[21]);
        Assert.NotEqual(0u, FlowLabel(request));
        byte[] inner = request[54..];
        Assert.Equal("198.51.100.7", new IPAddress(inner.AsSpan(12, 4)).ToString());
        Assert.Equal("203.0.113.10", new IPAddress(inner.AsSpan(16, 4)).ToString());
        Assert.Equal(63, inner[8]);
        Assert.Equal(8, inner[20]);

        // The owner's answer, from the VirtualIP, encapsulated to the router.
        byte[] message = inner[20..];
        message[0] = 0;
        byte[] reply = Underlay(Mac(host.MacAddress), Mac(underlayPort.MacAddress), "fc00:1:a::10", "fc00:ffff::1",
            Icmp4Packet("203.0.113.10", "198.51.100.7", message));
        Send(host, pool, reply);

        Assert.True(await WaitForExit(ping), "ping did not finish");
        Assert.True(ping.ExitCode == 0, $"ping failed: {await ping.StandardOutput.ReadToEndAsync()} {await ping.StandardError.ReadToEndAsync()}; router: {router.Pipeline.Counters.Summary()}");
        Assert.True(router.Pipeline.Counters.AnsweredPackets >= 1, "the server's ARP request was answered");
        Assert.Equal(1, router.Pipeline.Counters.EncapsulatedPackets);
        Assert.Equal(1, router.Pipeline.Counters.DecapsulatedPackets);
    }

    private static Process Start(string program, params string[] args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        return Process.Start(psi)!;
    }

    private static async Task<bool> WaitForExit(Process process)
    {
        using var cts = new CancellationTokenSource(s_deadline);
        try
        {
            await process.WaitForExitAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            return false;
        }
    }

    /// <summary>The first IP-in-IPv6 frame (next header 4) the port receives.</summary>
    private static byte[] ReceiveEncapsulated(PacketSocketPort port, PacketPool pool)
    {
        var burst = new PacketDescriptor[16];
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < s_deadline)
        {
            int n = port.Queue(0).Receive(burst, pool);
            byte[]? found = null;
            for (int i = 0; i < n; i++)
            {
                Span<byte> frame = pool.Frame(burst[i]);
                if (found is null && frame.Length > 54 && frame[12] == 0x86 && frame[13] == 0xDD && frame[20] == 4)
                {
                    found = frame.ToArray();
                }
                pool.Return(burst[i].Buffer);
            }
            if (found is not null)
            {
                return found;
            }
            Thread.Sleep(10);
        }
        Assert.Fail("no encapsulated frame reached the underlay next hop");
        return [];
    }

    private static void Send(PacketSocketPort port, PacketPool pool, byte[] frame)
    {
        int buffer = pool.Rent();
        frame.CopyTo(pool.Buffer(buffer)[PacketPool.Headroom..]);
        PacketDescriptor[] batch = [new PacketDescriptor { Buffer = buffer, Offset = PacketPool.Headroom, Length = frame.Length }];
        Assert.Equal(1, port.Queue(0).Transmit(batch, pool));
        pool.Return(buffer);
    }
}
