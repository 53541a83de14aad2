using System.CommandLine;
using MetalAgent.Agent.Replay;
using MetalAgent.Backends.Pcap;
using MetalAgent.Compiler;

namespace MetalAgent.Agent.Commands;

/// <summary><c>metalagent replay --state HOST.json --in IN.pcap --port NAME --out DIR</c>.</summary>
internal static class ReplayCommand
{
    public static Command Create()
    {
        var state = new Option<FileInfo>("--state") { Description = "host state file (HostSpec JSON)", Required = true };
        var input = new Option<FileInfo>("--in") { Description = "capture to replay (pcap, Ethernet)", Required = true };
        var port = new Option<string>("--port") { Description = "pipeline port the frames enter (interface id or uplink name)", Required = true };
        var output = new Option<DirectoryInfo>("--out") { Description = "directory for one pcap per output port", Required = true };
        var command = new Command("replay", "Replay a capture through a pipeline built from a host state file") { state, input, port, output };
        command.SetAction(result => Run(
            result.GetValue(state)!, result.GetValue(input)!, result.GetValue(port)!, result.GetValue(output)!));
        return command;
    }

    private static int Run(FileInfo state, FileInfo input, string port, DirectoryInfo output)
    {
        CompiledHost? compiled = HostStateLoader.LoadCompiled(state.FullName, Console.Error);
        if (compiled is null)
        {
            return 2;
        }
        if (compiled.Snapshot.FindPort(port) < 0)
        {
            Console.Error.WriteLine($"replay: no port named '{port}' in {state.Name}");
            return 2;
        }
        List<byte[]> frames;
        try
        {
            frames = PcapFiles.ReadAll(input.FullName);
        }
        catch (Exception e) when (e is IOException or SharpPcap.PcapException)
        {
            Console.Error.WriteLine($"replay: cannot read {input.FullName}: {e.Message}");
            return 2;
        }

        using var runner = new ReplayRunner(compiled.Snapshot);
        int forwarded = 0, dropped = 0;
        foreach (byte[] frame in frames)
        {
            ReplayVerdict verdict = runner.Inject(port, frame);
            Console.WriteLine(verdict);
            if (verdict.OutPorts.Count > 0)
            {
                forwarded++;
            }
            else
            {
                dropped++;
            }
        }
        output.Create();
        foreach ((string name, List<byte[]> sent) in runner.Outputs)
        {
            if (sent.Count > 0)
            {
                string path = Path.Combine(output.FullName, name + ".pcap");
                PcapFiles.WriteAll(path, sent);
                Console.WriteLine($"wrote {sent.Count} frame(s) to {path}");
            }
        }
        Console.WriteLine($"{frames.Count} frame(s): {forwarded} forwarded, {dropped} dropped");
        return 0;
    }
}
