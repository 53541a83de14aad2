using System.CommandLine;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using MetalAgent.Agent.Sync;
using MetalAgent.ControlPlane.Configuration;
using MetalAgent.ControlPlane.Sync;
using MetalAgent.ControlPlane.V1;

namespace MetalAgent.Agent.Commands;

/// <summary><c>metalagent get KIND [NAME] [--server URL [--ca F --cert F --key F]] [-o table|yaml|json]</c>: object status from the control plane.</summary>
internal static class GetCommand
{
    private static readonly string[] s_header = ["KIND", "NAMESPACE", "NAME", "STATE", "DETAILS"];

    private static readonly JsonFormatter s_json = new(JsonFormatter.Settings.Default.WithIndentation("  "));

    public static Command Create()
    {
        var kind = new Argument<string>("KIND") { Description = "Network, NetworkInterface, VirtualIP, NATGateway, LoadBalancer, NetworkPolicy, Machine, or all" };
        var name = new Argument<string?>("NAME") { Description = "object name (all when omitted)", Arity = ArgumentArity.ZeroOrOne };
        var server = ServerOption.Create("control plane URL", new Uri("http://" + ControlPlaneConfig.DefaultListen));
        var ca = new Option<string?>("--ca") { Description = "PEM CA bundle the server's certificate must chain to (https)" };
        var cert = new Option<string?>("--cert") { Description = "PEM operator client certificate (https)" };
        var key = new Option<string?>("--key") { Description = "PEM private key of --cert (https)" };
        var output = new Option<string>("--output", "-o") { Description = "table, yaml or json", DefaultValueFactory = _ => "table" };
        output.AcceptOnlyFromAmong("table", "yaml", "json");
        var ns = new Option<string?>("--namespace", "-n") { Description = "namespace (all when omitted)" };
        var command = new Command("get", "Print the status of control-plane objects") { kind, name, server, ca, cert, key, output, ns };
        command.SetAction(async (result, token) =>
        {
            string k = result.GetValue(kind)!;
            var request = new GetObjectsRequest
            {
                Kind = k.Equals("all", StringComparison.OrdinalIgnoreCase) ? string.Empty : k,
                Name = result.GetValue(name) ?? string.Empty,
                Namespace = result.GetValue(ns) ?? string.Empty,
            };
            GetObjectsResponse response;
            Uri url = result.GetValue(server)!;
            var problems = new List<string>();
            using ClientTlsMaterial? tls = ClientTlsMaterial.TryForServer(url, result.GetValue(ca), result.GetValue(cert), result.GetValue(key), problems);
            if (problems.Count > 0)
            {
                Console.Error.WriteLine("get: " + string.Join("\nget: ", problems));
                return 2;
            }
            try
            {
                var handler = new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(5) };
                tls?.ApplyTo(handler);
                using GrpcChannel channel = GrpcChannel.ForAddress(url, new GrpcChannelOptions { HttpHandler = handler });
                response = await new StateQuery.StateQueryClient(channel).GetObjectsAsync(request, deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: token);
            }
            catch (RpcException e)
            {
                Console.Error.WriteLine($"get: {SyncClient.Describe(e)}");
                return 2;
            }
            Console.Write(result.GetValue(output) switch
            {
                "json" => s_json.Format(response) + "\n",
                "yaml" => Yaml(response),
                _ => Table(response),
            });
            return response.Objects.Count == 0 && request.Name.Length > 0 ? 1 : 0;
        });
        return command;
    }

    /// <summary>Columns KIND, NAMESPACE, NAME, STATE, DETAILS; then manifest problems.</summary>
    internal static string Table(GetObjectsResponse response)
    {
        var rows = new List<string[]> { s_header };
        foreach (ObjectStatus o in response.Objects)
        {
            (string state, string details) = o.StatusCase switch
            {
                ObjectStatus.StatusOneofCase.Network => (o.Network.State, $"vni={o.Network.Vni} " + string.Join(' ', o.Network.Peerings.Select(p => $"{p.Name}:{p.Phase}"))),
                ObjectStatus.StatusOneofCase.NetworkInterface => (o.NetworkInterface.State,
                    $"host={o.NetworkInterface.Host} ips={string.Join(',', o.NetworkInterface.Ips)}" + (o.NetworkInterface.VirtualIp.Length > 0 ? " vip=" + o.NetworkInterface.VirtualIp : string.Empty)
                    + (o.NetworkInterface.Reason.Length > 0 ? " reason=" + o.NetworkInterface.Reason : string.Empty)),
                ObjectStatus.StatusOneofCase.VirtualIp => (string.Empty, "ip=" + o.VirtualIp.Ip),
                ObjectStatus.StatusOneofCase.NatGateway => (string.Empty, "ips=" + string.Join(',', o.NatGateway.Ips.Select(i => i.Ip))),
                ObjectStatus.StatusOneofCase.LoadBalancer => (string.Empty, "ips=" + string.Join(',', o.LoadBalancer.Ips)),
                _ => (string.Empty, string.Empty),
            };
            if (o.Errors.Count > 0)
            {
                state = o.Stale ? "Invalid(stale)" : "Invalid";
                details = string.Join("; ", o.Errors.Select(FieldErrors.Format));
            }
            else if (o.Conditions.Count > 0)
            {
                details = (details + " " + string.Join("; ", o.Conditions)).Trim();
            }
            rows.Add([o.Kind, o.Namespace, o.Name, state.Length > 0 ? state : (o.InForce ? "InForce" : "-"), details.Trim()]);
        }
        int[] widths = new int[5];
        foreach (string[] row in rows)
        {
            for (int i = 0; i < 4; i++)
            {
                widths[i] = Math.Max(widths[i], row[i].Length);
            }
        }
        var text = new StringBuilder();
        foreach (string[] row in rows)
        {
            for (int i = 0; i < 4; i++)
            {
                text.Append(row[i].PadRight(widths[i] + 3));
            }
            text.Append(row[4]).Append('\n');
        }
        foreach (ManifestProblem problem in response.Problems)
        {
            foreach (FieldError error in problem.Errors)
            {
                text.Append(problem.Source).Append(": ").Append(FieldErrors.Format(error)).Append('\n');
            }
        }
        return text.ToString();
    }

    /// <summary>The protobuf JSON mapping rendered as YAML (block style, strings quoted).</summary>
    internal static string Yaml(GetObjectsResponse response)
    {
        using JsonDocument document = JsonDocument.Parse(s_json.Format(response));
        var text = new StringBuilder();
        WriteYaml(text, document.RootElement, 0, inList: false);
        return text.Length == 0 ? "{}\n" : text.ToString();
    }

    private static void WriteYaml(StringBuilder text, JsonElement element, int indent, bool inList)
    {
        string pad = new(' ', indent);
        bool first = true;
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (JsonProperty property in element.EnumerateObject())
                {
                    text.Append(inList && first ? string.Empty : pad).Append(property.Name).Append(':');
                    first = false;
                    WriteValue(text, property.Value, indent);
                }
                break;
            case JsonValueKind.Array:
                foreach (JsonElement item in element.EnumerateArray())
                {
                    text.Append(inList && first ? string.Empty : pad).Append("- ");
                    first = false;
                    if (item.ValueKind is JsonValueKind.Object or JsonValueKind.Array)
                    {
                        WriteYaml(text, item, indent + 2, inList: true);
                    }
                    else
                    {
                        text.Append(Scalar(item)).Append('\n');
                    }
                }
                break;
            default:
                text.Append(Scalar(element)).Append('\n');
                break;
        }
    }

    private static void WriteValue(StringBuilder text, JsonElement value, int indent)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object when value.EnumerateObject().Any():
                text.Append('\n');
                WriteYaml(text, value, indent + 2, inList: false);
                break;
            case JsonValueKind.Array when value.GetArrayLength() > 0:
                text.Append('\n');
                WriteYaml(text, value, indent, inList: false);
                break;
            case JsonValueKind.Object:
                text.Append(" {}\n");
                break;
            case JsonValueKind.Array:
                text.Append(" []\n");
                break;
            default:
                text.Append(' ').Append(Scalar(value)).Append('\n');
                break;
        }
    }

    private static string Scalar(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => JsonSerializer.Serialize(value.GetString()),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        JsonValueKind.Null => "null",
        _ => value.GetRawText(),
    };
}
