namespace MetalAgent.Tables.Classifier;

/// <summary>The IPv6 5-tuple a classifier looks up: host-order addresses, ports and protocol (next header).</summary>
public readonly record struct FlowKey6(UInt128 Src, UInt128 Dst, ushort SrcPort, ushort DstPort, byte Protocol);
