using System.Buffers.Binary;
using MetalAgent.Packets;

namespace MetalAgent.Dataplane.Stages;

/// <summary>
/// NAT64 (RFC 6146 style, with the well-known prefix 64:ff9b::/96 of RFC 6052): a dual-stack VM
/// with an IPv4 NAT slice reaches IPv4 destinations from its IPv6 address. The IP header is
/// replaced in place (IPv6 40 bytes ⇄ IPv4 20 bytes, the payload does not move), ICMPv6 echo becomes
/// ICMP echo and back, and the transport checksum is recomputed for the new pseudo-header.
/// IPv6 extension headers and IPv4 options are not translated (dropped and counted).
/// </summary>
public static class Nat64Stage
{
    /// <summary>64:ff9b::/96.</summary>
    public static readonly UInt128 Prefix = new(0x0064_ff9b_0000_0000UL, 0);

    public static bool IsNat64Destination(UInt128 address) => (address >> 32) == (Prefix >> 32);

    /// <summary>Whether the IPv6 packet can be translated: no extension headers, not a fragment,
    /// TCP, UDP or an echo request.</summary>
    public static bool CanTranslate(in PacketHeaders h) =>
        h.IpVersion == 6 && h.L4Offset == h.L3Offset + PacketWriter.IPv6HeaderLength
        && (h.Flags & (PacketFlags.HasL4 | PacketFlags.Fragment)) == PacketFlags.HasL4
        && (h.Protocol is IpProtocols.Tcp or IpProtocols.Udp || (h.Protocol == IpProtocols.IcmpV6 && h.IcmpType == 128));

    /// <summary>IPv6 → IPv4 for a VM's packet: source becomes (public IPv4, port), destination the
    /// IPv4 address embedded in 64:ff9b::/96.</summary>
    public static void ToIPv4(Span<byte> frame, ref PacketHeaders h, uint source, ushort sourcePort)
    {
        uint destination = (uint)h.DstIp;
        int payload = h.L3End - h.L4Offset;
        int l3 = h.L4Offset - PacketWriter.IPv4HeaderLength;
        byte protocol = h.Protocol;
        if (protocol == IpProtocols.IcmpV6)
        {
            protocol = IpProtocols.Icmp;
            frame[h.L4Offset] = IcmpTypes.EchoRequest;
            BinaryPrimitives.WriteUInt16BigEndian(frame[(h.L4Offset + 4)..], sourcePort);
        }
        else
        {
            BinaryPrimitives.WriteUInt16BigEndian(frame[h.L4Offset..], sourcePort);
        }
        PacketWriter.WriteIPv4(frame[l3..], source, destination, protocol, payload, ttl: h.Ttl, tos: h.Tos, dontFragment: true);
        h.IpVersion = 4;
        h.EtherType = EtherTypes.IPv4;
        h.Protocol = protocol;
        h.L3Offset = (ushort)l3;
        h.SrcIp = source;
        h.DstIp = destination;
        h.SrcPort = sourcePort;
        if (protocol == IpProtocols.Icmp)
        {
            h.IcmpType = IcmpTypes.EchoRequest;
            h.DstPort = sourcePort;
        }
        Checksums.WriteL4(frame, in h);
    }

    /// <summary>Whether the IPv4 reply can be translated back: no options, not a fragment, TCP, UDP or
    /// an echo reply.</summary>
    public static bool CanTranslateBack(in PacketHeaders h) =>
        h.IpVersion == 4 && h.L4Offset == h.L3Offset + PacketWriter.IPv4HeaderLength
        && (h.Flags & (PacketFlags.HasL4 | PacketFlags.Fragment)) == PacketFlags.HasL4
        && (h.Protocol is IpProtocols.Tcp or IpProtocols.Udp || (h.Protocol == IpProtocols.Icmp && h.IcmpType == 0));

    /// <summary>IPv4 → IPv6 for a reply: source becomes 64:ff9b::(IPv4 source), destination the VM's
    /// IPv6 address and port. The new header starts 20 bytes earlier (the buffer has headroom there).</summary>
    public static void ToIPv6(Span<byte> frame, ref PacketHeaders h, UInt128 destination, ushort destinationPort)
    {
        UInt128 source = Prefix | (uint)h.SrcIp;
        int payload = h.L3End - h.L4Offset;
        int l3 = h.L4Offset - PacketWriter.IPv6HeaderLength;
        byte protocol = h.Protocol;
        if (protocol == IpProtocols.Icmp)
        {
            protocol = IpProtocols.IcmpV6;
            frame[h.L4Offset] = 129;
            BinaryPrimitives.WriteUInt16BigEndian(frame[(h.L4Offset + 4)..], destinationPort);
        }
        else
        {
            BinaryPrimitives.WriteUInt16BigEndian(frame[(h.L4Offset + 2)..], destinationPort);
        }
        PacketWriter.WriteIPv6(frame[l3..], source, destination, protocol, payload, hopLimit: h.Ttl, trafficClass: h.Tos);
        h.IpVersion = 6;
        h.EtherType = EtherTypes.IPv6;
        h.Protocol = protocol;
        h.L3Offset = (ushort)l3;
        h.SrcIp = source;
        h.DstIp = destination;
        h.DstPort = destinationPort;
        if (protocol == IpProtocols.IcmpV6)
        {
            h.IcmpType = 129;
            h.SrcPort = destinationPort;
        }
        Checksums.WriteL4(frame, in h);
    }
}
