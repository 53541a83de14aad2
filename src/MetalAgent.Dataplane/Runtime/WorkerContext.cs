using MetalAgent.Dataplane.Flows;

namespace MetalAgent.Dataplane.Runtime;

/// <summary>What the stages need of the worker running them: its index (its share of the flow
/// table), its counters, the shared connection tracking, and the clock read once per burst.</summary>
public sealed class WorkerContext
{
    public WorkerContext(int index, WorkerCounters counters, ConntrackState conntrack)
    {
        Index = index;
        Counters = counters;
        Conntrack = conntrack;
    }

    public int Index { get; }

    public WorkerCounters Counters { get; }

    public ConntrackState Conntrack { get; }

    /// <summary>Coarse time in seconds, read once per burst.</summary>
    public long Now { get; set; }
}
