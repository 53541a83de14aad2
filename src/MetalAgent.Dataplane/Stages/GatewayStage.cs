using System.Buffers.Binary;
using MetalAgent.Packets;
using MetalAgent.Tables.Snapshot;

namespace MetalAgent.Dataplane.Stages;

/// <summary>
/// The VM's virtual gateway 169.254.0.1: answers ARP with the port's gateway MAC and learns the
/// VM's MAC from it. Gateway traffic is never subject to policy.
/// </summary>
public static class GatewayStage
{
    /// <summary>169.254.0.1.</summary>
    public const uint GatewayIPv4 = 0xA9FE0001;

    public static Verdict Process(ref PacketContext ctx, int iface, in InterfaceEntry entry, in PortEntry port)
    {
        if (ctx.Headers.EtherType == 0x0806)
        {
            return Arp(ref ctx, iface, in entry, in port);
        }
        return Verdict.Continue;
    }

    private static Verdict Arp(ref PacketContext ctx, int iface, in InterfaceEntry entry, in PortEntry port)
    {
        ref PacketHeaders h = ref ctx.Headers;
        if (h.ArpOp != 1 || (uint)h.DstIp != GatewayIPv4)
        {
            return Verdict.Drop(DropReason.ArpNotForGateway);
        }
        Span<byte> frame = ctx.Frame;
        Span<byte> arp = frame[h.L3Offset..];
        ulong senderMac = h.ArpSenderMac;
        if (entry.PinnedMac != 0 && senderMac != entry.PinnedMac)
        {
            return Verdict.Drop(DropReason.SpoofedMac);
        }
        if (entry.PinnedMac == 0)
        {
            ctx.Bound.Interfaces.LearnVmMac(iface, senderMac);
        }
        uint senderIp = (uint)h.SrcIp;

        // Turn the request into the reply in place.
        Addresses.WriteMac(frame, senderMac);
        Addresses.WriteMac(frame[6..], port.GatewayMac);
        BinaryPrimitives.WriteUInt16BigEndian(arp[6..], 2);
        Addresses.WriteMac(arp[8..], port.GatewayMac);
        BinaryPrimitives.WriteUInt32BigEndian(arp[14..], GatewayIPv4);
        Addresses.WriteMac(arp[18..], senderMac);
        BinaryPrimitives.WriteUInt32BigEndian(arp[24..], senderIp);
        int length = h.L3Offset + 28;
        if (length < 60)
        {
            ctx.Buffer.Slice(ctx.Packet.Offset + length, 60 - length).Clear();
            length = 60;
        }
        ctx.Packet.Length = length;
        return Verdict.Forward(ctx.InPort);
    }
}
