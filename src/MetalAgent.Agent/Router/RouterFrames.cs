using System.Buffers.Binary;
using MetalAgent.Dataplane.Stages;
using MetalAgent.Packets;

namespace MetalAgent.Agent.Router;

/// <summary>The frames the router writes itself: neighbor advertisements and solicitations, ARP
/// requests and replies, echo replies (in place). Allocation-free; each returns the frame length.</summary>
public static class RouterFrames
{
    public const int EthernetLength = PacketWriter.EthernetHeaderLength;
    private const int NdHeaders = EthernetLength + PacketWriter.IPv6HeaderLength;

    /// <summary>Shortest Ethernet frame without FCS; ARP frames are padded to it.</summary>
    public const int MinimumFrame = 60;

    /// <summary>Room a neighbor message needs (NA and NS with one link-layer option).</summary>
    public const int NeighborLength = NdHeaders + NdWriter.NeighborOptionsOffset + NdWriter.LinkLayerOptionLength;

    public const ulong BroadcastMac = 0xFFFF_FFFF_FFFF;

    public static int WriteNeighborAdvertisement(Span<byte> frame, UInt128 target, UInt128 dstIp, ulong dstMac, ulong ownMac, bool solicited)
    {
        int icmp = NdWriter.WriteNeighborAdvertisement(frame[NdHeaders..], target, dstIp, target, router: true, solicited, isOverride: true, ownMac);
        PacketWriter.WriteIPv6(frame[EthernetLength..], target, dstIp, IpProtocols.IcmpV6, icmp, NdWriter.HopLimit);
        PacketWriter.WriteEthernet(frame, dstMac, ownMac, EtherTypes.IPv6);
        return NdHeaders + icmp;
    }

    /// <summary>A multicast solicitation for <paramref name="target"/> from <paramref name="source"/>.</summary>
    public static int WriteNeighborSolicitation(Span<byte> frame, UInt128 source, UInt128 target, ulong ownMac)
    {
        UInt128 group = UplinkNeighborStage.SolicitedNode(target);
        int icmp = NdWriter.WriteNeighborSolicitation(frame[NdHeaders..], source, group, target, ownMac);
        PacketWriter.WriteIPv6(frame[EthernetLength..], source, group, IpProtocols.IcmpV6, icmp, NdWriter.HopLimit);
        PacketWriter.WriteEthernet(frame, UplinkNeighborStage.MulticastMac(group), ownMac, EtherTypes.IPv6);
        return NdHeaders + icmp;
    }

    /// <summary>An ARP request (broadcast) or reply (to <paramref name="targetMac"/>), padded to 60 bytes.</summary>
    public static int WriteArp(Span<byte> frame, ushort operation, ulong ownMac, uint ownIp, ulong targetMac, uint targetIp)
    {
        PacketWriter.WriteEthernet(frame, operation == 1 ? BroadcastMac : targetMac, ownMac, EtherTypes.Arp);
        int end = EthernetLength + PacketWriter.WriteArp(frame[EthernetLength..], operation, ownMac, ownIp, operation == 1 ? 0 : targetMac, targetIp);
        frame[end..MinimumFrame].Clear();
        return MinimumFrame;
    }

    /// <summary>Turns an ICMP or ICMPv6 echo request into the reply in place: MACs and addresses
    /// swapped, type changed (checksum patched), TTL or hop limit 64.</summary>
    public static void AnswerEcho(Span<byte> frame, in PacketHeaders h, ulong ownMac)
    {
        Span<byte> icmp = frame[h.L4Offset..];
        ushort oldTypeCode = BinaryPrimitives.ReadUInt16BigEndian(icmp);
        icmp[0] = h.IpVersion == 4 ? IcmpTypes.EchoReply : IcmpTypes.V6EchoReply;
        ushort check = BinaryPrimitives.ReadUInt16BigEndian(icmp[2..]);
        BinaryPrimitives.WriteUInt16BigEndian(icmp[2..], Checksums.Update16(check, oldTypeCode, BinaryPrimitives.ReadUInt16BigEndian(icmp)));
        Span<byte> ip = frame[h.L3Offset..];
        if (h.IpVersion == 4)
        {
            // Swapping the addresses leaves the header sum unchanged; the TTL moves it.
            ushort oldTtl = BinaryPrimitives.ReadUInt16BigEndian(ip[8..]);
            ip[8] = 64;
            ushort sum = BinaryPrimitives.ReadUInt16BigEndian(ip[10..]);
            BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Checksums.Update16(sum, oldTtl, BinaryPrimitives.ReadUInt16BigEndian(ip[8..])));
            BinaryPrimitives.WriteUInt32BigEndian(ip[12..], (uint)h.DstIp);
            BinaryPrimitives.WriteUInt32BigEndian(ip[16..], (uint)h.SrcIp);
        }
        else
        {
            // The ICMPv6 pseudo-header sum is symmetric in the two addresses.
            ip[7] = 64;
            BinaryPrimitives.WriteUInt128BigEndian(ip[8..], h.DstIp);
            BinaryPrimitives.WriteUInt128BigEndian(ip[24..], h.SrcIp);
        }
        Addresses.WriteMac(frame, h.SrcMac);
        Addresses.WriteMac(frame[6..], ownMac);
    }
}
