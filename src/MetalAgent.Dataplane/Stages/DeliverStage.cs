using System.Buffers.Binary;
using MetalAgent.Packets;
using MetalAgent.Tables.Snapshot;

namespace MetalAgent.Dataplane.Stages;

/// <summary>Hands an IP packet to a local interface: a fresh Ethernet header from the interface's
/// gateway MAC to the VM's MAC, in front of the IP packet wherever it lies in the buffer.</summary>
public static class DeliverStage
{
    /// <param name="l3Start">Frame-relative start of the IP packet.</param>
    /// <param name="l3End">Frame-relative end of the IP packet.</param>
    public static Verdict ToInterface(ref PacketContext ctx, int iface, int l3Start, int l3End)
    {
        ref readonly InterfaceEntry target = ref ctx.Tables.Interfaces[iface];
        if (!target.Present)
        {
            return Verdict.Drop(DropReason.NoInterface);
        }
        ulong mac = target.PinnedMac != 0 ? target.PinnedMac : ctx.Bound.Interfaces.VmMac(iface);
        if (mac == 0)
        {
            return Verdict.Drop(DropReason.NoVmMac);
        }
        byte version = (byte)(ctx.Frame[l3Start] >> 4);
        int start = ctx.Packet.Offset + l3Start - 14;
        Span<byte> eth = ctx.Buffer.Slice(start, 14);
        Addresses.WriteMac(eth, mac);
        Addresses.WriteMac(eth[6..], ctx.Tables.Ports[target.Port].GatewayMac);
        BinaryPrimitives.WriteUInt16BigEndian(eth[12..], version == 4 ? (ushort)0x0800 : (ushort)0x86DD);
        ctx.Packet.Offset = start;
        ctx.Packet.Length = l3End - l3Start + 14;
        return Verdict.Forward(target.Port);
    }
}
