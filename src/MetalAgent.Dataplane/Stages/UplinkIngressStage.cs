using MetalAgent.Packets;
using MetalAgent.Tables.Snapshot;

namespace MetalAgent.Dataplane.Stages;

/// <summary>
/// Packets from the underlay: only IPv6 with next header 4 or 41 to one of this host's /128s is
/// accepted; the outer destination alone gives the VNI and the receiving object. The inner packet
/// is decapsulated and delivered.
/// </summary>
public static class UplinkIngressStage
{
    public static Verdict Process(ref PacketContext ctx)
    {
        ref PacketHeaders outer = ref ctx.Headers;
        if (outer.IpVersion != 6 || (outer.Protocol != 4 && outer.Protocol != 41))
        {
            return Verdict.Drop(DropReason.NotIpInIp);
        }
        if (!ctx.Tables.Underlay.TryGetValue(outer.DstIp, out UnderlayTarget target))
        {
            return Verdict.Drop(DropReason.UnknownUnderlayDestination);
        }
        int innerStart = outer.L4Offset;
        int innerEnd = outer.L3End;
        byte expected = outer.Protocol == 4 ? (byte)4 : (byte)6;
        var inner = default(PacketHeaders);
        ParseError error = PacketParser.ParseIp(ctx.Frame[..innerEnd], innerStart, ref inner);
        if (error != ParseError.None)
        {
            return Verdict.Drop(DropReason.InnerParseError);
        }
        if (inner.IpVersion != expected)
        {
            return Verdict.Drop(DropReason.InnerFamilyMismatch);
        }
        ctx.Headers = inner;
        switch (target.Kind)
        {
            case UnderlayTargetKind.Interface:
            case UnderlayTargetKind.Prefix:
            case UnderlayTargetKind.LbAlias:
                return DeliverStage.ToInterface(ref ctx, target.Target, inner.L3Offset, inner.L3End);
            default:
                return Verdict.Drop(DropReason.UnderlayNotForUs);
        }
    }
}
