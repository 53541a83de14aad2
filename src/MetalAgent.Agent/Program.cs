using System.CommandLine;

namespace MetalAgent.Agent;

public static class Program
{
    public static int Main(string[] args)
    {
        var root = new RootCommand("MetalAgent: per-host dataplane agent for IronCore networking");
        return root.Parse(args).Invoke();
    }
}
