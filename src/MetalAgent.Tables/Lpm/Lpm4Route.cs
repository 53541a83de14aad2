using MetalAgent.Packets;

namespace MetalAgent.Tables.Lpm;

/// <summary>An IPv4 route: network number (host order, host bits zero), prefix length 0-32 and
/// the value returned for addresses it matches (a next-hop id, at most <see cref="Lpm4Table.MaxValue"/>).</summary>
public readonly record struct Lpm4Route(uint Prefix, byte Length, uint Value)
{
    public override string ToString() => $"{Addresses.FormatIPv4(Prefix)}/{Length} -> {Value}";
}
