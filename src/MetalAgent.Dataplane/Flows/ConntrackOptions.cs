namespace MetalAgent.Dataplane.Flows;

/// <summary>Connection-tracking limits and timeouts (seconds).</summary>
public sealed record ConntrackOptions
{
    public int Capacity { get; init; } = 1 << 20;
    /// <summary>At most this many flows per interface, so one tenant cannot exhaust the table.</summary>
    public int MaxFlowsPerInterface { get; init; } = 65536;
    public int TcpEstablishedTimeout { get; init; } = 7440;
    public int TcpTransitoryTimeout { get; init; } = 60;
    public int UdpTimeout { get; init; } = 120;
    public int IcmpTimeout { get; init; } = 30;
    public int OtherTimeout { get; init; } = 120;
}
