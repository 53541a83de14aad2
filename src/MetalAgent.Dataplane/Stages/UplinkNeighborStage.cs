using System.Buffers.Binary;
using MetalAgent.Packets;
using MetalAgent.Tables.Snapshot;

namespace MetalAgent.Dataplane.Stages;

/// <summary>
/// The agent's own side of the uplink's underlay link (the kernel's side carries no underlay
/// addresses): neighbor solicitations for this host's /128s are answered from the uplink's MAC,
/// echo requests to them are answered, and the gateway's neighbor advertisements (and the source
/// link-layer address of its solicitations) give the uplink's next-hop MAC unless the host
/// configuration pins it. Solicitations for the gateway are sent by <see cref="Runtime.GatewayResolver"/>.
/// Everything else that is ICMPv6 and not IP-in-IPv6 is dropped and counted.
/// </summary>
public static class UplinkNeighborStage
{
    private const int FrameHeaderLength = PacketWriter.EthernetHeaderLength + PacketWriter.IPv6HeaderLength;
    private const int NeighborAdvertisementLength = FrameHeaderLength + NdWriter.NeighborOptionsOffset + NdWriter.LinkLayerOptionLength;

    /// <summary>Length of the solicitation frame <see cref="WriteGatewaySolicitation"/> writes.</summary>
    public const int SolicitationLength = FrameHeaderLength + NdWriter.NeighborOptionsOffset + NdWriter.LinkLayerOptionLength;

    /// <summary>ff02::1, where an answer to a solicitation from the unspecified address goes.</summary>
    public static readonly UInt128 AllNodes = new(0xFF02_0000_0000_0000, 1);

    public const ulong AllNodesMac = 0x3333_0000_0001;

    /// <summary>The host's own /128 on the underlay link: the first address of its /64 (prefix::1),
    /// the source of its solicitations; 0 when the host has no prefix.</summary>
    public static UInt128 HostAddress(HostTable host) => host.UnderlayPrefix == UInt128.Zero ? UInt128.Zero : host.UnderlayPrefix + 1;

    /// <summary>True for the addresses this host answers on the underlay: every /128 of its underlay
    /// table and its own <see cref="HostAddress"/>.</summary>
    public static bool IsLocal(DataplaneSnapshot tables, UInt128 address) =>
        address != UInt128.Zero && (tables.Underlay.TryGetValue(address, out _) || address == HostAddress(tables.Host));

    /// <summary>ff02::1:ffXX:XXXX of an address (RFC 4291 section 2.7.1).</summary>
    public static UInt128 SolicitedNode(UInt128 address) => new UInt128(0xFF02_0000_0000_0000, 0x0000_0001_FF00_0000) | (address & 0xFF_FFFF);

    /// <summary>The Ethernet group of an IPv6 multicast address: 33:33 and its low 32 bits (RFC 2464 section 7).</summary>
    public static ulong MulticastMac(UInt128 group) => 0x3333_0000_0000UL | (ulong)(uint)group;

    /// <summary>ICMPv6 on the uplink (not IP-in-IPv6).</summary>
    public static Verdict Process(ref PacketContext ctx)
    {
        ref PacketHeaders h = ref ctx.Headers;
        if ((h.Flags & PacketFlags.HasL4) == 0)
        {
            return Verdict.Drop(DropReason.UplinkNdMalformed);
        }
        return h.IcmpType switch
        {
            IcmpTypes.NeighborSolicitation or IcmpTypes.NeighborAdvertisement => Neighbor(ref ctx),
            IcmpTypes.V6EchoRequest => Echo(ref ctx),
            _ => Verdict.Drop(DropReason.UplinkIcmpV6Unsupported),
        };
    }

    private static Verdict Neighbor(ref PacketContext ctx)
    {
        ref PacketHeaders h = ref ctx.Headers;
        // RFC 4861 sections 7.1.1 and 7.1.2: only hop limit 255 proves the sender is on the link.
        if ((h.Flags & PacketFlags.Fragment) != 0 || h.Ttl != NdWriter.HopLimit)
        {
            return Verdict.Drop(DropReason.UplinkNdMalformed);
        }
        Span<byte> frame = ctx.Frame;
        if (Checksums.VerifyL4(frame, in h) != L4ChecksumStatus.Valid
            || NdMessage.TryParse(frame[h.L4Offset..h.L3End], out NdMessage message) != NdError.None)
        {
            return Verdict.Drop(DropReason.UplinkNdMalformed);
        }
        HostTable host = ctx.Tables.Host;
        UInt128 target = message.TargetAddress;
        if (h.IcmpType == IcmpTypes.NeighborAdvertisement)
        {
            if (target != host.GatewayAddress || host.GatewayAddress == UInt128.Zero)
            {
                return Verdict.Drop(DropReason.UplinkNdNotForGateway);
            }
            LearnGateway(ref ctx, message.TryGetTargetLinkLayerAddress(out ulong advertised) ? advertised : h.SrcMac);
            return Verdict.Drop(DropReason.UplinkGatewayNeighbor);
        }

        bool unspecifiedSource = h.SrcIp == UInt128.Zero;
        bool hasSourceMac = message.TryGetSourceLinkLayerAddress(out ulong sourceMac);
        // A sender without an address must not claim a link-layer address and asks through the
        // solicited-node group (RFC 4861 section 7.1.1).
        if (unspecifiedSource && (hasSourceMac || h.DstIp != SolicitedNode(target)))
        {
            return Verdict.Drop(DropReason.UplinkNdMalformed);
        }
        if (!IsLocal(ctx.Tables, target))
        {
            return Verdict.Drop(DropReason.UplinkNdTargetNotLocal);
        }
        // The gateway resolving us tells us its own MAC as well (RFC 4861 section 7.2.3).
        if (hasSourceMac && h.SrcIp == host.GatewayAddress && host.GatewayAddress != UInt128.Zero)
        {
            LearnGateway(ref ctx, sourceMac);
        }

        // Everything needed from the request is in locals: the answer overwrites it from the frame start.
        UInt128 dstIp = unspecifiedSource ? AllNodes : h.SrcIp;
        ulong dstMac = unspecifiedSource ? AllNodesMac : hasSourceMac ? sourceMac : h.SrcMac;
        ulong ownMac = ctx.Bound.UplinkMac;
        Span<byte> output = ctx.Buffer[ctx.Packet.Offset..];
        if (output.Length < NeighborAdvertisementLength)
        {
            return Verdict.Drop(DropReason.NoBuffer);
        }
        // An answer to the unspecified address is unsolicited, to all nodes (RFC 4861 section 7.2.4).
        int icmp = NdWriter.WriteNeighborAdvertisement(
            output[FrameHeaderLength..], target, dstIp, target, router: false, solicited: !unspecifiedSource, isOverride: true, ownMac);
        PacketWriter.WriteIPv6(output[PacketWriter.EthernetHeaderLength..], target, dstIp, IpProtocols.IcmpV6, icmp, NdWriter.HopLimit);
        PacketWriter.WriteEthernet(output, dstMac, ownMac, EtherTypes.IPv6);
        ctx.Packet.Length = FrameHeaderLength + icmp;
        return Verdict.Forward(ctx.InPort);
    }

    /// <summary>Echo requests to one of this host's /128s are answered in place (addresses and MACs
    /// swapped, type 129, checksum patched: the pseudo-header sum is symmetric in the addresses).</summary>
    private static Verdict Echo(ref PacketContext ctx)
    {
        ref PacketHeaders h = ref ctx.Headers;
        if ((h.Flags & PacketFlags.Fragment) != 0 || !IsLocal(ctx.Tables, h.DstIp) || h.SrcIp == UInt128.Zero)
        {
            return Verdict.Drop(DropReason.UplinkIcmpV6Unsupported);
        }
        Span<byte> frame = ctx.Frame;
        Span<byte> icmp = frame[h.L4Offset..];
        ushort oldTypeCode = BinaryPrimitives.ReadUInt16BigEndian(icmp);
        icmp[0] = IcmpTypes.V6EchoReply;
        ushort check = BinaryPrimitives.ReadUInt16BigEndian(icmp[2..]);
        BinaryPrimitives.WriteUInt16BigEndian(icmp[2..], Checksums.Update16(check, oldTypeCode, BinaryPrimitives.ReadUInt16BigEndian(icmp)));
        Span<byte> ip = frame[h.L3Offset..];
        ip[7] = 64;
        BinaryPrimitives.WriteUInt128BigEndian(ip[8..], h.DstIp);
        BinaryPrimitives.WriteUInt128BigEndian(ip[24..], h.SrcIp);
        Addresses.WriteMac(frame, h.SrcMac);
        Addresses.WriteMac(frame[6..], ctx.Bound.UplinkMac);
        return Verdict.Forward(ctx.InPort);
    }

    /// <summary>A pinned gateway MAC wins over anything learned.</summary>
    private static void LearnGateway(ref PacketContext ctx, ulong mac)
    {
        if (ctx.Tables.Host.GatewayMac == 0 && mac != 0 && ctx.Bound.Interfaces.GatewayMac != mac)
        {
            ctx.Bound.Interfaces.GatewayMac = mac;
        }
    }

    /// <summary>Writes the multicast solicitation for the uplink's gateway at the start of
    /// <paramref name="frame"/> (at least <see cref="SolicitationLength"/> bytes): from the host's
    /// own /128 and the uplink's MAC, to the gateway's solicited-node group. Returns its length.</summary>
    public static int WriteGatewaySolicitation(Span<byte> frame, HostTable host, ulong uplinkMac)
    {
        UInt128 source = HostAddress(host);
        UInt128 group = SolicitedNode(host.GatewayAddress);
        int icmp = NdWriter.WriteNeighborSolicitation(frame[FrameHeaderLength..], source, group, host.GatewayAddress, uplinkMac);
        PacketWriter.WriteIPv6(frame[PacketWriter.EthernetHeaderLength..], source, group, IpProtocols.IcmpV6, icmp, NdWriter.HopLimit);
        PacketWriter.WriteEthernet(frame, MulticastMac(group), uplinkMac, EtherTypes.IPv6);
        return FrameHeaderLength + icmp;
    }
}
