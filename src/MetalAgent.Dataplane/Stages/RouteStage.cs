using System.Buffers.Binary;
using MetalAgent.Packets;
using MetalAgent.Tables.Lpm;
using MetalAgent.Tables.Snapshot;

namespace MetalAgent.Dataplane.Stages;

/// <summary>
/// Routing inside the sender's VNI by longest prefix match: to a local interface (fresh Ethernet
/// header), to a remote host or peered network (IP-in-IPv6), or by the default route to the
/// underlay router. Decrements TTL / hop limit.
/// </summary>
public static class RouteStage
{
    public static Verdict Process(ref PacketContext ctx, in InterfaceEntry sender)
    {
        ref PacketHeaders h = ref ctx.Headers;
        VniTable vni = ctx.Tables.Vnis[sender.VniId];
        uint hop = h.IpVersion == 4 ? vni.Routes4.Lookup((uint)h.DstIp) : vni.Routes6.Lookup(h.DstIp);
        if (hop == Lpm4Table.NoRoute)
        {
            return Verdict.Drop(DropReason.NoRoute);
        }
        if (h.Ttl <= 1)
        {
            return Verdict.Drop(DropReason.TtlExpired);
        }
        DecrementTtl(ctx.Frame, in h);

        ref readonly NextHop next = ref ctx.Tables.NextHops[hop];
        switch (next.Kind)
        {
            case NextHopKind.Local:
                return DeliverStage.ToInterface(ref ctx, next.Interface, h.L3Offset, h.L3End);
            case NextHopKind.Remote:
                return EncapStage.ToUnderlay(ref ctx, sender.Underlay, next.Underlay);
            default:
                return EncapStage.ToUnderlay(ref ctx, sender.Underlay, ctx.Tables.Host.RouterUnderlay);
        }
    }

    /// <summary>Decrements TTL (patching the IPv4 checksum incrementally) or the hop limit.</summary>
    public static void DecrementTtl(Span<byte> frame, in PacketHeaders h)
    {
        if (h.IpVersion == 4)
        {
            Span<byte> ip = frame[h.L3Offset..];
            ushort oldWord = BinaryPrimitives.ReadUInt16BigEndian(ip[8..]);
            ip[8]--;
            ushort newWord = BinaryPrimitives.ReadUInt16BigEndian(ip[8..]);
            ushort sum = BinaryPrimitives.ReadUInt16BigEndian(ip[10..]);
            BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Checksums.Update16(sum, oldWord, newWord));
        }
        else
        {
            frame[h.L3Offset + 7]--;
        }
    }
}
