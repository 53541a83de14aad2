using System.Globalization;
using MetalAgent.Agent.Local.V1;
using MetalAgent.Dataplane.Flows;
using MetalAgent.Packets;
using MetalAgent.Tables.Snapshot;

namespace MetalAgent.Agent.Local;

/// <summary>Turns flow-table entries into the local API's <see cref="Flow"/> messages and one-line texts,
/// with names from the snapshot (interface ids, VNIs, load-balancer ids).</summary>
public static class FlowFormat
{
    public static Flow Describe(DataplaneSnapshot tables, int id, in FlowKey forward, in FlowKey reply, in FlowState state, long idleSeconds)
    {
        var flow = new Flow
        {
            Id = id,
            Kind = KindName(state.Kind),
            Interface = InterfaceName(tables, state.Interface),
            PeerInterface = InterfaceName(tables, state.PeerInterface),
            Protocol = ProtocolName(forward.Protocol),
            Forward = Endpoints(tables, forward),
            Reply = Endpoints(tables, reply),
            Tcp = state.Tcp.ToString().ToLowerInvariant(),
            IdleSeconds = idleSeconds,
        };
        switch (state.Kind)
        {
            case FlowKind.SourceNat:
            case FlowKind.DestinationNat:
                flow.Translation = $"{Endpoint(forward.IpVersion, state.PrivateIp, state.PrivatePort)} <-> {Endpoint(forward.IpVersion, state.PublicIp, state.PublicPort)}";
                break;
            case FlowKind.Nat64:
                flow.Translation = $"{Endpoint(6, state.PrivateIp, state.PrivatePort)} <-> {Endpoint(4, state.PublicIp, state.PublicPort)}";
                break;
            case FlowKind.LoadBalanced:
                flow.Translation = "target " + Addresses.FormatIPv6(state.Target);
                flow.LoadBalancer = state.LoadBalancer >= 0 && state.LoadBalancer < tables.LoadBalancers.Length ? tables.LoadBalancers[state.LoadBalancer].Id : string.Empty;
                break;
        }
        return flow;
    }

    /// <summary>"snat tcp vni 100 10.0.0.1:40000 > 8.8.8.8:53 (web-1) 10.0.0.1:40000 <-> 203.0.113.1:1030".</summary>
    public static string OneLine(Flow flow)
    {
        string parties = flow.PeerInterface.Length > 0 ? $"{flow.Interface}, {flow.PeerInterface}" : flow.Interface;
        string text = $"#{flow.Id} {flow.Kind} {flow.Protocol} {EndpointsText(flow.Forward)}";
        if (parties.Length > 0)
        {
            text += $" ({parties})";
        }
        if (flow.Translation.Length > 0)
        {
            text += " " + flow.Translation;
        }
        if (flow.LoadBalancer.Length > 0)
        {
            text += " lb " + flow.LoadBalancer;
        }
        return text;
    }

    public static string EndpointsText(FlowEndpoints e) =>
        $"{e.Zone} {HostPort(e.Src, e.SrcPort)} > {HostPort(e.Dst, e.DstPort)}";

    private static FlowEndpoints Endpoints(DataplaneSnapshot tables, in FlowKey key) => new()
    {
        Zone = ZoneName(tables, key.Zone),
        Src = Addresses.FormatIp(key.IpVersion, key.Src),
        SrcPort = key.SrcPort,
        Dst = Addresses.FormatIp(key.IpVersion, key.Dst),
        DstPort = key.DstPort,
    };

    public static string ZoneName(DataplaneSnapshot tables, uint zone) =>
        zone == 0 ? "public"
        : zone - 1 < (uint)tables.Vnis.Length ? string.Create(CultureInfo.InvariantCulture, $"vni {tables.Vnis[zone - 1].Vni}")
        : string.Create(CultureInfo.InvariantCulture, $"zone {zone}");

    public static string InterfaceName(DataplaneSnapshot tables, int iface) =>
        iface < 0 ? string.Empty
        : iface < tables.Interfaces.Length && tables.Interfaces[iface].Present ? tables.Interfaces[iface].Id
        : string.Create(CultureInfo.InvariantCulture, $"#{iface}");

    public static string KindName(FlowKind kind) => kind switch
    {
        FlowKind.Routed => "routed",
        FlowKind.SourceNat => "snat",
        FlowKind.DestinationNat => "dnat",
        FlowKind.LoadBalanced => "lb",
        FlowKind.Nat64 => "nat64",
        _ => kind.ToString().ToLowerInvariant(),
    };

    public static string ProtocolName(byte protocol) => protocol switch
    {
        IpProtocols.Tcp => "tcp",
        IpProtocols.Udp => "udp",
        IpProtocols.Icmp => "icmp",
        IpProtocols.IcmpV6 => "icmpv6",
        IpProtocols.Sctp => "sctp",
        IpProtocols.IPv4InIp => "ipv4-in-ip",
        IpProtocols.IPv6InIp => "ipv6-in-ip",
        _ => protocol.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>The protocol number of a name (tcp, udp, icmp, icmpv6, sctp) or a number; -1 when unknown.</summary>
    public static int ParseProtocol(string text) => text.ToLowerInvariant() switch
    {
        "tcp" => IpProtocols.Tcp,
        "udp" => IpProtocols.Udp,
        "icmp" => IpProtocols.Icmp,
        "icmpv6" or "icmp6" => IpProtocols.IcmpV6,
        "sctp" => 132,
        _ => byte.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out byte n) ? n : -1,
    };

    private static string Endpoint(byte version, UInt128 ip, ushort port) => HostPort(Addresses.FormatIp(version, ip), port);

    private static string HostPort(string ip, uint port) =>
        port == 0 ? ip : ip.Contains(':', StringComparison.Ordinal) ? $"[{ip}]:{port}" : $"{ip}:{port}";
}
