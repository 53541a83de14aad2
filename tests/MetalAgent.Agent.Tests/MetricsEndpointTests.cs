using System.Globalization;
using System.Net;
using MetalAgent.Agent.Hosting;
using MetalAgent.Backends.Memory;
using MetalAgent.Packets;
using MetalAgent.Tables.Snapshot;

namespace MetalAgent.Agent.Tests;

/// <summary>The metrics and health endpoint of a running agent, after traffic through in-memory ports.</summary>
public sealed class MetricsEndpointTests
{
    private static async Task<Dictionary<string, double>> Scrape(HttpClient http)
    {
        using HttpResponseMessage response = await http.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType!.MediaType);
        var samples = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (string line in (await response.Content.ReadAsStringAsync()).Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }
            int space = line.LastIndexOf(' ');
            samples.Add(line[..space], line[(space + 1)..] == "+Inf" ? double.PositiveInfinity : double.Parse(line[(space + 1)..], CultureInfo.InvariantCulture));
        }
        return samples;
    }

    private static async Task<Dictionary<string, double>> ScrapeUntil(HttpClient http, Func<Dictionary<string, double>, bool> done, string what)
    {
        DateTime deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            Dictionary<string, double> samples = await Scrape(http);
            if (done(samples))
            {
                return samples;
            }
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail("timed out waiting until " + what);
            }
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task Metrics_show_ports_drops_flows_nat_load_balancing_and_sync_after_traffic()
    {
        await using OpsAgent agent = await OpsAgent.StartAsync(_ => new AgentServiceOptions { MetricsEndpoint = OpsAgent.AnyLoopbackPort, HealthInterval = TimeSpan.FromMilliseconds(20) }, workers: 2);
        using var http = new HttpClient { BaseAddress = new Uri($"http://{agent.Service.Metrics!.Endpoint}") };
        InMemoryPort db1 = agent.Port("db-1");
        InMemoryPort web1 = agent.Port("web-1");
        InMemoryPort uplink = agent.Port("uplink0");

        await AgentSyncTests.Exchange(db1, Frames.ArpRequest(OpsFrames.Db1Mac, "10.0.0.10"), db1);
        await AgentSyncTests.Exchange(web1, Frames.ArpRequest(OpsFrames.Web1Mac, "10.0.0.1"), web1);
        await AgentSyncTests.Exchange(db1, OpsFrames.Udp(OpsFrames.Db1Mac, "db-1", "10.0.0.10", "8.8.8.8", 40000, 53), uplink);
        Assert.True(db1.Inject(OpsFrames.Udp(OpsFrames.Db1Mac, "db-1", "10.0.0.10", "8.8.8.8", 40001, 123)));
        LoadBalancerEntry lb = agent.Host.Dataplane.Current!.Tables.LoadBalancers.Single(l => l.Id.Length > 0);
        Assert.True(uplink.Inject(OpsFrames.FromUnderlay("fc00:0:ff::1", Addresses.FormatIPv6(lb.Underlay), "198.51.100.7", Addresses.FormatIPv4((uint)lb.Ips[0].Ip), 5555, 80)));

        string[] targets = [.. lb.Maglev.Targets.ToArray().Select(Addresses.FormatIPv6)];
        string Picks(string target) => $"metalagent_lb_picks_total{{load_balancer=\"loadbalancer-sample\",target=\"{target}\"}}";
        Dictionary<string, double> m = await ScrapeUntil(http,
            s => s[Picks(targets[0])] + s[Picks(targets[1])] == 1 && s["metalagent_drops_total{reason=\"policy_denied_egress\"}"] == 1,
            "the load-balanced flow and the policy drop are counted");

        Assert.Equal(1, m["metalagent_live"]);
        Assert.Equal(1, m["metalagent_ready"]);
        Assert.Equal(2, m["metalagent_workers"]);
        Assert.Equal(1, m["metalagent_worker_alive{worker=\"1\"}"]);
        Assert.Equal(agent.Host.Applier.Version, m["metalagent_state_version"]);
        Assert.Equal(1, m["metalagent_sync_state{state=\"no_server\"}"]);
        Assert.Equal(0, m["metalagent_sync_state{state=\"connected\"}"]);
        Assert.Equal(1, m["metalagent_sync_in_sync"]);
        Assert.Equal(1, m["metalagent_applies_total{result=\"applied\"}"]);
        Assert.Equal(1, m["metalagent_apply_duration_seconds_count"]);
        Assert.Equal(1, m["metalagent_apply_duration_seconds_bucket{le=\"+Inf\"}"]);
        Assert.True(m["metalagent_apply_duration_seconds_sum"] > 0);

        Assert.Equal(3, m["metalagent_port_rx_packets_total{port=\"db-1\",kind=\"vm\"}"]);
        Assert.True(m["metalagent_port_rx_bytes_total{port=\"db-1\",kind=\"vm\"}"] > 3 * 42);
        Assert.True(m["metalagent_port_tx_packets_total{port=\"uplink0\",kind=\"uplink\"}"] >= 1);
        Assert.True(m["metalagent_port_tx_bytes_total{port=\"uplink0\",kind=\"uplink\"}"] > 54);
        Assert.Equal(1, m["metalagent_port_rx_packets_total{port=\"uplink0\",kind=\"uplink\"}"]);
        Assert.Equal(1, m["metalagent_port_bound{port=\"web-1\",kind=\"vm\"}"]);

        Assert.Equal(1, m["metalagent_policy_denies_total{direction=\"egress\"}"]);
        Assert.Equal(0, m["metalagent_policy_denies_total{direction=\"ingress\"}"]);
        Assert.Equal(0, m["metalagent_drops_total{reason=\"no_route\"}"]);
        Assert.Equal(2, m["metalagent_flows_created_total"]);
        Assert.Equal(2, m["metalagent_flows_in_use"]);
        Assert.Equal(agent.Host.Dataplane.Conntrack.Table.Capacity, m["metalagent_flow_table_capacity"]);
        Assert.Equal(1, m["metalagent_interface_flows{interface=\"db-1\"}"]);
        Assert.Equal(1, m["metalagent_nat_ports_in_use{interface=\"db-1\"}"]);
        Assert.Equal(64, m["metalagent_nat_ports{interface=\"db-1\"}"]);
        Assert.Equal(0, m["metalagent_nat_ports_exhausted_total{interface=\"db-1\"}"]);
        Assert.False(m.ContainsKey("metalagent_nat_ports_in_use{interface=\"other-1\"}"));

        using HttpResponseMessage live = await http.GetAsync("/healthz/live");
        using HttpResponseMessage ready = await http.GetAsync("/healthz/ready");
        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (live.StatusCode, ready.StatusCode));
    }

    [Fact]
    public async Task Without_its_server_the_agent_is_live_but_not_ready_and_says_why()
    {
        // A server nobody answers on: the persisted state forwards, but the agent is not in sync.
        await using OpsAgent agent = await OpsAgent.StartAsync(_ => new AgentServiceOptions { MetricsEndpoint = OpsAgent.AnyLoopbackPort, HealthInterval = TimeSpan.FromMilliseconds(20) }, server: new Uri("http://127.0.0.1:1"));
        using var http = new HttpClient { BaseAddress = new Uri($"http://{agent.Service.Metrics!.Endpoint}") };
        await OpsFrames.WaitUntil(() => agent.Host.Client!.State == Sync.SyncState.Disconnected, "the first connection attempt failed");
        using HttpResponseMessage live = await http.GetAsync("/healthz/live");
        using HttpResponseMessage ready = await http.GetAsync("/healthz/ready");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.StartsWith("not ready: forwarding state version", await ready.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Dictionary<string, double> m = await Scrape(http);
        Assert.Equal(0, m["metalagent_ready"]);
        Assert.Equal(0, m["metalagent_sync_in_sync"]);
        Assert.Equal(0, m["metalagent_sync_state{state=\"no_server\"}"]);
        Assert.Equal(1, m["metalagent_sync_state{state=\"connecting\"}"] + m["metalagent_sync_state{state=\"disconnected\"}"]);
    }
}
