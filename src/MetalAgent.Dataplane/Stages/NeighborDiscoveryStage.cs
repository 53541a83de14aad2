using MetalAgent.Packets;
using MetalAgent.Tables.Snapshot;

namespace MetalAgent.Dataplane.Stages;

/// <summary>
/// The gateway's side of IPv6 neighbor discovery (RFC 4861) on a VM port: neighbor solicitations
/// for fe80::1 get a neighbor advertisement (router, override), router solicitations a router
/// advertisement with M and O set (addresses and DNS come from DHCPv6, so no prefix information),
/// the link MTU and the DNS servers (RFC 8106). The same advertisement goes out unsolicited from
/// <see cref="Runtime.RouterAdvertiser"/>. Other link-scope ICMPv6 from the VM (its own
/// advertisements, redirects, MLD) is consumed here and counted.
/// </summary>
public static class NeighborDiscoveryStage
{
    /// <summary>Router lifetime of our advertisements in seconds: well above the default unsolicited
    /// interval of 60 s, so one lost advertisement never costs the VM its default route.</summary>
    public const ushort RouterLifetime = 1800;

    /// <summary>Hop limit the advertisement tells the VM to use.</summary>
    public const byte CurHopLimit = 64;

    /// <summary>DNS servers carried in one RDNSS option at most.</summary>
    public const int MaxDnsServers = 16;

    /// <summary>Longest router advertisement frame we write.</summary>
    public const int MaxRouterAdvertisementLength = FrameHeaderLength + NdWriter.RouterAdvertisementOptionsOffset
        + NdWriter.LinkLayerOptionLength + NdWriter.MtuOptionLength + 8 + (16 * MaxDnsServers);

    private const int FrameHeaderLength = PacketWriter.EthernetHeaderLength + PacketWriter.IPv6HeaderLength;
    private const int NeighborAdvertisementLength = FrameHeaderLength + NdWriter.NeighborOptionsOffset + NdWriter.LinkLayerOptionLength;
    private const int MinimumIPv6Mtu = 1280;

    /// <summary>ICMPv6 types the gateway consumes: MLD (130-132, 143) and ND (133-137).</summary>
    public static bool IsLinkMessage(byte icmpType) => icmpType is (>= 130 and <= 137) or 143;

    public static Verdict Process(ref PacketContext ctx, int iface, in InterfaceEntry entry, in PortEntry port)
    {
        ref PacketHeaders h = ref ctx.Headers;
        byte type = h.IcmpType;
        if (type is not (IcmpTypes.RouterSolicitation or IcmpTypes.NeighborSolicitation))
        {
            return Verdict.Drop(type is IcmpTypes.RouterAdvertisement or IcmpTypes.NeighborAdvertisement or 137
                ? DropReason.UnsupportedNeighborDiscovery
                : DropReason.MulticastListenerDiscovery);
        }
        if ((h.Flags & PacketFlags.Fragment) != 0)
        {
            return Verdict.Drop(DropReason.NdMalformed);
        }
        // RFC 4861 sections 6.1.1 and 7.1.1: only hop limit 255 proves the sender is on the link.
        if (h.Ttl != NdWriter.HopLimit)
        {
            return Verdict.Drop(DropReason.NdBadHopLimit);
        }
        Span<byte> frame = ctx.Frame;
        if (Checksums.VerifyL4(frame, in h) != L4ChecksumStatus.Valid)
        {
            return Verdict.Drop(DropReason.GatewayBadChecksum);
        }
        if (NdMessage.TryParse(frame[h.L4Offset..h.L3End], out NdMessage message) != NdError.None)
        {
            return Verdict.Drop(DropReason.NdMalformed);
        }
        bool unspecifiedSource = h.SrcIp == UInt128.Zero;
        bool hasSourceMac = message.TryGetSourceLinkLayerAddress(out ulong sourceMac);
        // A sender without an address must not claim a link-layer address (RFC 4861 sections 6.1.1, 7.1.1).
        if (unspecifiedSource && hasSourceMac)
        {
            return Verdict.Drop(DropReason.NdMalformed);
        }
        ulong vmMac = hasSourceMac ? sourceMac : h.SrcMac;

        if (type == IcmpTypes.NeighborSolicitation)
        {
            if (message.TargetAddress != GatewayStage.GatewayIPv6)
            {
                // Mostly duplicate address detection of the VM's own addresses: no answer means "unique".
                return Verdict.Drop(DropReason.NdTargetNotGateway);
            }
            if (unspecifiedSource && !IsSolicitedNodeMulticast(h.DstIp))
            {
                return Verdict.Drop(DropReason.NdMalformed);
            }
        }
        if (!GatewayStage.AcceptVmMac(ref ctx, iface, in entry, vmMac))
        {
            return Verdict.Drop(DropReason.SpoofedMac);
        }

        // Everything needed from the request is in locals: the answer overwrites it from the frame start.
        UInt128 dstIp = unspecifiedSource ? GatewayStage.AllNodes : h.SrcIp;
        ulong dstMac = unspecifiedSource ? GatewayStage.AllNodesMac : vmMac;
        Span<byte> output = ctx.Buffer[ctx.Packet.Offset..];
        int length;
        if (type == IcmpTypes.NeighborSolicitation)
        {
            if (output.Length < NeighborAdvertisementLength)
            {
                return Verdict.Drop(DropReason.NoBuffer);
            }
            // A solicitation from the unspecified address is answered to all nodes, unsolicited (RFC 4861 section 7.2.4).
            int icmp = NdWriter.WriteNeighborAdvertisement(
                output[FrameHeaderLength..], GatewayStage.GatewayIPv6, dstIp, GatewayStage.GatewayIPv6,
                router: true, solicited: !unspecifiedSource, isOverride: true, port.GatewayMac);
            PacketWriter.WriteIPv6(output[PacketWriter.EthernetHeaderLength..], GatewayStage.GatewayIPv6, dstIp, IpProtocols.IcmpV6, icmp, NdWriter.HopLimit);
            PacketWriter.WriteEthernet(output, dstMac, port.GatewayMac, EtherTypes.IPv6);
            length = FrameHeaderLength + icmp;
        }
        else
        {
            if (output.Length < MaxRouterAdvertisementLength)
            {
                return Verdict.Drop(DropReason.NoBuffer);
            }
            length = WriteRouterAdvertisement(output, ctx.Tables.Host, port.GatewayMac, dstMac, dstIp);
        }
        ctx.Packet.Length = length;
        return Verdict.Forward(ctx.InPort);
    }

    /// <summary>Writes the gateway's router advertisement frame (Ethernet, IPv6 with hop limit 255,
    /// RA with M and O, source link-layer, MTU and RDNSS options) at the start of
    /// <paramref name="frame"/>, which must hold <see cref="MaxRouterAdvertisementLength"/> bytes.
    /// Returns the frame length.</summary>
    public static int WriteRouterAdvertisement(Span<byte> frame, HostTable host, ulong gatewayMac, ulong dstMac, UInt128 dstIp)
    {
        Span<byte> icmp = frame[FrameHeaderLength..MaxRouterAdvertisementLength];
        int o = NdWriter.RouterAdvertisementOptionsOffset;
        o += NdWriter.WriteLinkLayerOption(icmp[o..], NdWriter.SourceLinkLayerOption, gatewayMac);
        if (host.Mtu >= MinimumIPv6Mtu)
        {
            o += NdWriter.WriteMtuOption(icmp[o..], host.Mtu);
        }
        UInt128[] dns = host.DnsServers6;
        if (dns.Length > 0)
        {
            // RFC 8106 section 5.1: the lifetime should cover several advertisement intervals.
            o += NdWriter.WriteRecursiveDnsServerOption(icmp[o..], RouterLifetime, dns.AsSpan(0, Math.Min(dns.Length, MaxDnsServers)));
        }
        int length = NdWriter.WriteRouterAdvertisement(
            icmp, GatewayStage.GatewayIPv6, dstIp, CurHopLimit, managed: true, other: true, RouterLifetime,
            reachableTime: 0, retransTimer: 0, o - NdWriter.RouterAdvertisementOptionsOffset);
        PacketWriter.WriteIPv6(frame[PacketWriter.EthernetHeaderLength..], GatewayStage.GatewayIPv6, dstIp, IpProtocols.IcmpV6, length, NdWriter.HopLimit);
        PacketWriter.WriteEthernet(frame, dstMac, gatewayMac, EtherTypes.IPv6);
        return FrameHeaderLength + length;
    }

    /// <summary>ff02::1:ffXX:XXXX.</summary>
    private static bool IsSolicitedNodeMulticast(UInt128 address) =>
        (address >> 24) == (new UInt128(0xFF02_0000_0000_0000, 0x0000_0001_FF00_0000) >> 24);
}
