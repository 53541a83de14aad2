using MetalAgent.Agent.Hosting;
using MetalAgent.Agent.Local.V1;
using MetalAgent.Agent.Metrics;
using MetalAgent.Agent.Sync;
using MetalAgent.Backends;
using MetalAgent.ControlPlane.V1;
using MetalAgent.Dataplane;
using MetalAgent.Dataplane.Runtime;
using MetalAgent.Tables.Snapshot;
using DataplaneRuntime = MetalAgent.Dataplane.Runtime.Dataplane;
using LocalInterfaceStatus = MetalAgent.Agent.Local.V1.InterfaceStatus;

namespace MetalAgent.Agent.Local;

/// <summary>Assembles <c>metalagent status</c>: identity, sync, state, workers, ports, interfaces and a counter summary.</summary>
public static class StatusBuilder
{
    public static StatusReply Build(AgentService service)
    {
        AgentHost host = service.Host;
        DataplaneRuntime dataplane = host.Dataplane;
        BoundSnapshot? bound = dataplane.Current;
        SyncClient? client = host.Client;
        ApplySnapshot applies = host.Applier.Statistics.Snapshot();
        var reply = new StatusReply
        {
            AgentVersion = AgentMetrics.AgentVersion,
            HostName = host.Settings.HostName,
            UnderlayPrefix = host.Settings.UnderlayPrefix,
            Server = host.Settings.Server?.ToString() ?? string.Empty,
            SyncState = client is null ? "no-server" : client.State.ToString().ToLowerInvariant(),
            SyncDetail = client?.LastError ?? string.Empty,
            InSync = client?.InSync ?? bound is not null,
            StateVersion = host.Applier.Version,
            StateSha256 = host.Applier.Sha256,
            StartedFromPersistedState = host.StartedFromPersistedState,
            UptimeSeconds = service.Uptime.TotalSeconds,
            Live = service.IsLive,
            Ready = service.IsReady,
            Applies = (ulong)applies.Applied,
            Refusals = (ulong)applies.Refused,
            LastApplySeconds = applies.LastSeconds,
        };
        foreach (WorkerLiveness worker in service.Health.Workers())
        {
            reply.Workers.Add(new WorkerStatus { Index = worker.Index, Rounds = (ulong)worker.Rounds, Alive = worker.Alive, SecondsSinceProgress = worker.SinceProgress.TotalSeconds });
        }
        if (client?.LastNack is { } nack)
        {
            foreach (FieldError error in nack.Errors)
            {
                reply.LastNackErrors.Add($"{error.Field}: {error.Detail}{(error.Value.Length > 0 ? $" ({error.Value})" : string.Empty)}");
            }
        }
        var counters = new CounterSummary { FlowsInUse = dataplane.Conntrack.Table.Count, FlowCapacity = dataplane.Conntrack.Table.Capacity, FlowsCreated = (ulong)dataplane.Sum(c => c.FlowsCreated) };
        if (bound is not null)
        {
            AddPorts(reply, host, bound, counters);
            AddInterfaces(reply, host, bound);
        }
        var drops = new List<DropCount>();
        foreach (DropReason reason in Enum.GetValues<DropReason>())
        {
            long count = reason == DropReason.None ? 0 : dataplane.Sum(c => c.Drops(reason));
            if (count > 0)
            {
                drops.Add(new DropCount { Reason = DropReasons.Name(reason), Count = (ulong)count });
                counters.Drops += (ulong)count;
            }
        }
        drops.Sort((a, b) => b.Count != a.Count ? b.Count.CompareTo(a.Count) : string.CompareOrdinal(a.Reason, b.Reason));
        counters.DropReasons.AddRange(drops);
        reply.Counters = counters;
        return reply;
    }

    private static void AddPorts(StatusReply reply, AgentHost host, BoundSnapshot bound, CounterSummary counters)
    {
        PortEntry[] ports = bound.Tables.Ports;
        for (int p = 0; p < ports.Length; p++)
        {
            if (!ports[p].Present)
            {
                continue;
            }
            int port = p;
            var status = new PortStatus
            {
                Name = ports[p].Name,
                Kind = AgentMetrics.KindName(ports[p].Kind),
                Device = host.Backend.DeviceName(ports[p].Name, ports[p].Kind == PortKind.Uplink ? PortRole.Uplink : PortRole.Vm),
                Bound = bound.Ports[p] is not null,
                RxPackets = (ulong)host.Dataplane.Sum(c => c.RxPackets(port)),
                RxBytes = (ulong)host.Dataplane.Sum(c => c.RxBytes(port)),
                TxPackets = (ulong)host.Dataplane.Sum(c => c.TxPackets(port)),
                TxBytes = (ulong)host.Dataplane.Sum(c => c.TxBytes(port)),
            };
            counters.RxPackets += status.RxPackets;
            counters.TxPackets += status.TxPackets;
            reply.Ports.Add(status);
        }
    }

    private static void AddInterfaces(StatusReply reply, AgentHost host, BoundSnapshot bound)
    {
        DataplaneSnapshot tables = bound.Tables;
        foreach (ControlPlane.V1.InterfaceStatus s in host.Applier.StatusReport().Interfaces)
        {
            int i = tables.FindInterface(s.Id);
            var status = new LocalInterfaceStatus
            {
                Id = s.Id,
                State = s.State switch
                {
                    ControlPlane.V1.InterfaceState.Available => "available",
                    ControlPlane.V1.InterfaceState.Error => "error",
                    _ => "pending",
                },
                Reason = s.Reason,
                Device = s.PortDevice,
                Mac = s.Mac,
                Addresses = { s.AppliedAddresses },
            };
            if (i >= 0)
            {
                status.Vni = tables.Interfaces[i].Vni;
                status.Flows = host.Dataplane.Conntrack.FlowsOf(i);
                int iface = i;
                status.NatPortsInUse = Math.Max(0, host.Dataplane.Sum(c => c.NatPortsTakenOf(iface)) - host.Dataplane.Conntrack.NatPortsReleased(iface));
            }
            reply.Interfaces.Add(status);
        }
    }
}
