using System.CommandLine;
using MetalAgent.Compiler;

namespace MetalAgent.Agent.Commands;

/// <summary><c>metalagent compile --state HOST.json</c>: prints a readable dump of the compiled tables.</summary>
internal static class CompileCommand
{
    public static Command Create()
    {
        var state = new Option<FileInfo>("--state") { Description = "host state file (HostSpec JSON)", Required = true };
        var command = new Command("compile", "Compile a host state file and print the tables") { state };
        command.SetAction(result =>
        {
            CompiledHost? compiled = HostStateLoader.LoadCompiled(result.GetValue(state)!.FullName, Console.Error);
            if (compiled is null)
            {
                return 2;
            }
            Console.Write(SnapshotDump.Format(compiled.Snapshot));
            return 0;
        });
        return command;
    }
}
