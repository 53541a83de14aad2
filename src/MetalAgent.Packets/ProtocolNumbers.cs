namespace MetalAgent.Packets;

/// <summary>EtherType values the parser and writers know (host order).</summary>
public static class EtherTypes
{
    public const ushort IPv4 = 0x0800;
    public const ushort Arp = 0x0806;
    public const ushort IPv6 = 0x86DD;
    /// <summary>802.1Q customer tag.</summary>
    public const ushort Vlan = 0x8100;
    /// <summary>802.1ad service tag (outer tag of QinQ).</summary>
    public const ushort QinQ = 0x88A8;
    /// <summary>Pre-standard QinQ service tag some switches still send.</summary>
    public const ushort QinQLegacy = 0x9100;
}

/// <summary>IP protocol / IPv6 next-header numbers.</summary>
public static class IpProtocols
{
    public const byte HopByHop = 0;
    public const byte Icmp = 1;
    /// <summary>IPv4 encapsulated in IP (IronCore underlay: IPv4 inside IPv6).</summary>
    public const byte IPv4InIp = 4;
    public const byte Tcp = 6;
    public const byte Udp = 17;
    /// <summary>IPv6 encapsulated in IP (IronCore underlay: IPv6 inside IPv6).</summary>
    public const byte IPv6InIp = 41;
    public const byte Routing = 43;
    public const byte Fragment = 44;
    public const byte IcmpV6 = 58;
    public const byte NoNextHeader = 59;
    public const byte DestinationOptions = 60;
    public const byte Sctp = 132;
}

/// <summary>Bits of <see cref="PacketHeaders.TcpFlags"/>.</summary>
public static class TcpFlagBits
{
    public const byte Fin = 0x01;
    public const byte Syn = 0x02;
    public const byte Rst = 0x04;
    public const byte Psh = 0x08;
    public const byte Ack = 0x10;
    public const byte Urg = 0x20;
    public const byte Ece = 0x40;
    public const byte Cwr = 0x80;
}

/// <summary>ICMP and ICMPv6 message types the dataplane handles.</summary>
public static class IcmpTypes
{
    public const byte EchoReply = 0;
    public const byte DestinationUnreachable = 3;
    public const byte EchoRequest = 8;
    public const byte TimeExceeded = 11;

    public const byte V6DestinationUnreachable = 1;
    public const byte V6PacketTooBig = 2;
    public const byte V6TimeExceeded = 3;
    public const byte V6ParameterProblem = 4;
    public const byte V6EchoRequest = 128;
    public const byte V6EchoReply = 129;
    public const byte RouterSolicitation = 133;
    public const byte RouterAdvertisement = 134;
    public const byte NeighborSolicitation = 135;
    public const byte NeighborAdvertisement = 136;
}
