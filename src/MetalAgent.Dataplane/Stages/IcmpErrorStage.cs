using System.Buffers.Binary;
using MetalAgent.Dataplane.Flows;
using MetalAgent.Packets;
using MetalAgent.Tables.Snapshot;

namespace MetalAgent.Dataplane.Stages;

/// <summary>
/// ICMP errors: those the gateway sends a VM (time exceeded, fragmentation needed / packet too
/// big), built in place over the offending packet; and those arriving from the underlay about a
/// flow, which follow the flow: a quoted packet of a translated flow is translated back so the
/// error reaches the right VM, and errors about allowed flows pass without policy.
/// </summary>
public static class IcmpErrorStage
{
    /// <summary>fe80::1, the VM's IPv6 gateway.</summary>
    public static readonly UInt128 GatewayIPv6 = new(0xfe80_0000_0000_0000UL, 1);

    /// <summary>IPv4 errors quote at most this much so the whole error fits 576 bytes (RFC 1812).</summary>
    private const int MaxQuote4 = 576 - 20 - 8;

    /// <summary>IPv6 errors fit the minimum MTU of 1280 bytes (RFC 4443).</summary>
    private const int MaxQuote6 = 1280 - 40 - 8;

    /// <summary>Time exceeded (TTL / hop limit reached 1) back to the sending VM.</summary>
    public static Verdict TimeExceeded(ref PacketContext ctx) =>
        ctx.Headers.IpVersion == 4 ? ToVm(ref ctx, 11, 0, 0) : ToVm(ref ctx, 3, 0, 0);

    /// <summary>Fragmentation needed (IPv4 with DF) or packet too big (IPv6) with the MTU the VM must use.</summary>
    public static Verdict TooBig(ref PacketContext ctx, int mtu) =>
        ctx.Headers.IpVersion == 4 ? ToVm(ref ctx, 3, 4, (uint)(ushort)mtu) : ToVm(ref ctx, 2, 0, (uint)mtu);

    /// <summary>Writes the error over the frame: Ethernet from the gateway MAC to the VM, IP from the
    /// gateway, the ICMP header, then the start of the offending IP packet; sent back out of the in-port.</summary>
    private static Verdict ToVm(ref PacketContext ctx, byte type, byte code, uint rest)
    {
        ref PacketHeaders h = ref ctx.Headers;
        Span<byte> frame = ctx.Buffer[ctx.Packet.Offset..];
        ulong vmMac = h.SrcMac;
        ulong gatewayMac = ctx.Tables.Ports[ctx.InPort].GatewayMac;
        bool v4 = h.IpVersion == 4;
        int ipHeader = v4 ? PacketWriter.IPv4HeaderLength : PacketWriter.IPv6HeaderLength;
        int quote = Math.Min(h.L3End - h.L3Offset, v4 ? MaxQuote4 : MaxQuote6);
        int icmpAt = PacketWriter.EthernetHeaderLength + ipHeader;
        // The quote moves behind the new headers (overlapping copy is safe with spans).
        frame.Slice(h.L3Offset, quote).CopyTo(frame[(icmpAt + PacketWriter.IcmpHeaderLength)..]);
        UInt128 vmIp = h.SrcIp;
        int icmpLength;
        if (v4)
        {
            icmpLength = PacketWriter.WriteIcmp(frame[icmpAt..], type, code, rest, quote);
            PacketWriter.WriteIPv4(frame[PacketWriter.EthernetHeaderLength..], GatewayStage.GatewayIPv4, (uint)vmIp, IpProtocols.Icmp, icmpLength);
            PacketWriter.WriteEthernet(frame, vmMac, gatewayMac, EtherTypes.IPv4);
        }
        else
        {
            icmpLength = PacketWriter.WriteIcmpV6(frame[icmpAt..], GatewayIPv6, vmIp, type, code, rest, quote);
            PacketWriter.WriteIPv6(frame[PacketWriter.EthernetHeaderLength..], GatewayIPv6, vmIp, IpProtocols.IcmpV6, icmpLength, hopLimit: 255);
            PacketWriter.WriteEthernet(frame, vmMac, gatewayMac, EtherTypes.IPv6);
        }
        ctx.Packet.Length = icmpAt + icmpLength;
        return Verdict.Forward(ctx.InPort);
    }

    /// <summary>Whether the packet is an ICMP error that quotes another packet.</summary>
    public static bool IsError(in PacketHeaders h) =>
        (h.Flags & PacketFlags.HasL4) != 0
        && ((h.Protocol == 1 && h.IcmpType is 3 or 11 or 12) || (h.Protocol == 58 && h.IcmpType is 1 or 2 or 3 or 4));

    /// <summary>
    /// An ICMP error from the underlay about one of our flows, arriving at a public address
    /// (VirtualIP or NAT slice): finds the flow from the quoted packet (which left with the public
    /// source), translates the error's destination and the quoted source back to the private side,
    /// and delivers it to the flow's VM. Dropped when no flow matches.
    /// </summary>
    public static Verdict TranslateBack(ref PacketContext ctx)
    {
        ref PacketHeaders h = ref ctx.Headers;
        Span<byte> frame = ctx.Frame;
        var quoted = default(PacketHeaders);
        if (PacketParser.ParseQuotedIp(frame[..h.L3End], h.L4Offset + 8, ref quoted) != ParseError.None || quoted.IpVersion != h.IpVersion)
        {
            return Verdict.Drop(DropReason.IcmpErrorUnrelated);
        }
        // The quoted packet is our translated packet: its reply is the flow's reply key.
        var reply = new FlowKey(0, quoted.IpVersion, quoted.Protocol, quoted.DstIp, quoted.DstPort, quoted.SrcIp, quoted.SrcPort);
        FlowTable<FlowState> flows = ctx.Worker.Conntrack.Table;
        int id = flows.Lookup(reply, out int direction);
        if (id < 0)
        {
            return Verdict.Drop(DropReason.IcmpErrorUnrelated);
        }
        ref FlowState flow = ref flows.Value(id);
        if (flow.Kind is not (FlowKind.SourceNat or FlowKind.DestinationNat) || direction != 1 || flow.Interface < 0)
        {
            return Verdict.Drop(DropReason.IcmpErrorUnrelated);
        }
        // Rewrite inside out: the quoted source (its own checksums, partially present), then the
        // ICMP checksum over the changed quote, then the outer destination.
        int icmpChecksum = h.L4Offset + 2;
        Span<byte> message = frame[h.L4Offset..h.L3End];
        ushort before = Checksums.Fold(Checksums.Sum(message[8..]));
        Rewrite.Source(frame, ref quoted, flow.PrivateIp, flow.PrivatePort);
        ushort after = Checksums.Fold(Checksums.Sum(message[8..]));
        ushort check = BinaryPrimitives.ReadUInt16BigEndian(frame[icmpChecksum..]);
        BinaryPrimitives.WriteUInt16BigEndian(frame[icmpChecksum..], Checksums.Update16(check, before, after));
        Rewrite.Destination(frame, ref h, flow.PrivateIp, h.DstPort);
        return DeliverStage.ToInterface(ref ctx, flow.Interface, h.L3Offset, h.L3End);
    }

    /// <summary>Whether an ICMP error from the underlay to an interface relates to one of its flows (the
    /// quoted packet reversed is a known key in the interface's zone), so it passes without policy.</summary>
    public static bool RelatesToFlow(ref PacketContext ctx, uint zone)
    {
        ref PacketHeaders h = ref ctx.Headers;
        var quoted = default(PacketHeaders);
        if (PacketParser.ParseQuotedIp(ctx.Frame[..h.L3End], h.L4Offset + 8, ref quoted) != ParseError.None)
        {
            return false;
        }
        var key = new FlowKey(zone, quoted.IpVersion, quoted.Protocol, quoted.SrcIp, quoted.SrcPort, quoted.DstIp, quoted.DstPort);
        return ctx.Worker.Conntrack.Table.Lookup(key, out _) >= 0;
    }
}
