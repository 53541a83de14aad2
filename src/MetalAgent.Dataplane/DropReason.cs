using MetalAgent.Packets;

namespace MetalAgent.Dataplane;

/// <summary>Every reason the dataplane drops a packet; counted per worker, never logged per packet.</summary>
public enum DropReason : ushort
{
    None = 0,
    // Parse errors (one per ParseError, same order, offset by ParseBase).
    ParseTruncatedEthernet = 1,
    ParseTruncatedVlan,
    ParseTooManyVlanTags,
    ParseTruncatedArp,
    ParseBadArp,
    ParseTruncatedIPv4,
    ParseBadIPv4Version,
    ParseBadIPv4HeaderLength,
    ParseBadIPv4TotalLength,
    ParseTruncatedIPv6,
    ParseBadIPv6Version,
    ParseBadIPv6PayloadLength,
    ParseTruncatedIPv6ExtensionHeader,
    ParseTooManyIPv6ExtensionHeaders,
    ParseTruncatedTcp,
    ParseBadTcpDataOffset,
    ParseTruncatedUdp,
    ParseBadUdpLength,
    ParseTruncatedSctp,
    ParseTruncatedIcmp,
    ParseTruncatedIcmpV6,
    ParseUnsupportedEtherType,
    ParseFrameTooLong,
    ParseTruncatedIp,
    ParseUnsupportedIpVersion,
    ParseBadIPv4Fragment,
    ParseBadIPv6Fragment,
    ParseMisplacedIPv6HopByHop,

    // Ports and buffers.
    UnknownPort = 64,
    NoBuffer,
    TxFull,
    FrameTooLarge,

    // VM port.
    NoInterface = 80,
    SpoofedMac,
    SpoofedSource,
    VlanTaggedFromVm,
    ArpNotForGateway,
    UnsupportedNeighborDiscovery,
    NoRoute,
    TtlExpired,
    NoUplink,
    NoGatewayMac,
    NoVmMac,
    NotForwarded,
    PolicyDeniedEgress,
    PolicyDeniedIngress,
    LoadBalancerNoTarget,
    FlowTableFull,
    FlowCapReached,
    NoPublicAddress,
    NatUnsupportedProtocol,
    NatPortsExhausted,
    /// <summary>An ND message (NS, RS) whose hop limit is not 255: it was routed, so it is not from the VM's link.</summary>
    NdBadHopLimit,
    /// <summary>Gateway traffic (ND, DHCPv4, DHCPv6) with a wrong ICMPv6 or UDP checksum.</summary>
    GatewayBadChecksum,
    /// <summary>An ND or MLD message that does not parse (bad code, truncated, bad options, fragmented).</summary>
    NdMalformed,
    /// <summary>A neighbor solicitation for an address other than the gateway's (duplicate address detection of the VM's own addresses).</summary>
    NdTargetNotGateway,
    /// <summary>MLD queries and reports from the VM: a VM port has no multicast routing to join.</summary>
    MulticastListenerDiscovery,
    /// <summary>A DHCPv4 or DHCPv6 message that does not parse or lacks a required option.</summary>
    DhcpMalformed,
    /// <summary>DHCPv4 from an interface without an IPv4 address.</summary>
    Dhcp4NoIPv4,
    /// <summary>A DHCP message naming another server (a server identifier that is not the gateway's).</summary>
    DhcpNotForGateway,
    /// <summary>A DHCP message a server does not answer (server-to-client types, relay messages, non-Ethernet chaddr).</summary>
    DhcpUnsupportedMessage,
    /// <summary>A DHCPv4 RELEASE or DECLINE, or a DHCPv6 CONFIRM without addresses: consumed, no answer by protocol.</summary>
    DhcpNoReply,

    // Uplink.
    NotIpInIp = 112,
    UnknownUnderlayDestination,
    InnerFamilyMismatch,
    InnerParseError,
    UnderlayNotForUs,
    NatNoFlow,
    LoadBalancerPortNotAllowed,
    VirtualIpNoInterface,
    IcmpErrorUnrelated,
    /// <summary>A later fragment whose first fragment was not seen (or whose mapping expired).</summary>
    FragmentWithoutFlow,
    /// <summary>NAT64 traffic it cannot translate (IPv6 extension headers, IPv4 options, fragments, other ICMP).</summary>
    Nat64Unsupported,

    // Uplink neighbor discovery (the agent owns the uplink's underlay addressing).
    /// <summary>A neighbor solicitation on the uplink for an address that is not one of this host's /128s.</summary>
    UplinkNdTargetNotLocal = 140,
    /// <summary>An ND message on the uplink that does not parse or breaks RFC 4861 (hop limit, checksum, fragment).</summary>
    UplinkNdMalformed,
    /// <summary>The gateway's neighbor advertisement (or solicitation): consumed after taking its MAC (unless pinned).</summary>
    UplinkGatewayNeighbor,
    /// <summary>A neighbor advertisement on the uplink for an address other than the gateway's.</summary>
    UplinkNdNotForGateway,
    /// <summary>Other ICMPv6 on the uplink that is not IP-in-IPv6: router discovery, redirects, MLD, errors,
    /// echo requests to addresses the host does not own.</summary>
    UplinkIcmpV6Unsupported,
    /// <summary>An encapsulated packet waited for the gateway MAC and the wait queue was full.</summary>
    GatewayWaitQueueFull,
    /// <summary>An encapsulated packet waited for the gateway MAC longer than the resolution timeout.</summary>
    GatewayResolutionTimeout,
}

public static class DropReasons
{
    /// <summary>The drop reason of a parse error (same order as <see cref="ParseError"/>, checked by a test).</summary>
    public static DropReason FromParse(ParseError error) => (DropReason)(ushort)error;

    public const int Count = 160;

    /// <summary>Snake-case name for metrics and CLI output, for example "no_route".</summary>
    public static string Name(DropReason reason)
    {
        string s = reason.ToString().Replace("IPv", "Ipv", StringComparison.Ordinal).Replace("IcmpV6", "Icmpv6", StringComparison.Ordinal);
        var b = new System.Text.StringBuilder(s.Length + 8);
        for (int i = 0; i < s.Length; i++)
        {
            if (char.IsUpper(s[i]) && i > 0 && !(char.IsUpper(s[i - 1]) && (i + 1 == s.Length || char.IsUpper(s[i + 1]))))
            {
                b.Append('_');
            }
            b.Append(char.ToLowerInvariant(s[i]));
        }
        return b.ToString();
    }
}
