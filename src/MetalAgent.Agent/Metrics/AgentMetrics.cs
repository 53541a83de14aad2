using System.Globalization;
using MetalAgent.Agent.Hosting;
using MetalAgent.Agent.Sync;
using MetalAgent.Dataplane;
using MetalAgent.Dataplane.Runtime;
using MetalAgent.Packets;
using MetalAgent.Tables.Snapshot;
using DataplaneRuntime = MetalAgent.Dataplane.Runtime.Dataplane;

namespace MetalAgent.Agent.Metrics;

/// <summary>
/// The agent's Prometheus metrics, gathered at scrape time from the per-worker counters, the flow table,
/// the applier and the sync client: nothing is counted per packet for metrics. Names and labels are
/// listed in docs/OPERATIONS.md.
/// </summary>
public static class AgentMetrics
{
    private static readonly DropReason[] s_dropReasons = [.. Enum.GetValues<DropReason>().Where(r => r != DropReason.None)];

    /// <summary>Renders every metric of <paramref name="service"/> in the text exposition format.</summary>
    public static string Render(AgentService service)
    {
        var w = new PrometheusTextWriter();
        AgentHost host = service.Host;
        DataplaneRuntime dataplane = host.Dataplane;
        BoundSnapshot? bound = dataplane.Current;

        w.Family("metalagent_build_info", "gauge", "The agent's version.");
        w.Sample("metalagent_build_info", 1L, ("version", AgentVersion));
        w.Family("metalagent_uptime_seconds", "gauge", "Seconds since the agent started.");
        w.Sample("metalagent_uptime_seconds", service.Uptime.TotalSeconds);
        w.Family("metalagent_live", "gauge", "1 when every packet worker makes progress (/healthz/live).");
        w.Sample("metalagent_live", service.IsLive);
        w.Family("metalagent_ready", "gauge", "1 when synced and forwarding (/healthz/ready).");
        w.Sample("metalagent_ready", service.IsReady);

        WriteWorkers(w, service);
        WriteSync(w, host);
        WriteApply(w, host.Applier.Statistics.Snapshot());
        WritePorts(w, dataplane, bound);
        WriteDrops(w, dataplane);
        WriteFlows(w, dataplane, bound);
        WriteLoadBalancers(w, dataplane, bound);
        return w.ToString();
    }

    /// <summary>The agent's assembly version.</summary>
    public static string AgentVersion { get; } = typeof(AgentMetrics).Assembly.GetName().Version?.ToString() ?? "0.0.0";

    private static void WriteWorkers(PrometheusTextWriter w, AgentService service)
    {
        WorkerLiveness[] workers = service.Health.Workers();
        w.Family("metalagent_workers", "gauge", "Packet worker threads.");
        w.Sample("metalagent_workers", (long)workers.Length);
        w.Family("metalagent_worker_rounds_total", "counter", "Rounds completed by a worker (a round polls every queue it owns once).");
        foreach (WorkerLiveness worker in workers)
        {
            w.Sample("metalagent_worker_rounds_total", worker.Rounds, ("worker", Invariant(worker.Index)));
        }
        w.Family("metalagent_worker_alive", "gauge", "1 when the worker completed a round within the stall timeout.");
        foreach (WorkerLiveness worker in workers)
        {
            w.Sample("metalagent_worker_alive", worker.Alive, ("worker", Invariant(worker.Index)));
        }
    }

    private static void WriteSync(PrometheusTextWriter w, AgentHost host)
    {
        w.Family("metalagent_state_version", "gauge", "Version of the host state the dataplane forwards with (0: none).");
        w.Sample("metalagent_state_version", (double)host.Applier.Version);
        SyncClient? client = host.Client;
        string current = client is null ? "no_server" : client.State.ToString().ToLowerInvariant();
        w.Family("metalagent_sync_state", "gauge", "1 for the control-plane stream's current state.");
        foreach (string state in (string[])["no_server", "connecting", "connected", "disconnected", "stopped"])
        {
            w.Sample("metalagent_sync_state", state == current, ("state", state));
        }
        w.Family("metalagent_sync_in_sync", "gauge", "1 when the last update on the current stream was acknowledged (always 1 without a server once a state is live).");
        w.Sample("metalagent_sync_in_sync", client is null ? host.Dataplane.Current is not null : client.InSync);
        w.Family("metalagent_sync_sessions_total", "counter", "Control-plane streams opened.");
        w.Sample("metalagent_sync_sessions_total", client?.Sessions ?? 0);
        w.Family("metalagent_sync_nacks_total", "counter", "Updates refused (Nack) on the control-plane stream.");
        w.Sample("metalagent_sync_nacks_total", client?.Nacks ?? 0);
    }

    private static void WriteApply(PrometheusTextWriter w, ApplySnapshot apply)
    {
        w.Family("metalagent_applies_total", "counter", "Host states validated and compiled: applied (published) or refused (invalid or failed to compile).");
        w.Sample("metalagent_applies_total", apply.Applied, ("result", "applied"));
        w.Sample("metalagent_applies_total", apply.Refused, ("result", "refused"));
        w.Family("metalagent_apply_duration_seconds", "histogram", "Time to apply a host state: validate, compile, open ports, publish, persist.");
        for (int i = 0; i < ApplyStatistics.BucketBounds.Length; i++)
        {
            w.Sample("metalagent_apply_duration_seconds_bucket", apply.CumulativeBuckets[i], ("le", PrometheusTextWriter.Format(ApplyStatistics.BucketBounds[i])));
        }
        w.Sample("metalagent_apply_duration_seconds_bucket", apply.Count, ("le", "+Inf"));
        w.Sample("metalagent_apply_duration_seconds_sum", apply.SumSeconds);
        w.Sample("metalagent_apply_duration_seconds_count", apply.Count);
        w.Family("metalagent_last_apply_duration_seconds", "gauge", "Time the last applied host state took.");
        w.Sample("metalagent_last_apply_duration_seconds", apply.LastSeconds);
        w.Family("metalagent_last_apply_timestamp_seconds", "gauge", "Unix time of the last applied host state (0: none).");
        w.Sample("metalagent_last_apply_timestamp_seconds", apply.Applied == 0 ? 0 : apply.LastAppliedAt.ToUnixTimeMilliseconds() / 1000.0);
    }

    private static void WritePorts(PrometheusTextWriter w, DataplaneRuntime dataplane, BoundSnapshot? bound)
    {
        PortEntry[] ports = bound?.Tables.Ports ?? [];
        (string Name, string Help, Func<WorkerCounters, int, long> Read)[] families =
        [
            ("metalagent_port_rx_packets_total", "Frames received on a port.", (c, p) => c.RxPackets(p)),
            ("metalagent_port_rx_bytes_total", "Bytes received on a port.", (c, p) => c.RxBytes(p)),
            ("metalagent_port_tx_packets_total", "Frames sent on a port.", (c, p) => c.TxPackets(p)),
            ("metalagent_port_tx_bytes_total", "Bytes sent on a port.", (c, p) => c.TxBytes(p)),
        ];
        foreach ((string name, string help, Func<WorkerCounters, int, long> read) in families)
        {
            w.Family(name, "counter", help);
            for (int p = 0; p < ports.Length; p++)
            {
                if (ports[p].Present)
                {
                    int port = p;
                    w.Sample(name, dataplane.Sum(c => read(c, port)), ("port", ports[p].Name), ("kind", KindName(ports[p].Kind)));
                }
            }
        }
        w.Family("metalagent_port_bound", "gauge", "1 when the port's device is open and bound in the dataplane.");
        for (int p = 0; p < ports.Length; p++)
        {
            if (ports[p].Present)
            {
                w.Sample("metalagent_port_bound", bound!.Ports[p] is not null, ("port", ports[p].Name), ("kind", KindName(ports[p].Kind)));
            }
        }
    }

    private static void WriteDrops(PrometheusTextWriter w, DataplaneRuntime dataplane)
    {
        w.Family("metalagent_drops_total", "counter", "Packets dropped, by reason (see docs/OPERATIONS.md).");
        foreach (DropReason reason in s_dropReasons)
        {
            w.Sample("metalagent_drops_total", dataplane.Sum(c => c.Drops(reason)), ("reason", DropReasons.Name(reason)));
        }
        w.Family("metalagent_policy_denies_total", "counter", "First packets of flows denied by network policy, by direction.");
        w.Sample("metalagent_policy_denies_total", dataplane.Sum(c => c.Drops(DropReason.PolicyDeniedEgress)), ("direction", "egress"));
        w.Sample("metalagent_policy_denies_total", dataplane.Sum(c => c.Drops(DropReason.PolicyDeniedIngress)), ("direction", "ingress"));
    }

    private static void WriteFlows(PrometheusTextWriter w, DataplaneRuntime dataplane, BoundSnapshot? bound)
    {
        var conntrack = dataplane.Conntrack;
        w.Family("metalagent_flows_in_use", "gauge", "Flows in the connection-tracking table (including entries dead but not yet swept).");
        w.Sample("metalagent_flows_in_use", conntrack.Table.Count);
        w.Family("metalagent_flow_table_capacity", "gauge", "Size of the connection-tracking table.");
        w.Sample("metalagent_flow_table_capacity", (long)conntrack.Table.Capacity);
        w.Family("metalagent_flows_created_total", "counter", "Flows created.");
        w.Sample("metalagent_flows_created_total", dataplane.Sum(c => c.FlowsCreated));

        InterfaceEntry[] interfaces = bound?.Tables.Interfaces ?? [];
        w.Family("metalagent_interface_flows", "gauge", "Flows counted against an interface's cap.");
        ForEachInterface(interfaces, (id, i) => w.Sample("metalagent_interface_flows", (long)conntrack.FlowsOf(i), ("interface", id)));
        w.Family("metalagent_interface_flow_cap_reached_total", "counter", "New flows refused because the interface reached its flow cap.");
        ForEachInterface(interfaces, (id, i) => w.Sample("metalagent_interface_flow_cap_reached_total", dataplane.Sum(c => c.FlowCapReachedOf(i)), ("interface", id)));

        w.Family("metalagent_nat_ports", "gauge", "Ports of the interface's NAT slices (IPv4 and IPv6).");
        ForEachNat(interfaces, (id, i, e) => w.Sample("metalagent_nat_ports", (long)NatPorts(e), ("interface", id)));
        w.Family("metalagent_nat_ports_in_use", "gauge", "NAT slice ports held by flows of the interface (NAT gateway and NAT64).");
        ForEachNat(interfaces, (id, i, e) => w.Sample("metalagent_nat_ports_in_use", Math.Max(0, dataplane.Sum(c => c.NatPortsTakenOf(i)) - conntrack.NatPortsReleased(i)), ("interface", id)));
        w.Family("metalagent_nat_ports_exhausted_total", "counter", "New flows refused because every port of the interface's NAT slice was in use for that destination.");
        ForEachNat(interfaces, (id, i, e) => w.Sample("metalagent_nat_ports_exhausted_total", dataplane.Sum(c => c.NatExhaustedOf(i)), ("interface", id)));
    }

    private static void WriteLoadBalancers(PrometheusTextWriter w, DataplaneRuntime dataplane, BoundSnapshot? bound)
    {
        // Sum the workers' rows by (load balancer, target); rows follow each worker's last snapshot.
        var picks = new SortedDictionary<(string Lb, UInt128 Target), long>();
        foreach (Worker worker in dataplane.Workers)
        {
            foreach (LoadBalancerPicks row in worker.Counters.LoadBalancerPickRows)
            {
                if (row.Id.Length == 0)
                {
                    continue;
                }
                for (int t = 0; t < row.Targets.Length; t++)
                {
                    picks[(row.Id, row.Targets[t])] = picks.GetValueOrDefault((row.Id, row.Targets[t])) + row.PicksOf(t);
                }
            }
        }
        // Targets of the live snapshot that no worker has attached yet still show, at zero.
        foreach (LoadBalancerEntry lb in bound?.Tables.LoadBalancers ?? [])
        {
            if (lb.Id.Length > 0)
            {
                foreach (UInt128 target in lb.Maglev.Targets)
                {
                    picks.TryAdd((lb.Id, target), 0);
                }
            }
        }
        w.Family("metalagent_lb_picks_total", "counter", "New load-balanced flows sent to a target (by Maglev), by load balancer and target underlay address; restarts from 0 when the target set changes.");
        foreach (((string lb, UInt128 target), long count) in picks)
        {
            w.Sample("metalagent_lb_picks_total", count, ("load_balancer", lb), ("target", Addresses.FormatIPv6(target)));
        }
    }

    private static void ForEachInterface(InterfaceEntry[] interfaces, Action<string, int> write)
    {
        for (int i = 0; i < interfaces.Length; i++)
        {
            if (interfaces[i].Present)
            {
                write(interfaces[i].Id, i);
            }
        }
    }

    private static void ForEachNat(InterfaceEntry[] interfaces, Action<string, int, InterfaceEntry> write)
    {
        for (int i = 0; i < interfaces.Length; i++)
        {
            if (interfaces[i].Present && (interfaces[i].Nat4.Present || interfaces[i].Nat6.Present))
            {
                write(interfaces[i].Id, i, interfaces[i]);
            }
        }
    }

    private static int NatPorts(in InterfaceEntry e) =>
        (e.Nat4.Present ? e.Nat4.LastPort - e.Nat4.FirstPort + 1 : 0) + (e.Nat6.Present ? e.Nat6.LastPort - e.Nat6.FirstPort + 1 : 0);

    public static string KindName(PortKind kind) => kind == PortKind.Uplink ? "uplink" : "vm";

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}
