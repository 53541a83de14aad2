using System.Runtime.InteropServices;

namespace MetalAgent.Packets;

/// <summary>Why a frame could not be parsed. Every malformed input maps to one of these; the
/// dataplane counts drops under these names.</summary>
public enum ParseError : byte
{
    None = 0,
    TruncatedEthernet,
    TruncatedVlan,
    TooManyVlanTags,
    TruncatedArp,
    BadArp,
    TruncatedIPv4,
    BadIPv4Version,
    BadIPv4HeaderLength,
    BadIPv4TotalLength,
    TruncatedIPv6,
    BadIPv6Version,
    BadIPv6PayloadLength,
    TruncatedIPv6ExtensionHeader,
    TooManyIPv6ExtensionHeaders,
    TruncatedTcp,
    BadTcpDataOffset,
    TruncatedUdp,
    BadUdpLength,
    TruncatedSctp,
    TruncatedIcmp,
    TruncatedIcmpV6,
    UnsupportedEtherType,
    /// <summary>The buffer is longer than 65535 bytes, which the 16-bit offsets cannot describe.</summary>
    FrameTooLong,
    /// <summary><see cref="PacketParser.ParseIp"/> was given an offset at or past the end of the buffer.</summary>
    TruncatedIp,
    /// <summary><see cref="PacketParser.ParseIp"/> found an IP version other than 4 or 6.</summary>
    UnsupportedIpVersion,
    /// <summary>IPv4 fragment that would reassemble past 65535 bytes.</summary>
    BadIPv4Fragment,
    /// <summary>IPv6 fragment that would reassemble past 65535 bytes, a second fragment header, or a
    /// non-final fragment whose length is not a multiple of 8 (RFC 8200 section 4.5).</summary>
    BadIPv6Fragment,
    /// <summary>A hop-by-hop options header that does not immediately follow the IPv6 header.</summary>
    MisplacedIPv6HopByHop,
}

/// <summary>Flags describing a parsed packet.</summary>
[Flags]
public enum PacketFlags : ushort
{
    None = 0,
    /// <summary>The frame carried at least one 802.1Q tag.</summary>
    Vlan = 1 << 0,
    /// <summary>IPv4 header longer than 20 bytes.</summary>
    IPv4Options = 1 << 1,
    /// <summary>IPv6 with at least one extension header.</summary>
    IPv6ExtensionHeaders = 1 << 2,
    /// <summary>Part of a fragmented datagram (IPv4 MF or offset, or an IPv6 fragment header).</summary>
    Fragment = 1 << 3,
    /// <summary>A fragment with offset 0 (carries the L4 header when long enough).</summary>
    FirstFragment = 1 << 4,
    /// <summary>IPv4 don't-fragment bit.</summary>
    DontFragment = 1 << 5,
    /// <summary>L4 ports / ICMP fields are valid (not a non-first fragment, L4 header present).</summary>
    HasL4 = 1 << 6,
    /// <summary>More-fragments bit (IPv4 MF or the IPv6 fragment header's M flag).</summary>
    MoreFragments = 1 << 7,
    /// <summary>Parsed by <see cref="PacketParser.ParseQuotedIp"/>: the packet quoted in an ICMP error,
    /// possibly cut short (L3End is clamped to the bytes present).</summary>
    Quoted = 1 << 8,
}

/// <summary>
/// The small per-packet struct the parser fills: offsets into the frame and the fields the
/// stages decide on. Addresses are kept as numbers in host order: an IPv4 address is the low
/// 32 bits of the <see cref="UInt128"/>; MACs are the low 48 bits of a ulong (first octet most
/// significant). At most 128 bytes (asserted by a test).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct PacketHeaders
{
    /// <summary>Source IP (IPv4 in the low 32 bits). For ARP: sender protocol address.</summary>
    public UInt128 SrcIp;
    /// <summary>Destination IP (IPv4 in the low 32 bits). For ARP: target protocol address.</summary>
    public UInt128 DstIp;
    public ulong DstMac;
    public ulong SrcMac;
    /// <summary>ARP sender hardware address (the Ethernet source may differ, e.g. for proxied ARP).</summary>
    public ulong ArpSenderMac;
    /// <summary>IPv4 identification or IPv6 fragment-header identification.</summary>
    public uint FragmentId;
    /// <summary>IPv6 flow label (20 bits).</summary>
    public uint FlowLabel;
    /// <summary>EtherType after any VLAN tags (0x0800, 0x86DD, 0x0806).</summary>
    public ushort EtherType;
    /// <summary>VLAN id of the outermost tag, 0 when untagged.</summary>
    public ushort VlanId;
    /// <summary>Offset of the L3 header (0 when the buffer starts at IP).</summary>
    public ushort L3Offset;
    /// <summary>Offset of the L4 header (after IPv4 options or IPv6 extension headers).</summary>
    public ushort L4Offset;
    /// <summary>Offset of the L4 payload (after the TCP/UDP/SCTP/ICMP header).</summary>
    public ushort PayloadOffset;
    /// <summary>Offset one past the end of the IP packet (total length / payload length), so
    /// Ethernet padding is excluded.</summary>
    public ushort L3End;
    /// <summary>IP fragment offset in 8-byte units.</summary>
    public ushort FragmentOffset;
    /// <summary>TCP/UDP/SCTP source port; ICMP echo identifier for echo request/reply.</summary>
    public ushort SrcPort;
    /// <summary>TCP/UDP/SCTP destination port; ICMP echo identifier for echo request/reply.</summary>
    public ushort DstPort;
    /// <summary>ARP operation (1 request, 2 reply).</summary>
    public ushort ArpOp;
    public PacketFlags Flags;
    /// <summary>4, 6, or 0 for non-IP (ARP).</summary>
    public byte IpVersion;
    /// <summary>Final L4 protocol after the extension-header chain (6, 17, 132, 1, 58, 4, 41, ...).</summary>
    public byte Protocol;
    /// <summary>IPv4 TTL or IPv6 hop limit.</summary>
    public byte Ttl;
    /// <summary>IPv4 TOS or IPv6 traffic class.</summary>
    public byte Tos;
    public byte TcpFlags;
    public byte IcmpType;
    public byte IcmpCode;
}
