using MetalAgent.Dataplane.Flows;
using MetalAgent.Packets;
using MetalAgent.Tables.Snapshot;

namespace MetalAgent.Dataplane.Runtime;

/// <summary>
/// The first passes of a burst: before any packet of a burst runs through the stages, each packet's
/// flow key is derived the way the stages will derive it (a VM port's network and the packet's
/// 5-tuple; on the uplink, the network or public side the outer destination names and the inner
/// 5-tuple), and the flow table starts loading its bucket, then its entry. The misses of the 32
/// packets then overlap instead of following one another. A packet whose key cannot be derived
/// (ARP, malformed, unknown) is simply not prefetched; this never decides anything. The Ethernet parse
/// made here is handed to the pipeline, so a frame is parsed once.
/// </summary>
public static class FlowPrefetch
{
    /// <summary>The hash of the flow key the stages will look up for this frame, or 0.</summary>
    public static ulong KeyHash(DataplaneSnapshot tables, ReadOnlySpan<byte> frame, int port)
    {
        var h = default(PacketHeaders);
        return KeyHash(tables, frame, port, ref h, out _);
    }

    /// <summary>
    /// As <see cref="KeyHash(DataplaneSnapshot, ReadOnlySpan{byte}, int)"/>, keeping the frame's
    /// Ethernet parse in <paramref name="h"/> so the pipeline does not parse it again
    /// (<see cref="Pipeline.ProcessParsed"/>); <paramref name="parsed"/> is false when the parse failed.
    /// </summary>
    public static ulong KeyHash(DataplaneSnapshot tables, ReadOnlySpan<byte> frame, int port, ref PacketHeaders h, out bool parsed)
    {
        h = default;
        parsed = PacketParser.ParseEthernet(frame, ref h) == ParseError.None;
        PortEntry[] ports = tables.Ports;
        if (!parsed || h.IpVersion == 0 || (uint)port >= (uint)ports.Length || !ports[port].Present)
        {
            return 0;
        }
        InterfaceEntry[] interfaces = tables.Interfaces;
        if (ports[port].Kind == PortKind.Vm)
        {
            int iface = ports[port].Interface;
            return (uint)iface < (uint)interfaces.Length
                ? new FlowKey((uint)interfaces[iface].VniId + 1, h.IpVersion, h.Protocol, h.SrcIp, h.SrcPort, h.DstIp, h.DstPort).Hash()
                : 0;
        }
        if (h.IpVersion != 6 || (h.Protocol != 4 && h.Protocol != 41) || !tables.Underlay.TryGetValue(h.DstIp, out UnderlayTarget target))
        {
            return 0;
        }
        var inner = default(PacketHeaders);
        if (PacketParser.ParseIp(frame[..h.L3End], h.L4Offset, ref inner) != ParseError.None)
        {
            return 0;
        }
        uint zone;
        if (target.Kind is UnderlayTargetKind.Interface or UnderlayTargetKind.Prefix or UnderlayTargetKind.LbAlias)
        {
            if ((uint)target.Target >= (uint)interfaces.Length)
            {
                return 0;
            }
            zone = (uint)interfaces[target.Target].VniId + 1;
        }
        else if (target.Kind == UnderlayTargetKind.LoadBalancer)
        {
            if ((uint)target.Target >= (uint)tables.LoadBalancers.Length || tables.LoadBalancers[target.Target] is not { } lb)
            {
                return 0;
            }
            zone = (uint)lb.VniId + 1;
        }
        else
        {
            // VirtualIP and NAT slices: the public side of a translation.
            zone = 0;
        }
        return new FlowKey(zone, inner.IpVersion, inner.Protocol, inner.SrcIp, inner.SrcPort, inner.DstIp, inner.DstPort).Hash();
    }
}
