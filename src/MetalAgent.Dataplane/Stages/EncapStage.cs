using System.Buffers.Binary;
using MetalAgent.Packets;

namespace MetalAgent.Dataplane.Stages;

/// <summary>
/// IronCore's underlay encapsulation: the inner IP packet behind outer Ethernet + IPv6 (next
/// header 4 or 41, hop limit 64), outer source the sending object's /128, flow label from the
/// inner flow hash so the underlay can spread flows. Written into the buffer's headroom in front of
/// the inner IP header: no copy of the payload. While the gateway's MAC is not resolved yet the frame
/// is handed back as <see cref="VerdictKind.AwaitGateway"/> and waits in the worker.
/// </summary>
public static class EncapStage
{
    public const int OuterLength = 14 + 40;

    public static Verdict ToUnderlay(ref PacketContext ctx, UInt128 source, UInt128 destination)
    {
        int uplink = ctx.Tables.Host.UplinkPort;
        if (uplink < 0)
        {
            return Verdict.Drop(DropReason.NoUplink);
        }
        ref PacketHeaders h = ref ctx.Headers;
        int innerLength = h.L3End - h.L3Offset;
        if (innerLength + 40 > ctx.Tables.Host.UnderlayMtu)
        {
            return Verdict.Drop(DropReason.FrameTooLarge);
        }
        ulong gatewayMac = ctx.Bound.Interfaces.GatewayMac;
        if (gatewayMac == 0 && ctx.Tables.Host.GatewayAddress == UInt128.Zero)
        {
            return Verdict.Drop(DropReason.NoGatewayMac);
        }
        int start = ctx.Packet.Offset + h.L3Offset - OuterLength;
        Span<byte> outer = ctx.Buffer.Slice(start, OuterLength);
        Addresses.WriteMac(outer, gatewayMac);
        Addresses.WriteMac(outer[6..], ctx.Bound.UplinkMac);
        BinaryPrimitives.WriteUInt16BigEndian(outer[12..], 0x86DD);
        Span<byte> ip6 = outer[14..];
        uint flowLabel = FlowLabel(in h);
        BinaryPrimitives.WriteUInt32BigEndian(ip6, (6u << 28) | flowLabel);
        BinaryPrimitives.WriteUInt16BigEndian(ip6[4..], (ushort)innerLength);
        ip6[6] = h.IpVersion == 4 ? (byte)4 : (byte)41;
        ip6[7] = 64;
        BinaryPrimitives.WriteUInt128BigEndian(ip6[8..], source);
        BinaryPrimitives.WriteUInt128BigEndian(ip6[24..], destination);
        ctx.Packet.Offset = start;
        ctx.Packet.Length = OuterLength + innerLength;
        // Not resolved yet: the worker holds the frame and writes the MAC in when the gateway answers.
        return gatewayMac == 0 ? Verdict.AwaitGateway(uplink) : Verdict.Forward(uplink);
    }

    /// <summary>20-bit flow label from the inner 5-tuple (never 0, which means "no label").</summary>
    public static uint FlowLabel(in PacketHeaders h)
    {
        ulong hash = Tables.Exact.FlowHash.HashFlow(h.SrcIp, h.DstIp, h.SrcPort, h.DstPort, h.Protocol, 0);
        uint label = (uint)(hash ^ (hash >> 20) ^ (hash >> 40)) & 0xFFFFF;
        return label == 0 ? 1 : label;
    }
}
