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
/// (ARP, malformed, unknown) is simply not prefetched; this never decides anything.
/// </summary>
public static class FlowPrefetch
{
    /// <summary>The hash of the flow key the stages will look up for this frame, or 0.</summary>
    public static ulong KeyHash(DataplaneSnapshot tables, ReadOnlySpan<byte> frame, int port)
    {
        PortEntry[] ports = tables.Ports;
        if ((uint)port >= (uint)ports.Length || !ports[port].Present)
        {
            return 0;
        }
        var h = default(PacketHeaders);
        if (PacketParser.ParseEthernet(frame, ref h) != ParseError.None || h.IpVersion == 0)
        {
            return 0;
        }
        InterfaceEntry[] interfaces = tables.Interfaces;
        uint zone;
        if (ports[port].Kind == PortKind.Vm)
        {
            int iface = ports[port].Interface;
            if ((uint)iface >= (uint)interfaces.Length)
            {
                return 0;
            }
            zone = (uint)interfaces[iface].VniId + 1;
        }
        else
        {
            if (h.IpVersion != 6 || (h.Protocol != 4 && h.Protocol != 41) || !tables.Underlay.TryGetValue(h.DstIp, out UnderlayTarget target))
            {
                return 0;
            }
            int innerOffset = h.L4Offset;
            ReadOnlySpan<byte> outer = frame[..h.L3End];
            h = default;
            if (PacketParser.ParseIp(outer, innerOffset, ref h) != ParseError.None)
            {
                return 0;
            }
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
        }
        return new FlowKey(zone, h.IpVersion, h.Protocol, h.SrcIp, h.SrcPort, h.DstIp, h.DstPort).Hash();
    }
}
