using System.CommandLine;
using System.Globalization;
using System.Text;
using MetalAgent.Agent.Local.V1;

namespace MetalAgent.Agent.Commands;

/// <summary><c>metalagent status [-o table|json]</c>: the running agent's sync state, ports, interfaces and counters.</summary>
internal static class StatusCommand
{
    public static Command Create()
    {
        var common = new LocalCommandOptions();
        var command = new Command("status", "Show the running agent: sync state, state version, workers, ports, interfaces, counters");
        common.AddTo(command);
        command.SetAction(async (result, token) =>
        {
            StatusReply? status = await LocalCommandOptions.CallAsync("status", result.GetValue(common.Socket)!,
                c => c.Agent.GetStatusAsync(new StatusRequest(), deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: token).ResponseAsync);
            if (status is null)
            {
                return 1;
            }
            Console.Write(result.GetValue(common.Output) == "json" ? LocalCommandOptions.Json(status) : Text(status));
            return 0;
        });
        return command;
    }

    internal static string Text(StatusReply s)
    {
        var text = new StringBuilder();
        var c = CultureInfo.InvariantCulture;
        text.Append(c, $"agent      {s.AgentVersion} on host {s.HostName} (underlay {s.UnderlayPrefix}), up {Duration(s.UptimeSeconds)}\n");
        string sync = s.Server.Length == 0 ? "none (forwarding from persisted state)" : $"{s.Server} {s.SyncState}{(s.InSync ? ", in sync" : string.Empty)}";
        text.Append(c, $"server     {sync}{(s.SyncDetail.Length > 0 ? $" (last error: {s.SyncDetail})" : string.Empty)}\n");
        string sha = s.StateSha256.Length >= 12 ? s.StateSha256[..12] : s.StateSha256;
        text.Append(c, $"state      version {s.StateVersion}{(sha.Length > 0 ? $" ({sha})" : string.Empty)}{(s.StartedFromPersistedState ? ", started from persisted state" : string.Empty)}; {s.Applies} applied, {s.Refusals} refused, last apply {s.LastApplySeconds * 1000:0.#} ms\n");
        string workers = string.Join(", ", s.Workers.Select(w => w.Alive ? $"{w.Index} ok" : $"{w.Index} STUCK {w.SecondsSinceProgress:0.0}s"));
        text.Append(c, $"health     {(s.Live ? "live" : "NOT LIVE")}, {(s.Ready ? "ready" : "NOT READY")}; workers {workers}\n");
        foreach (string error in s.LastNackErrors)
        {
            text.Append("last nack  ").Append(error).Append('\n');
        }
        CounterSummary k = s.Counters ?? new CounterSummary();
        text.Append(c, $"counters   rx {k.RxPackets} tx {k.TxPackets} dropped {k.Drops}; flows {k.FlowsInUse}/{k.FlowCapacity} in use, {k.FlowsCreated} created\n");

        var ports = new TextTable("PORT", "KIND", "DEVICE", "BOUND", "RX PKTS", "RX BYTES", "TX PKTS", "TX BYTES");
        foreach (PortStatus p in s.Ports)
        {
            ports.Add(p.Name, p.Kind, p.Device, p.Bound ? "yes" : "no", N(p.RxPackets), N(p.RxBytes), N(p.TxPackets), N(p.TxBytes));
        }
        text.Append('\n').Append(ports);

        var interfaces = new TextTable("INTERFACE", "STATE", "VNI", "MAC", "FLOWS", "NAT PORTS", "ADDRESSES", "REASON");
        foreach (InterfaceStatus i in s.Interfaces)
        {
            interfaces.Add(i.Id, i.State, N(i.Vni), i.Mac.Length > 0 ? i.Mac : "-", N(i.Flows), N(i.NatPortsInUse), string.Join(",", i.Addresses), i.Reason);
        }
        text.Append('\n').Append(interfaces);

        if (k.DropReasons.Count > 0)
        {
            var drops = new TextTable("DROP REASON", "COUNT");
            foreach (DropCount d in k.DropReasons)
            {
                drops.Add(d.Reason, N(d.Count));
            }
            text.Append('\n').Append(drops);
        }
        return text.ToString();
    }

    private static string N(ulong value) => value.ToString(CultureInfo.InvariantCulture);

    private static string N(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Duration(double seconds)
    {
        var t = TimeSpan.FromSeconds(seconds);
        return t.TotalDays >= 1 ? $"{(int)t.TotalDays}d{t.Hours}h" : t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes}m" : t.TotalMinutes >= 1 ? $"{t.Minutes}m{t.Seconds}s" : $"{t.Seconds}s";
    }
}
