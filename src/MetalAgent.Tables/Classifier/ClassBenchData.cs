namespace MetalAgent.Tables.Classifier;

/// <summary>Locates the ClassBench files committed under data/classbench of the repository (found by walking up
/// from <see cref="AppContext.BaseDirectory"/> to the directory holding MetalAgent.sln), for tests and benchmarks.</summary>
public static class ClassBenchData
{
    /// <summary>The data/classbench directory of the repository.</summary>
    public static string FindDirectory()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "MetalAgent.sln")))
            {
                return Path.Combine(dir.FullName, "data", "classbench");
            }
        }
        throw new DirectoryNotFoundException($"no MetalAgent.sln above {AppContext.BaseDirectory}");
    }

    /// <summary>Loads a rule set by name, e.g. "acl1_10000".</summary>
    public static ClassBenchRuleSet LoadRules(string name) => ClassBenchRuleSet.Load(Path.Combine(FindDirectory(), name + ".gz"));

    /// <summary>Loads a trace by name, e.g. "acl1_10000_trace".</summary>
    public static ClassBenchTrace LoadTrace(string name) => ClassBenchTrace.Load(Path.Combine(FindDirectory(), name + ".gz"));
}
