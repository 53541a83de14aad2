namespace MetalAgent.Tables.Classifier;

/// <summary>The IPv4 5-tuple a classifier looks up: host-order addresses, ports and protocol.</summary>
public readonly record struct FlowKey4(uint Src, uint Dst, ushort SrcPort, ushort DstPort, byte Protocol);
