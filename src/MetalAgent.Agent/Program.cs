using System.CommandLine;
using MetalAgent.Agent.Commands;

namespace MetalAgent.Agent;

/// <summary>The single <c>metalagent</c> executable; each role and tool is a verb.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        var root = new RootCommand("MetalAgent: per-host dataplane agent for IronCore networking")
        {
            ReplayCommand.Create(),
            ValidateCommand.Create(),
            CompileCommand.Create(),
            RunCommand.Create(),
            ControlPlaneCommand.Create(),
            GetCommand.Create(),
            RouterCommand.Create(),
            StatusCommand.Create(),
            FlowsCommand.Create(),
            TraceCommand.Create(),
        };
        return root.Parse(args).InvokeAsync().GetAwaiter().GetResult();
    }
}
