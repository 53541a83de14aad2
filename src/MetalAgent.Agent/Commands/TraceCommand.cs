using System.CommandLine;
using System.Text;
using Google.Protobuf;
using MetalAgent.Agent.Local;
using MetalAgent.Agent.Local.V1;
using MetalAgent.Backends;
using MetalAgent.Backends.Pcap;
using MetalAgent.Compiler;
using MetalAgent.Dataplane.Flows;
using MetalAgent.Dataplane.Runtime;

namespace MetalAgent.Agent.Commands;

/// <summary>
/// <c>metalagent trace --port NAME (PROTO SRC[:PORT] DST[:PORT] | --pcap FILE)</c>: what the running agent's live
/// tables do with a packet, without forwarding it; with <c>--state FILE</c> the same against a host state file.
/// </summary>
internal static class TraceCommand
{
    public static Command Create()
    {
        var common = new LocalCommandOptions();
        var packet = new Argument<string[]>("PACKET") { Description = "PROTO SRC[:PORT] DST[:PORT], for example: tcp 10.0.0.1:40000 10.0.0.2:80 (IPv6 as [fd10::1]:80)", Arity = ArgumentArity.ZeroOrMore };
        var port = new Option<string>("--port") { Description = "the port the packet enters: an interface id or the uplink name", Required = true };
        var pcap = new Option<FileInfo?>("--pcap") { Description = "trace the frames of a capture (Ethernet) instead of one described packet" };
        var hex = new Option<string?>("--packet") { Description = "trace one whole Ethernet frame given in hex (spaces and colons allowed) instead of a described packet" };
        var flags = new Option<string?>("--flags") { Description = "TCP flags, letters out of SAFRPU (default S)" };
        var srcMac = new Option<string?>("--src-mac") { Description = "source MAC (VM port; default the VM's learned or pinned MAC)" };
        var underlaySrc = new Option<string?>("--underlay-src") { Description = "outer IPv6 source (uplink; default the router's underlay address)" };
        var underlayDst = new Option<string?>("--underlay-dst") { Description = "outer IPv6 destination (uplink; default the /128 owning the destination)" };
        var ttl = new Option<int>("--ttl") { Description = "TTL / hop limit", DefaultValueFactory = _ => 64 };
        var payload = new Option<int>("--payload") { Description = "payload bytes", DefaultValueFactory = _ => 0 };
        var state = new Option<FileInfo?>("--state") { Description = "trace offline against a host state file (HostSpec JSON) instead of the running agent" };
        var command = new Command("trace", "Run a packet through the live tables without forwarding it and print the verdict")
        {
            packet, port, pcap, hex, flags, srcMac, underlaySrc, underlayDst, ttl, payload, state,
        };
        common.AddTo(command);
        command.SetAction(async (result, token) =>
        {
            var request = new TraceRequest { Port = result.GetValue(port)! };
            string[] words = result.GetValue(packet) ?? [];
            FileInfo? file = result.GetValue(pcap);
            string? frameHex = result.GetValue(hex);
            if ((words.Length > 0 ? 1 : 0) + (file is null ? 0 : 1) + (frameHex is null ? 0 : 1) > 1)
            {
                Console.Error.WriteLine("trace: give one of a packet description, --packet HEX or --pcap FILE");
                return 2;
            }
            if (frameHex is not null)
            {
                if (ParseHexFrame(frameHex, out string? hexProblem) is not { } frame)
                {
                    Console.Error.WriteLine("trace: --packet: " + hexProblem);
                    return 2;
                }
                request.Frames.Add(ByteString.CopyFrom(frame));
            }
            else if (file is not null)
            {
                try
                {
                    request.Frames.AddRange(PcapFiles.ReadAll(file.FullName).Select(ByteString.CopyFrom));
                }
                catch (Exception e) when (e is IOException or SharpPcap.PcapException)
                {
                    Console.Error.WriteLine($"trace: cannot read {file.FullName}: {e.Message}");
                    return 2;
                }
            }
            else
            {
                if (ParseDescription(words, out string? problem) is not { } description)
                {
                    Console.Error.WriteLine("trace: " + problem);
                    return 2;
                }
                description.TcpFlags = result.GetValue(flags) ?? string.Empty;
                description.SrcMac = result.GetValue(srcMac) ?? string.Empty;
                description.UnderlaySrc = result.GetValue(underlaySrc) ?? string.Empty;
                description.UnderlayDst = result.GetValue(underlayDst) ?? string.Empty;
                description.Ttl = (uint)Math.Clamp(result.GetValue(ttl), 0, 255);
                description.PayloadLength = (uint)Math.Clamp(result.GetValue(payload), 0, 8000);
                request.Packet = description;
            }
            TraceReply? reply = result.GetValue(state) is { } stateFile
                ? Offline(stateFile.FullName, request)
                : await LocalCommandOptions.CallAsync("trace", result.GetValue(common.Socket)!,
                    c => c.Agent.TraceAsync(request, deadline: DateTime.UtcNow.AddSeconds(60), cancellationToken: token).ResponseAsync);
            if (reply is null)
            {
                return 1;
            }
            Console.Write(result.GetValue(common.Output) == "json" ? LocalCommandOptions.Json(reply) : Text(reply));
            return 0;
        });
        return command;
    }

    /// <summary>A whole frame written in hex (whitespace and colons between digits allowed); null with a
    /// problem when it is not hex or shorter than an Ethernet header.</summary>
    internal static byte[]? ParseHexFrame(string text, out string? problem)
    {
        string digits = new([.. text.Where(c => !char.IsWhiteSpace(c) && c != ':')]);
        byte[] frame;
        try
        {
            frame = Convert.FromHexString(digits);
        }
        catch (FormatException)
        {
            problem = "not an even number of hex digits";
            return null;
        }
        if (frame.Length < 14)
        {
            problem = $"{frame.Length} bytes: shorter than an Ethernet header (14)";
            return null;
        }
        problem = null;
        return frame;
    }

    /// <summary>"PROTO SRC[:PORT] DST[:PORT]" into a description; null with a problem when malformed.</summary>
    internal static PacketDescription? ParseDescription(string[] words, out string? problem)
    {
        problem = null;
        if (words.Length != 3)
        {
            problem = "describe the packet as PROTO SRC[:PORT] DST[:PORT] (for example: udp 10.0.0.1:40000 8.8.8.8:53), or give --pcap FILE";
            return null;
        }
        if (!SplitHostPort(words[1], out string src, out uint srcPort) || !SplitHostPort(words[2], out string dst, out uint dstPort))
        {
            problem = $"cannot read '{words[1]}' / '{words[2]}' as ADDRESS[:PORT] (IPv6 with a port as [ADDRESS]:PORT)";
            return null;
        }
        return new PacketDescription { Protocol = words[0].ToLowerInvariant(), Src = src, SrcPort = srcPort, Dst = dst, DstPort = dstPort };
    }

    private static bool SplitHostPort(string text, out string host, out uint port)
    {
        port = 0;
        host = text;
        if (text.StartsWith('['))
        {
            int close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                return false;
            }
            host = text[1..close];
            string rest = text[(close + 1)..];
            return rest.Length == 0 || (rest[0] == ':' && uint.TryParse(rest.AsSpan(1), System.Globalization.CultureInfo.InvariantCulture, out port) && port <= 65535);
        }
        int colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon >= 0 && colon == text.LastIndexOf(':'))
        {
            host = text[..colon];
            return uint.TryParse(text.AsSpan(colon + 1), System.Globalization.CultureInfo.InvariantCulture, out port) && port <= 65535;
        }
        return true;
    }

    /// <summary>Traces against a compiled state file: no ports bound, no learned MACs, no live flows.</summary>
    private static TraceReply? Offline(string path, TraceRequest request)
    {
        CompiledHost? compiled = HostStateLoader.LoadCompiled(path, Console.Error);
        if (compiled is null)
        {
            return null;
        }
        var tables = compiled.Snapshot;
        var interfaces = new InterfaceState(tables.Interfaces.Length, null) { GatewayMac = tables.Host.GatewayMac };
        var bound = new BoundSnapshot(tables, new IPort?[tables.Ports.Length], interfaces);
        try
        {
            var notes = new List<string>();
            IReadOnlyList<byte[]> frames = request.Frames.Count > 0
                ? [.. request.Frames.Select(f => f.ToByteArray())]
                : [TracePacketBuilder.Build(bound, tables.FindPort(request.Port) is var p and >= 0 ? p : throw new ArgumentException($"no port named '{request.Port}' in {path}"), request.Packet, notes)];
            return LiveTracer.Trace(bound, liveFlows: null, new ConntrackOptions(), now: 0, request.Port, frames, notes, offline: true);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine("trace: " + e.Message);
            return null;
        }
    }

    internal static string Text(TraceReply reply)
    {
        var text = new StringBuilder();
        foreach (TraceResult r in reply.Results)
        {
            string verdict = r.Verdict == "forward" ? $"forward -> {r.OutPort}" : $"drop ({r.DropReason})";
            text.Append($"#{r.Index + 1} in {r.InPort}: {verdict}\n");
            text.Append("   in:   ").Append(r.Input).Append('\n');
            if (r.Output.Length > 0)
            {
                text.Append("   out:  ").Append(r.Output).Append('\n');
            }
            if (r.Flow.Length > 0)
            {
                text.Append("   flow: ").Append(r.Flow).Append('\n');
            }
            if (r.LiveFlow.Length > 0)
            {
                text.Append("   live: ").Append(r.LiveFlow).Append('\n');
            }
            foreach (string note in r.Notes)
            {
                text.Append("   note: ").Append(note).Append('\n');
            }
        }
        text.Append($"state version {reply.StateVersion}; nothing was forwarded and no live flow was changed\n");
        return text.ToString();
    }
}
