using System.Buffers.Binary;
using System.Text;
using MetalAgent.Packets;
using MetalAgent.Tables.Snapshot;

namespace MetalAgent.Dataplane.Stages;

/// <summary>
/// The gateway's DHCPv4 server (RFC 2131): one fixed binding per interface, its IPv4 as a /32
/// with an infinite lease, routes by classless static routes (RFC 3442: 169.254.0.0/16 on-link,
/// default via 169.254.0.1) and option 3 for clients without them, MTU, DNS servers, hostname
/// and PXE boot options. No lease state: every answer follows from the snapshot. The reply is
/// built in the request's buffer right after the request frame.
/// </summary>
public static class Dhcp4Stage
{
    public const ushort ServerPort = 67;
    public const ushort ClientPort = 68;
    public const uint InfiniteLease = uint.MaxValue;
    public const uint LimitedBroadcast = uint.MaxValue;

    /// <summary>DNS servers one option 6 can carry (255 bytes).</summary>
    public const int MaxDnsServers = 63;

    /// <summary>Longest reply frame: headers, the BOOTP header and every option at its longest.</summary>
    public const int MaxReplyLength = 1536;

    private const int HeadersLength = PacketWriter.EthernetHeaderLength + PacketWriter.IPv4HeaderLength + PacketWriter.UdpHeaderLength;
    private const byte MessageOption = 56;
    private const byte TftpServerNameOption = 66;
    private const byte BootFileNameOption = 67;
    private const int BootFileFieldOffset = 108;
    private const int BootFileFieldLength = 128;

    /// <summary>Client-to-server DHCP: UDP 68 to 67, broadcast or to the gateway (renewals).</summary>
    public static bool IsRequest(in PacketHeaders h) =>
        h.DstPort == ServerPort && h.SrcPort == ClientPort && ((uint)h.DstIp == LimitedBroadcast || (uint)h.DstIp == GatewayStage.GatewayIPv4);

    public static Verdict Process(ref PacketContext ctx, int iface, in InterfaceEntry entry, in PortEntry port)
    {
        ref PacketHeaders h = ref ctx.Headers;
        if ((h.Flags & PacketFlags.Fragment) != 0)
        {
            return Verdict.Drop(DropReason.DhcpMalformed);
        }
        Span<byte> frame = ctx.Frame;
        ReadOnlySpan<byte> udp = frame[h.L4Offset..h.L3End];
        udp = udp[..BinaryPrimitives.ReadUInt16BigEndian(udp[4..])];
        if (BinaryPrimitives.ReadUInt16BigEndian(udp[Checksums.UdpChecksumOffset..]) != 0
            && !Checksums.VerifyIPv4Transport((uint)h.SrcIp, (uint)h.DstIp, IpProtocols.Udp, udp))
        {
            return Verdict.Drop(DropReason.GatewayBadChecksum);
        }
        if (Dhcp4Message.TryParse(udp[PacketWriter.UdpHeaderLength..], out Dhcp4Message request) != Dhcp4Error.None)
        {
            return Verdict.Drop(DropReason.DhcpMalformed);
        }
        // Replies go to chaddr, so it has to be an Ethernet address.
        if (request.Op != Dhcp4Message.BootRequest || !request.HasEthernetClientAddress)
        {
            return Verdict.Drop(DropReason.DhcpUnsupportedMessage);
        }
        ulong clientMac = request.ClientMac;
        if (!GatewayStage.AcceptVmMac(ref ctx, iface, in entry, clientMac))
        {
            return Verdict.Drop(DropReason.SpoofedMac);
        }
        if (!entry.HasIPv4)
        {
            return Verdict.Drop(DropReason.Dhcp4NoIPv4);
        }
        // A client that picked another server's offer tells the others with that server's id.
        if (request.TryGetServerIdentifier(out uint serverId) && serverId != GatewayStage.GatewayIPv4)
        {
            return Verdict.Drop(DropReason.DhcpNotForGateway);
        }

        uint clientIp = request.ClientIp;
        Dhcp4MessageType type = request.MessageType;
        Dhcp4MessageType replyType;
        switch (type)
        {
            case Dhcp4MessageType.Discover:
                replyType = Dhcp4MessageType.Offer;
                clientIp = 0;
                break;
            case Dhcp4MessageType.Request:
                // SELECTING and INIT-REBOOT name the address in option 50; RENEWING and REBINDING in ciaddr.
                uint requested = request.TryGetRequestedIp(out uint option50) ? option50 : clientIp;
                replyType = requested == entry.IPv4 ? Dhcp4MessageType.Ack : Dhcp4MessageType.Nak;
                break;
            case Dhcp4MessageType.Inform:
                replyType = Dhcp4MessageType.Ack;
                break;
            case Dhcp4MessageType.Release:
            case Dhcp4MessageType.Decline:
                // Nothing to free or mark: the binding is the interface's own address.
                return Verdict.Drop(DropReason.DhcpNoReply);
            default:
                return Verdict.Drop(DropReason.DhcpUnsupportedMessage);
        }

        int start = GatewayStage.ReplyOffsetAfterFrame(ref ctx, MaxReplyLength);
        if (start < 0)
        {
            return Verdict.Drop(DropReason.DhcpMalformed);
        }
        Span<byte> output = ctx.Buffer.Slice(start, MaxReplyLength);
        bool nak = replyType == Dhcp4MessageType.Nak;
        bool inform = type == Dhcp4MessageType.Inform;
        ushort flags = request.Flags;
        uint nextServer = !nak && TryParseIPv4(entry.PxeNextServer, out uint pxeServer) ? pxeServer : 0;

        // RFC 2131 table 3: ciaddr echoed except in OFFER and NAK, yiaddr empty in NAK and in the answer to INFORM.
        var writer = new Dhcp4Writer(output[HeadersLength..]);
        writer.WriteHeader(
            Dhcp4Message.BootReply,
            request.TransactionId,
            clientMac,
            clientIp: nak ? 0 : clientIp,
            yourIp: nak || inform ? 0 : entry.IPv4,
            serverIp: nextServer,
            relayIp: request.RelayIp,
            flags: flags);
        writer.AddMessageType(replyType);
        writer.AddUInt32(Dhcp4Options.ServerIdentifier, GatewayStage.GatewayIPv4);
        if (nak)
        {
            writer.AddOption(MessageOption, "requested address is not this interface's"u8);
        }
        else
        {
            WriteConfiguration(ref writer, output, in entry, ctx.Tables.Host, nextServer, leaseTime: !inform);
        }
        int payload = writer.Finish();

        // RFC 2131 section 4.1: a client with an address and without the broadcast flag gets unicast;
        // one without an address yet cannot receive unicast IP, and a NAK is always broadcast.
        uint dstIp = !nak && clientIp != 0 && (flags & 0x8000) == 0 ? clientIp : LimitedBroadcast;
        int udpLength = PacketWriter.WriteUdp(
            output[(PacketWriter.EthernetHeaderLength + PacketWriter.IPv4HeaderLength)..],
            IpAddressPair.V4(GatewayStage.GatewayIPv4, dstIp), ServerPort, ClientPort, payload);
        PacketWriter.WriteIPv4(output[PacketWriter.EthernetHeaderLength..], GatewayStage.GatewayIPv4, dstIp, IpProtocols.Udp, udpLength);
        PacketWriter.WriteEthernet(output, clientMac, port.GatewayMac, EtherTypes.IPv4);
        ctx.Packet.Offset = start;
        ctx.Packet.Length = PacketWriter.EthernetHeaderLength + PacketWriter.IPv4HeaderLength + udpLength;
        return Verdict.Forward(ctx.InPort);
    }

    private static void WriteConfiguration(ref Dhcp4Writer writer, Span<byte> output, in InterfaceEntry entry, HostTable host, uint nextServer, bool leaseTime)
    {
        // The answer to INFORM must not carry a lease time (RFC 2131 section 4.3.5).
        if (leaseTime)
        {
            writer.AddUInt32(Dhcp4Options.LeaseTime, InfiniteLease);
        }
        writer.AddUInt32(Dhcp4Options.SubnetMask, uint.MaxValue);
        writer.AddUInt32(Dhcp4Options.Router, GatewayStage.GatewayIPv4);
        // With a /32 the gateway is reachable only through an on-link route to it.
        writer.BeginOption(Dhcp4Options.ClasslessStaticRoute);
        writer.AppendClasslessRoute(0xA9FE0000, 16, 0);
        writer.AppendClasslessRoute(0, 0, GatewayStage.GatewayIPv4);
        writer.EndOption();
        if (host.Mtu >= 68)
        {
            writer.AddUInt16(Dhcp4Options.InterfaceMtu, host.Mtu);
        }
        uint[] dns = host.DnsServers4;
        if (dns.Length > 0)
        {
            writer.AddAddresses(Dhcp4Options.DomainNameServer, dns.AsSpan(0, Math.Min(dns.Length, MaxDnsServers)));
        }
        Span<byte> text = stackalloc byte[255];
        if (TryAscii(entry.Hostname, text, out int hostnameLength))
        {
            writer.AddOption(Dhcp4Options.HostName, text[..hostnameLength]);
        }
        if (nextServer != 0 && TryAscii(entry.PxeNextServer, text, out int serverLength))
        {
            writer.AddOption(TftpServerNameOption, text[..serverLength]);
        }
        if (TryAscii(entry.PxeBootFile, text, out int fileLength))
        {
            writer.AddOption(BootFileNameOption, text[..fileLength]);
            // Old PXE ROMs read the BOOTP file field only; it is NUL-terminated.
            if (fileLength < BootFileFieldLength)
            {
                text[..fileLength].CopyTo(output.Slice(HeadersLength + BootFileFieldOffset, BootFileFieldLength));
            }
        }
    }

    /// <summary>The ASCII bytes of a non-empty string that fits one option.</summary>
    private static bool TryAscii(string? value, Span<byte> buffer, out int length)
    {
        if (string.IsNullOrEmpty(value) || value.Length > buffer.Length)
        {
            length = 0;
            return false;
        }
        length = Encoding.ASCII.GetBytes(value, buffer);
        return true;
    }

    /// <summary>Dotted-quad IPv4 without allocation (the spec's PXE next server is an IP of either family).</summary>
    internal static bool TryParseIPv4(string? text, out uint address)
    {
        address = 0;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }
        uint value = 0;
        uint part = 0;
        int digits = 0;
        int dots = 0;
        foreach (char c in text)
        {
            if (c is >= '0' and <= '9')
            {
                part = (part * 10) + (uint)(c - '0');
                if (++digits > 3 || part > 255)
                {
                    return false;
                }
            }
            else if (c == '.' && digits > 0 && dots < 3)
            {
                value = (value << 8) | part;
                part = 0;
                digits = 0;
                dots++;
            }
            else
            {
                return false;
            }
        }
        if (dots != 3 || digits == 0)
        {
            return false;
        }
        address = (value << 8) | part;
        return true;
    }
}
