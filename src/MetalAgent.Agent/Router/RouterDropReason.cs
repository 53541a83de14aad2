namespace MetalAgent.Agent.Router;

/// <summary>Why the router did not forward a frame; counted, never logged per packet.</summary>
public enum RouterDropReason : byte
{
    None = 0,
    /// <summary>The frame does not parse (truncated, bad lengths, an EtherType other than IPv4, IPv6, ARP).</summary>
    Malformed,
    /// <summary>802.1Q-tagged frames: the router's links are untagged.</summary>
    VlanTagged,
    /// <summary>Traffic for the router itself that it does not serve (other protocols to its addresses,
    /// IPv4 or ARP on the underlay, IPv6 on the underlay that is neither IP-in-IPv6 nor ND/echo).</summary>
    NotForRouter,
    /// <summary>IP-in-IPv6 to an underlay address other than the router's.</summary>
    UnknownUnderlayDestination,
    /// <summary>The inner packet of IP-in-IPv6 does not parse.</summary>
    InnerMalformed,
    /// <summary>Next header 4 with an IPv6 packet inside, or 41 with IPv4.</summary>
    InnerFamilyMismatch,
    /// <summary>A decapsulated packet whose source is no public IP of the router view.</summary>
    SourceNotPublic,
    /// <summary>TTL or hop limit would reach 0.</summary>
    TtlExpired,
    /// <summary>A decapsulated packet for a destination off the internet link without an internet gateway of its family.</summary>
    NoInternetRoute,
    /// <summary>A packet from the internet for an IP the router view does not know.</summary>
    UnknownPublicIp,
    /// <summary>A known public IP that nothing serves now, or a NAT port outside every slice.</summary>
    NoOwner,
    /// <summary>A later fragment for a NAT IP: without the port the slice is unknown.</summary>
    NatFragment,
    /// <summary>An internet packet too large for the underlay once encapsulated.</summary>
    TooBigForUnderlay,
    /// <summary>ND or ARP that breaks the rules (hop limit, checksum, bad options, fragments).</summary>
    NeighborMalformed,
    /// <summary>A solicitation or ARP request for an address that is not the router's.</summary>
    NeighborTargetNotLocal,
    /// <summary>Consumed neighbor traffic: advertisements and ARP replies (their MAC is learned when useful).</summary>
    NeighborConsumed,
    /// <summary>ICMPv6 the router does not serve (router discovery, redirects, MLD).</summary>
    IcmpUnsupported,
    /// <summary>A frame waited for a next hop's MAC and the next hop did not answer in time.</summary>
    NeighborTimeout,
    /// <summary>A frame would wait for a next hop's MAC but the wait list is full.</summary>
    PendingFull,
    /// <summary>The packet pool is empty (a frame the router wanted to send could not be built).</summary>
    NoBuffer,
    /// <summary>More frames to send in one round than the output list holds.</summary>
    OutputFull,
    /// <summary>The port did not accept the frame (tx ring full, link down).</summary>
    TxFull,
}
