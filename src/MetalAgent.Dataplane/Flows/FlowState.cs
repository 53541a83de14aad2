namespace MetalAgent.Dataplane.Flows;

/// <summary>What a flow does to its packets.</summary>
public enum FlowKind : byte
{
    /// <summary>Routed without translation (east-west, peering, untranslated alias traffic).</summary>
    Routed = 0,
    /// <summary>Source translated on the originating direction (VirtualIP or NAT gateway out).</summary>
    SourceNat,
    /// <summary>Destination translated on the originating direction (inbound to a VirtualIP).</summary>
    DestinationNat,
    /// <summary>Load-balanced to a target picked by Maglev.</summary>
    LoadBalanced,
    /// <summary>IPv6 from the VM to 64:ff9b::/96, translated to IPv4 from a NAT slice (NAT64).</summary>
    Nat64,
}

/// <summary>TCP progress, enough to pick a timeout.</summary>
public enum TcpProgress : byte
{
    None = 0,
    Opening,
    Established,
    Closing,
}

/// <summary>
/// The state of one connection, shared by both directions. For translated flows the private
/// side is (<see cref="PrivateIp"/>, <see cref="PrivatePort"/>) and the public side
/// (<see cref="PublicIp"/>, <see cref="PublicPort"/>).
/// </summary>
public struct FlowState
{
    public UInt128 PrivateIp;
    public UInt128 PublicIp;
    /// <summary>Load-balancer target /128 (LoadBalanced).</summary>
    public UInt128 Target;
    /// <summary>Local interface id the flow belongs to (its VM), -1 when none (LB relays).</summary>
    public int Interface;
    /// <summary>Load-balancer id (LoadBalanced).</summary>
    public int LoadBalancer;
    public ushort PrivatePort;
    public ushort PublicPort;
    public FlowKind Kind;
    public TcpProgress Tcp;
    /// <summary>The flow holds a port of its interface's NAT slice (NAT gateway or NAT64); counted in use until swept.</summary>
    public bool NatPort;
    /// <summary>Interface id of a second local party (local delivery), -1 when none; counted against its cap too.</summary>
    public int PeerInterface;
}
