using System.CommandLine;
using System.Text.Encodings.Web;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using MetalAgent.Agent.Configuration;
using MetalAgent.Agent.Local;

namespace MetalAgent.Agent.Commands;

/// <summary>What the live verbs (status, flows, trace) share: the control socket, the output format, and
/// turning connection failures into one clear line.</summary>
internal sealed class LocalCommandOptions
{
    private static readonly JsonFormatter s_json = new(JsonFormatter.Settings.Default.WithIndentation("  ").WithFormatDefaultValues(true));

    public Option<string> Socket { get; } = new("--socket")
    {
        Description = "the running agent's control socket",
        DefaultValueFactory = _ => AgentConfig.DefaultControlSocket,
    };

    public Option<string> Output { get; } = CreateOutput();

    private static Option<string> CreateOutput()
    {
        var output = new Option<string>("--output", "-o") { Description = "table or json", DefaultValueFactory = _ => "table" };
        output.AcceptOnlyFromAmong("table", "json");
        return output;
    }

    public void AddTo(Command command)
    {
        command.Options.Add(Socket);
        command.Options.Add(Output);
    }

    /// <summary>The protobuf JSON mapping, indented, without escaping '&gt;' and friends (output for people and jq, not HTML).</summary>
    public static string Json(IMessage message)
    {
        using JsonDocument document = JsonDocument.Parse(s_json.Format(message));
        return JsonSerializer.Serialize(document.RootElement, s_relaxed) + "\n";
    }

    private static readonly JsonSerializerOptions s_relaxed = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static System.Net.Sockets.SocketException? SocketError(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e is System.Net.Sockets.SocketException socket)
            {
                return socket;
            }
        }
        return null;
    }

    /// <summary>Calls the agent; prints a one-line error and returns null when it cannot be reached or refuses.</summary>
    public static async Task<T?> CallAsync<T>(string verb, string socket, Func<LocalControlClient, Task<T>> call)
        where T : class
    {
        if (!File.Exists(socket))
        {
            Console.Error.WriteLine($"{verb}: no agent control socket at {socket} (is the agent running, with controlSocket enabled?)");
            return null;
        }
        try
        {
            using var client = new LocalControlClient(socket);
            return await call(client);
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.InvalidArgument or StatusCode.FailedPrecondition)
        {
            Console.Error.WriteLine($"{verb}: {e.Status.Detail}");
            return null;
        }
        catch (RpcException e)
        {
            string why = SocketError(e.Status.DebugException) is { } socketError
                ? socketError.SocketErrorCode == System.Net.Sockets.SocketError.AccessDenied ? "permission denied (the socket is for root only)" : socketError.Message
                : $"{e.StatusCode}: {e.Status.Detail}";
            Console.Error.WriteLine($"{verb}: cannot talk to the agent at {socket}: {why}");
            return null;
        }
    }
}
