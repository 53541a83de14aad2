using MetalAgent.ControlPlane.Addressing;

namespace MetalAgent.ControlPlane.Allocation;

/// <summary>A NAT gateway slot: a public IP and an inclusive port range of it.</summary>
public readonly record struct NatSlot(IpAddressValue PublicIp, uint FirstPort, uint LastPort);
