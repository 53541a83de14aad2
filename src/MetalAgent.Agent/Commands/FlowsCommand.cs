using System.CommandLine;
using System.Globalization;
using System.Text;
using MetalAgent.Agent.Local;
using MetalAgent.Agent.Local.V1;

namespace MetalAgent.Agent.Commands;

/// <summary><c>metalagent flows [--interface ID] [--address IP] [--protocol P] [--port N] [--kind K] [--limit N]</c>:
/// the running agent's flow table.</summary>
internal static class FlowsCommand
{
    public static Command Create()
    {
        var common = new LocalCommandOptions();
        var iface = new Option<string?>("--interface", "-i") { Description = "only flows of this interface" };
        var address = new Option<string?>("--address", "-a") { Description = "only flows with this IP (either side, before or after translation)" };
        var protocol = new Option<string?>("--protocol", "-p") { Description = "tcp, udp, icmp, icmpv6, sctp or a number" };
        var port = new Option<int>("--port") { Description = "only flows with this port (either side)" };
        var kind = new Option<string?>("--kind") { Description = "routed, snat, dnat, lb or nat64" };
        var limit = new Option<int>("--limit") { Description = $"at most this many flows (at most {FlowQuery.MaxLimit})", DefaultValueFactory = _ => (int)FlowQuery.DefaultLimit };
        var command = new Command("flows", "List the running agent's live flows (connection tracking)") { iface, address, protocol, port, kind, limit };
        common.AddTo(command);
        command.SetAction(async (result, token) =>
        {
            int portValue = result.GetValue(port);
            int limitValue = result.GetValue(limit);
            if (portValue is < 0 or > 65535 || limitValue < 1)
            {
                Console.Error.WriteLine("flows: --port must be 0-65535 and --limit at least 1");
                return 2;
            }
            var request = new FlowsRequest
            {
                Interface = result.GetValue(iface) ?? string.Empty,
                Address = result.GetValue(address) ?? string.Empty,
                Protocol = result.GetValue(protocol) ?? string.Empty,
                Port = (uint)portValue,
                Kind = result.GetValue(kind) ?? string.Empty,
                Limit = (uint)limitValue,
            };
            FlowsReply? flows = await LocalCommandOptions.CallAsync("flows", result.GetValue(common.Socket)!,
                c => c.Agent.ListFlowsAsync(request, deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: token).ResponseAsync);
            if (flows is null)
            {
                return 1;
            }
            Console.Write(result.GetValue(common.Output) == "json" ? LocalCommandOptions.Json(flows) : Text(flows));
            return 0;
        });
        return command;
    }

    internal static string Text(FlowsReply reply)
    {
        var table = new TextTable("ID", "KIND", "PROTO", "ZONE", "SOURCE", "DESTINATION", "INTERFACE", "TCP", "IDLE", "TRANSLATION");
        foreach (Flow f in reply.Flows)
        {
            string parties = f.PeerInterface.Length > 0 ? $"{f.Interface},{f.PeerInterface}" : f.Interface.Length > 0 ? f.Interface : "-";
            string translation = f.LoadBalancer.Length > 0 ? $"{f.LoadBalancer} {f.Translation}" : f.Translation;
            table.Add(f.Id.ToString(CultureInfo.InvariantCulture), f.Kind, f.Protocol, f.Forward.Zone, HostPort(f.Forward.Src, f.Forward.SrcPort), HostPort(f.Forward.Dst, f.Forward.DstPort),
                parties, f.Protocol == "tcp" ? f.Tcp : "-", f.IdleSeconds.ToString(CultureInfo.InvariantCulture) + "s", translation);
        }
        var text = new StringBuilder(table.ToString());
        text.Append(CultureInfo.InvariantCulture, $"{reply.Flows.Count} shown, {reply.Matched} matching, {reply.Live} live{(reply.Truncated ? " (raise --limit to see more)" : string.Empty)}\n");
        return text.ToString();
    }

    private static string HostPort(string ip, uint port) =>
        port == 0 ? ip : ip.Contains(':', StringComparison.Ordinal) ? $"[{ip}]:{port}" : $"{ip}:{port}";
}
