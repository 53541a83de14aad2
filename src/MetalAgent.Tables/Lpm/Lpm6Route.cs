using MetalAgent.Packets;

namespace MetalAgent.Tables.Lpm;

/// <summary>An IPv6 route: network number (host order, host bits zero), prefix length 0-128 and
/// the value returned for addresses it matches (a next-hop id, at most <see cref="Lpm6Table.MaxValue"/>).</summary>
public readonly record struct Lpm6Route(UInt128 Prefix, byte Length, uint Value)
{
    public override string ToString() => $"{Addresses.FormatIPv6(Prefix)}/{Length} -> {Value}";
}
