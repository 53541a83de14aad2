using MetalAgent.ControlPlane.V1;

namespace MetalAgent.Agent.Router;

/// <summary>One public IP of the router view: its kind and its owners (a range of <see cref="PublicIpTable.Owners"/>).</summary>
public readonly record struct PublicIpEntry(PublicIpKind Kind, int FirstOwner, int OwnerCount);

/// <summary>An underlay /128 that receives traffic for a public IP; NAT owners also own a port slice.</summary>
public readonly record struct PublicIpOwnerEntry(UInt128 Underlay, ulong Seed, ushort FirstPort, ushort LastPort);
