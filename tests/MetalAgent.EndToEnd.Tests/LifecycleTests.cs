using System.Net;
using System.Net.Sockets;
using MetalAgent.ControlPlane.V1;
using MetalAgent.EndToEnd.Tests.Kit;

namespace MetalAgent.EndToEnd.Tests;

/// <summary>Changes while traffic flows: a manifest edit, a graceful agent restart, an agent killed with
/// SIGKILL. Each test leaves the topology as it found it (manifest restored, agent running).</summary>
[Collection(TopologyCollection.Name)]
public sealed class LifecycleTests(Topology topology)
{
    private static readonly TimeSpan s_converge = TimeSpan.FromSeconds(20);

    [E2EFact]
    public async Task Manifest_change_applies_while_traffic_flows_without_dropping_unrelated_connections()
    {
        using EchoServer web2 = Tcp.Serve(topology["web-2"], 7100);
        using EchoServer batch1 = Tcp.Serve(topology["batch-1"], 7101);
        using EchoServer db5432 = Tcp.Serve(topology["db-1"], 5432);
        using EchoServer db5433 = Tcp.Serve(topology["db-1"], 5433);
        (Socket a, _) = await Tcp.ConnectAsync(topology["web-1"], new IPEndPoint(topology["web-2"].Ipv4, 7100), s_converge);
        (Socket b, _) = await Tcp.ConnectAsync(topology["web-2"], new IPEndPoint(topology["batch-1"].Ipv4, 7101), s_converge);
        (Socket c, _) = await Tcp.ConnectAsync(topology["web-1"], new IPEndPoint(topology["db-1"].Ipv4, 5432), s_converge);
        using (a)
        using (b)
        using (c)
        {
            await Tcp.AssertTimesOutAsync(topology["web-1"], new IPEndPoint(topology["db-1"].Ipv4, 5433));
            ulong before = (await topology.HostStateAsync("host-a")).Version;
            string manifest = Path.Combine(topology.ManifestsDirectory, "quickstart.yaml");
            string original = await File.ReadAllTextAsync(manifest);
            await using var traffic = new TrafficLoop([a, b, c]);
            try
            {
                // db-1's policy also admits TCP 5433 from the web interfaces.
                const string ports = "    ports:\n    - protocol: TCP\n      port: 5432\n";
                Assert.Contains(ports, original, StringComparison.Ordinal);
                await Topology.ReplaceFileAsync(manifest, original.Replace(ports, ports + "    - protocol: TCP\n      port: 5433\n", StringComparison.Ordinal));
                await Eventually.AssertAsync("host-a gets a new version", s_converge, async () => (await topology.HostStateAsync("host-a")).Version > before);
                await topology.WaitForAckAsync("host-a", s_converge);
                (Socket d, string reply) = await Tcp.ConnectAsync(topology["web-1"], new IPEndPoint(topology["db-1"].Ipv4, 5433), s_converge);
                d.Dispose();
                Assert.Equal("db-1 hello from web-1", reply);
                // A few more rounds on every connection after the change.
                int[] mark = [traffic.Answered(0), traffic.Answered(1), traffic.Answered(2)];
                await Eventually.AssertAsync("connections keep answering after the change", s_converge,
                    () => traffic.Answered(0) > mark[0] + 3 && traffic.Answered(1) > mark[1] + 3 && traffic.Answered(2) > mark[2] + 3);
            }
            finally
            {
                await Topology.ReplaceFileAsync(manifest, original);
            }
            (int Answered, int Missed)[] result = await traffic.StopAsync();
            Assert.All(result, r => Assert.Equal(0, r.Missed));
            await Eventually.AssertAsync("host-a gets the restored manifest", s_converge, async () =>
            {
                GetHostStateResponse s = await topology.HostStateAsync("host-a");
                return s.AckedVersion == s.Version && !s.Spec.ToString().Contains("5433", StringComparison.Ordinal);
            });
        }
    }

    [E2EFact]
    public async Task Graceful_restart_keeps_established_connections()
    {
        using EchoServer web2 = Tcp.Serve(topology["web-2"], 7200);
        using EchoServer db = Tcp.Serve(topology["db-1"], 5432);
        using EchoServer web1 = Tcp.Serve(topology["web-1"], 7201);
        // Across hosts, through db-1's stateful policy (its replies pass only as part of a known flow), and into host-a.
        (Socket crossHost, _) = await Tcp.ConnectAsync(topology["web-1"], new IPEndPoint(topology["web-2"].Ipv4, 7200), s_converge);
        (Socket policed, _) = await Tcp.ConnectAsync(topology["web-1"], new IPEndPoint(topology["db-1"].Ipv4, 5432), s_converge);
        (Socket inbound, _) = await Tcp.ConnectAsync(topology["batch-1"], new IPEndPoint(topology["web-1"].Ipv4, 7201), s_converge);
        using (crossHost)
        using (policed)
        using (inbound)
        {
            ServiceProcess agent = topology.Agents["host-a"];
            int mark = agent.LineCount;
            await agent.StopAsync(TimeSpan.FromSeconds(20));
            Assert.Equal(0, agent.ExitCode);
            Assert.NotEmpty(agent.LinesContaining("saved ", mark));
            agent.Start();
            await agent.WaitForLineAsync("restored ", s_converge, mark);
            Assert.Equal("web-2 after restart", await Tcp.EchoAsync(crossHost, "after restart", TimeSpan.FromSeconds(10)));
            Assert.Equal("db-1 after restart", await Tcp.EchoAsync(policed, "after restart", TimeSpan.FromSeconds(10)));
            Assert.Equal("web-1 after restart", await Tcp.EchoAsync(inbound, "after restart", TimeSpan.FromSeconds(10)));
        }
        await AgentResyncedAsync("host-a");
    }

    [E2EFact]
    public async Task Killed_agent_serves_new_connections_again_and_established_ones_resume()
    {
        using EchoServer web2 = Tcp.Serve(topology["web-2"], 7300);
        using EchoServer web1 = Tcp.Serve(topology["web-1"], 7301);
        (Socket established, _) = await Tcp.ConnectAsync(topology["web-1"], new IPEndPoint(topology["web-2"].Ipv4, 7300), s_converge);
        using (established)
        {
            ServiceProcess agent = topology.Agents["host-a"];
            int mark = agent.LineCount;
            await agent.KillAsync();
            // Dead agent: nothing crosses host-a.
            await Tcp.AssertTimesOutAsync(topology["web-2"], new IPEndPoint(topology["web-1"].Ipv4, 7301));
            agent.Start();
            await agent.WaitForLineAsync("forwarding with persisted state version", s_converge, mark);
            (Socket fresh, string reply) = await Tcp.ConnectAsync(topology["web-2"], new IPEndPoint(topology["web-1"].Ipv4, 7301), TimeSpan.FromSeconds(10));
            fresh.Dispose();
            Assert.Equal("web-1 hello from web-2", reply);
            Assert.Equal("web-2 after kill", await Tcp.EchoAsync(established, "after kill", TimeSpan.FromSeconds(10)));
        }
        await AgentResyncedAsync("host-a");
    }

    [E2EFact]
    public async Task Killed_agent_resumes_established_virtual_ip_connections()
    {
        IPAddress vip = await topology.PublicIpAsync("VirtualIP", "virtualip-sample");
        using EchoServer web1 = Tcp.Serve(topology["web-1"], 7302);
        (Socket established, _) = await Tcp.ConnectAsync(topology.InternetNs, "internet", new IPEndPoint(vip, 7302), s_converge);
        using (established)
        {
            ServiceProcess agent = topology.Agents["host-a"];
            int mark = agent.LineCount;
            await agent.KillAsync();
            agent.Start();
            await agent.WaitForLineAsync("forwarding with persisted state version", s_converge, mark);
            Assert.Equal("web-1 after kill", await Tcp.EchoAsync(established, "after kill", TimeSpan.FromSeconds(10)));
        }
        await AgentResyncedAsync("host-a");
    }

    /// <summary>The agent is back in sync with the control plane (leaves the topology as the next test expects).</summary>
    private Task AgentResyncedAsync(string host) => topology.WaitForAckAsync(host, s_converge);

    [E2EFact]
    public async Task Adding_an_interface_serves_its_guest_and_removing_it_deletes_its_tap()
    {
        Guest web3 = topology.Spare;
        await topology.AddSpareAsync();
        try
        {
            Assert.Equal("10.0.0.3", web3.Lease4().GetValueOrDefault("ip"));
            await web3.AssertReachesAsync(topology["web-2"].Ipv4, s_converge);
        }
        finally
        {
            await topology.RemoveSpareAsync();
        }
        await Eventually.AssertAsync("host-a deletes web-3's TAP", s_converge,
            async () => !(await web3.IpAsync("link", "show", "dev", web3.Device)).Ok);
    }
}
