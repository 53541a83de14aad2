using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using MetalAgent.Packets;
using MetalAgent.Tables.Snapshot;

namespace MetalAgent.Dataplane.Stages;

/// <summary>
/// The VM's virtual gateway 169.254.0.1 / fe80::1, answered with the port's own gateway MAC: ARP
/// and echo requests (ping the gateway) here, neighbor discovery in <see cref="NeighborDiscoveryStage"/>, DHCP in <see cref="Dhcp4Stage"/>
/// and <see cref="Dhcp6Stage"/>. It learns the VM's MAC from what the VM asks. Gateway traffic is
/// never subject to policy or anti-spoofing (a DHCP client has no address yet). Replies are written
/// into the request's own pool buffer and sent back out of the ingress port.
/// </summary>
public static class GatewayStage
{
    /// <summary>169.254.0.1.</summary>
    public const uint GatewayIPv4 = 0xA9FE0001;

    /// <summary>fe80::1.</summary>
    public static readonly UInt128 GatewayIPv6 = new(0xFE80_0000_0000_0000, 1);

    /// <summary>ff02::1, all nodes on the link.</summary>
    public static readonly UInt128 AllNodes = new(0xFF02_0000_0000_0000, 1);

    /// <summary>33:33:00:00:00:01, the Ethernet address of ff02::1.</summary>
    public const ulong AllNodesMac = 0x3333_0000_0001;

    public static Verdict Process(ref PacketContext ctx, int iface, in InterfaceEntry entry, in PortEntry port)
    {
        ref PacketHeaders h = ref ctx.Headers;
        if (h.EtherType == EtherTypes.Arp)
        {
            return Arp(ref ctx, iface, in entry, in port);
        }
        if ((h.Flags & PacketFlags.HasL4) == 0)
        {
            return Verdict.Continue;
        }
        if (h.Protocol == IpProtocols.Udp)
        {
            if (h.IpVersion == 4)
            {
                if (Dhcp4Stage.IsRequest(in h))
                {
                    return Dhcp4Stage.Process(ref ctx, iface, in entry, in port);
                }
            }
            else if (Dhcp6Stage.IsRequest(in h))
            {
                return Dhcp6Stage.Process(ref ctx, iface, in entry, in port);
            }
        }
        else if (h.Protocol == IpProtocols.IcmpV6)
        {
            if (NeighborDiscoveryStage.IsLinkMessage(h.IcmpType))
            {
                return NeighborDiscoveryStage.Process(ref ctx, iface, in entry, in port);
            }
            if (h.IcmpType == IcmpTypes.V6EchoRequest && h.DstIp == GatewayIPv6)
            {
                return Echo(ref ctx, iface, in entry, in port);
            }
        }
        else if (h.Protocol == IpProtocols.Icmp && h.IcmpType == IcmpTypes.EchoRequest && (uint)h.DstIp == GatewayIPv4)
        {
            return Echo(ref ctx, iface, in entry, in port);
        }
        return Verdict.Continue;
    }

    /// <summary>Takes <paramref name="mac"/> as the VM's MAC: false when the interface has another
    /// pinned MAC, or when it is not a unicast address (learning it would cut the VM off).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool AcceptVmMac(ref PacketContext ctx, int iface, in InterfaceEntry entry, ulong mac)
    {
        if (entry.PinnedMac != 0)
        {
            return mac == entry.PinnedMac;
        }
        if (mac == 0 || (mac & 0x0100_0000_0000) != 0)
        {
            return false;
        }
        ctx.Bound.Interfaces.LearnVmMac(iface, mac);
        return true;
    }

    /// <summary>Buffer offset where a reply of up to <paramref name="length"/> bytes can be written
    /// after the request frame, so the request stays readable while the reply is built; -1 when the
    /// request leaves no room (only an absurdly long request).</summary>
    internal static int ReplyOffsetAfterFrame(ref PacketContext ctx, int length)
    {
        int start = (ctx.Packet.Offset + ctx.Packet.Length + 63) & ~63;
        return start + length <= ctx.Buffer.Length ? start : -1;
    }

    /// <summary>Answers a ping of the gateway in place: addresses swapped, type turned into a reply,
    /// checksums patched, sent back to the VM from the gateway MAC.</summary>
    private static Verdict Echo(ref PacketContext ctx, int iface, in InterfaceEntry entry, in PortEntry port)
    {
        ref PacketHeaders h = ref ctx.Headers;
        ulong known = entry.PinnedMac != 0 ? entry.PinnedMac : ctx.Bound.Interfaces.VmMac(iface);
        if (known != 0 && h.SrcMac != known)
        {
            return Verdict.Drop(DropReason.SpoofedMac);
        }
        Span<byte> frame = ctx.Frame;
        if ((h.Flags & PacketFlags.Fragment) != 0 || Checksums.VerifyL4(frame, in h) != L4ChecksumStatus.Valid)
        {
            return Verdict.Drop(DropReason.GatewayBadChecksum);
        }
        Span<byte> ip = frame[h.L3Offset..];
        Span<byte> icmp = frame[h.L4Offset..];
        ushort oldTypeCode = BinaryPrimitives.ReadUInt16BigEndian(icmp);
        icmp[0] = h.IpVersion == 4 ? IcmpTypes.EchoReply : IcmpTypes.V6EchoReply;
        ushort check = BinaryPrimitives.ReadUInt16BigEndian(icmp[2..]);
        BinaryPrimitives.WriteUInt16BigEndian(icmp[2..], Checksums.Update16(check, oldTypeCode, BinaryPrimitives.ReadUInt16BigEndian(icmp)));
        if (h.IpVersion == 4)
        {
            ip[8] = 64;
            BinaryPrimitives.WriteUInt32BigEndian(ip[12..], GatewayIPv4);
            BinaryPrimitives.WriteUInt32BigEndian(ip[16..], (uint)h.SrcIp);
            Checksums.WriteIPv4HeaderChecksum(ip);
        }
        else
        {
            // The ICMPv6 pseudo-header sum does not change when the two addresses swap.
            ip[7] = 64;
            BinaryPrimitives.WriteUInt128BigEndian(ip[8..], GatewayIPv6);
            BinaryPrimitives.WriteUInt128BigEndian(ip[24..], h.SrcIp);
        }
        Addresses.WriteMac(frame, h.SrcMac);
        Addresses.WriteMac(frame[6..], port.GatewayMac);
        return Verdict.Forward(ctx.InPort);
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
        if (!AcceptVmMac(ref ctx, iface, in entry, senderMac))
        {
            return Verdict.Drop(DropReason.SpoofedMac);
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
