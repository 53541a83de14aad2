using System.Buffers.Binary;
using MetalAgent.Packets;
using MetalAgent.Tables.Snapshot;

namespace MetalAgent.Dataplane.Stages;

/// <summary>
/// The gateway's DHCPv6 server (RFC 8415) from fe80::1: one IA_NA address per interface (its
/// IPv6, infinite lifetimes, NoAddrsAvail without one), DNS servers, a DUID-LL server identifier
/// from the port's gateway MAC, rapid commit when the client asks. No binding state: every answer
/// follows from the snapshot. The reply is built in the request's buffer right after the request frame.
/// </summary>
public static class Dhcp6Stage
{
    public const uint Infinite = uint.MaxValue;

    /// <summary>DNS servers sent in option 23 at most.</summary>
    public const int MaxDnsServers = 32;

    /// <summary>Longest reply frame: headers, a 130-byte client DUID, our options at their longest.</summary>
    public const int MaxReplyLength = 1024;

    /// <summary>ff02::1:2, All_DHCP_Relay_Agents_and_Servers.</summary>
    public static readonly UInt128 AllServers = new(0xFF02_0000_0000_0000, 0x0000_0000_0001_0002);

    private const int HeadersLength = PacketWriter.EthernetHeaderLength + PacketWriter.IPv6HeaderLength + PacketWriter.UdpHeaderLength;
    private const int DuidLength = 10;
    private const ushort StatusSuccess = 0;
    private const ushort StatusNoAddrsAvail = 2;
    private const ushort StatusNotOnLink = 4;

    /// <summary>Client-to-server DHCPv6: UDP 546 to 547, to the servers' multicast group or to the gateway.</summary>
    public static bool IsRequest(in PacketHeaders h) =>
        h.DstPort == Dhcp6Message.ServerPort && h.SrcPort == Dhcp6Message.ClientPort && (h.DstIp == AllServers || h.DstIp == GatewayStage.GatewayIPv6);

    public static Verdict Process(ref PacketContext ctx, int iface, in InterfaceEntry entry, in PortEntry port)
    {
        ref PacketHeaders h = ref ctx.Headers;
        // Clients send from their link-local address; there is nowhere to answer the unspecified one.
        if ((h.Flags & PacketFlags.Fragment) != 0 || h.SrcIp == UInt128.Zero)
        {
            return Verdict.Drop(DropReason.DhcpMalformed);
        }
        Span<byte> frame = ctx.Frame;
        ReadOnlySpan<byte> udp = frame[h.L4Offset..h.L3End];
        udp = udp[..BinaryPrimitives.ReadUInt16BigEndian(udp[4..])];
        // Over IPv6 the UDP checksum is mandatory: 0 is as wrong as any other bad value.
        if (!Checksums.VerifyIPv6Transport(h.SrcIp, h.DstIp, IpProtocols.Udp, udp) || BinaryPrimitives.ReadUInt16BigEndian(udp[Checksums.UdpChecksumOffset..]) == 0)
        {
            return Verdict.Drop(DropReason.GatewayBadChecksum);
        }
        Dhcp6Error error = Dhcp6Message.TryParse(udp[PacketWriter.UdpHeaderLength..], out Dhcp6Message request);
        if (error != Dhcp6Error.None)
        {
            return Verdict.Drop(error == Dhcp6Error.RelayMessageNotSupported ? DropReason.DhcpUnsupportedMessage : DropReason.DhcpMalformed);
        }
        if (!GatewayStage.AcceptVmMac(ref ctx, iface, in entry, h.SrcMac))
        {
            return Verdict.Drop(DropReason.SpoofedMac);
        }

        Span<byte> duid = stackalloc byte[DuidLength];
        BinaryPrimitives.WriteUInt16BigEndian(duid, 3); // DUID-LL
        BinaryPrimitives.WriteUInt16BigEndian(duid[2..], 1); // Ethernet
        Addresses.WriteMac(duid[4..], port.GatewayMac);

        // RFC 8415 section 16: which messages need a client id, must name us, or must name nobody.
        Dhcp6MessageType type = request.MessageType;
        ReadOnlySpan<byte> clientId = request.ClientId;
        bool hasServerId = request.TryGetOption(Dhcp6Options.ServerId, out ReadOnlySpan<byte> serverId);
        bool namesUs = hasServerId && serverId.SequenceEqual(duid);
        Dhcp6MessageType replyType = Dhcp6MessageType.Reply;
        switch (type)
        {
            case Dhcp6MessageType.Solicit:
            case Dhcp6MessageType.Rebind:
            case Dhcp6MessageType.Confirm:
                if (clientId.IsEmpty || hasServerId)
                {
                    return Verdict.Drop(DropReason.DhcpMalformed);
                }
                if (type == Dhcp6MessageType.Solicit && !request.RapidCommit)
                {
                    replyType = Dhcp6MessageType.Advertise;
                }
                break;
            case Dhcp6MessageType.Request:
            case Dhcp6MessageType.Renew:
            case Dhcp6MessageType.Release:
            case Dhcp6MessageType.Decline:
                if (clientId.IsEmpty || !hasServerId)
                {
                    return Verdict.Drop(DropReason.DhcpMalformed);
                }
                if (!namesUs)
                {
                    return Verdict.Drop(DropReason.DhcpNotForGateway);
                }
                break;
            case Dhcp6MessageType.InformationRequest:
                if (hasServerId && !namesUs)
                {
                    return Verdict.Drop(DropReason.DhcpNotForGateway);
                }
                break;
            default:
                return Verdict.Drop(DropReason.DhcpUnsupportedMessage);
        }

        ushort confirmStatus = StatusSuccess;
        if (type == Dhcp6MessageType.Confirm)
        {
            // Confirm asks whether the addresses still fit the link; without any there is no answer (RFC 8415 section 18.3.3).
            int addresses = CountAddresses(in request, in entry, out bool allOurs);
            if (addresses == 0)
            {
                return Verdict.Drop(DropReason.DhcpNoReply);
            }
            confirmStatus = allOurs ? StatusSuccess : StatusNotOnLink;
        }

        int start = GatewayStage.ReplyOffsetAfterFrame(ref ctx, MaxReplyLength);
        if (start < 0)
        {
            return Verdict.Drop(DropReason.DhcpMalformed);
        }
        Span<byte> output = ctx.Buffer.Slice(start, MaxReplyLength);
        var writer = new Dhcp6Writer(output[HeadersLength..]);
        writer.WriteHeader(replyType, request.TransactionId);
        if (!clientId.IsEmpty)
        {
            writer.AddOption(Dhcp6Options.ClientId, clientId);
        }
        writer.AddOption(Dhcp6Options.ServerId, duid);
        switch (type)
        {
            case Dhcp6MessageType.Solicit:
            case Dhcp6MessageType.Request:
            case Dhcp6MessageType.Renew:
            case Dhcp6MessageType.Rebind:
                if (replyType == Dhcp6MessageType.Advertise)
                {
                    // Preference 255: the client may go ahead at once instead of collecting advertisements.
                    writer.AddOption(Dhcp6Options.Preference, [255]);
                }
                else if (type == Dhcp6MessageType.Solicit)
                {
                    writer.AddEmptyOption(Dhcp6Options.RapidCommit);
                }
                if (request.TryGetIaNa(out Dhcp6IaNa iaNa))
                {
                    WriteIaNa(ref writer, iaNa.Iaid, in entry);
                }
                break;
            case Dhcp6MessageType.Confirm:
                writer.AddStatusCode(confirmStatus, confirmStatus == StatusSuccess ? "all addresses are on link" : "address not on this link");
                break;
            case Dhcp6MessageType.Release:
            case Dhcp6MessageType.Decline:
                writer.AddStatusCode(StatusSuccess, "done");
                break;
        }
        UInt128[] dns = ctx.Tables.Host.DnsServers6;
        if (dns.Length > 0 && type is not (Dhcp6MessageType.Release or Dhcp6MessageType.Decline))
        {
            writer.AddAddresses(Dhcp6Options.DnsServers, dns.AsSpan(0, Math.Min(dns.Length, MaxDnsServers)));
        }

        UInt128 clientIp = h.SrcIp;
        ulong clientMac = h.SrcMac;
        int udpLength = PacketWriter.WriteUdp(
            output[(PacketWriter.EthernetHeaderLength + PacketWriter.IPv6HeaderLength)..],
            IpAddressPair.V6(GatewayStage.GatewayIPv6, clientIp), Dhcp6Message.ServerPort, Dhcp6Message.ClientPort, writer.Length);
        PacketWriter.WriteIPv6(output[PacketWriter.EthernetHeaderLength..], GatewayStage.GatewayIPv6, clientIp, IpProtocols.Udp, udpLength);
        PacketWriter.WriteEthernet(output, clientMac, port.GatewayMac, EtherTypes.IPv6);
        ctx.Packet.Offset = start;
        ctx.Packet.Length = PacketWriter.EthernetHeaderLength + PacketWriter.IPv6HeaderLength + udpLength;
        return Verdict.Forward(ctx.InPort);
    }

    /// <summary>The client's IA_NA answered: the interface's address with infinite lifetimes (and
    /// T1/T2 infinite: never renew), or NoAddrsAvail inside the IA (RFC 8415 section 18.3.9).</summary>
    private static void WriteIaNa(ref Dhcp6Writer writer, uint iaid, in InterfaceEntry entry)
    {
        if (entry.HasIPv6)
        {
            writer.BeginIaNa(iaid, Infinite, Infinite);
            writer.AddIaAddress(entry.IPv6, Infinite, Infinite);
        }
        else
        {
            writer.BeginIaNa(iaid, 0, 0);
            writer.AddStatusCode(StatusNoAddrsAvail, "no IPv6 address for this interface");
        }
        writer.EndIaNa();
    }

    /// <summary>IA addresses in the client's IA_NAs, and whether all of them are the interface's.</summary>
    private static int CountAddresses(in Dhcp6Message request, in InterfaceEntry entry, out bool allOurs)
    {
        int count = 0;
        allOurs = true;
        foreach (Dhcp6Option option in request.GetOptions())
        {
            if (option.Code != Dhcp6Options.IaNa)
            {
                continue;
            }
            // Validated by TryParse: an IA_NA is at least 12 bytes and its sub-options fit it.
            ReadOnlySpan<byte> sub = option.Data[12..];
            while (sub.Length >= 4)
            {
                ushort code = BinaryPrimitives.ReadUInt16BigEndian(sub);
                int length = BinaryPrimitives.ReadUInt16BigEndian(sub[2..]);
                if (code == Dhcp6Options.IaAddress)
                {
                    count++;
                    allOurs &= entry.HasIPv6 && BinaryPrimitives.ReadUInt128BigEndian(sub[4..]) == entry.IPv6;
                }
                sub = sub[(4 + length)..];
            }
        }
        return count;
    }
}
