using MetalAgent.Dataplane.Flows;
using MetalAgent.Packets;
using MetalAgent.Tables.Exact;
using MetalAgent.Tables.Snapshot;

namespace MetalAgent.Dataplane.Stages;

/// <summary>
/// Packets from the underlay: only IPv6 with next header 4 or 41 to one of this host's /128s is
/// accepted (ICMPv6 for the link itself goes to <see cref="UplinkNeighborStage"/>); the outer
/// destination alone gives the VNI and the receiving object (an interface, one of its prefixes or
/// LB aliases, a VirtualIP, a NAT slice, or a load balancer). The inner packet
/// then meets connection tracking: replies find their flow and are translated back; new flows pass
/// ingress policy (after translation) and are created.
/// </summary>
public static class UplinkIngressStage
{
    public static Verdict Process(ref PacketContext ctx)
    {
        ref PacketHeaders outer = ref ctx.Headers;
        if (outer.IpVersion != 6 || (outer.Protocol != 4 && outer.Protocol != 41))
        {
            // Neighbor discovery and echo for the host's own /128s: the agent owns the underlay link.
            return outer.IpVersion == 6 && outer.Protocol == IpProtocols.IcmpV6
                ? UplinkNeighborStage.Process(ref ctx)
                : Verdict.Drop(DropReason.NotIpInIp);
        }
        if (!ctx.Tables.Underlay.TryGetValue(outer.DstIp, out UnderlayTarget target))
        {
            return Verdict.Drop(DropReason.UnknownUnderlayDestination);
        }
        UInt128 outerSource = outer.SrcIp;
        UInt128 outerDestination = outer.DstIp;
        byte expected = outer.Protocol == 4 ? (byte)4 : (byte)6;
        var inner = default(PacketHeaders);
        ParseError error = PacketParser.ParseIp(ctx.Frame[..outer.L3End], outer.L4Offset, ref inner);
        if (error != ParseError.None)
        {
            return Verdict.Drop(DropReason.InnerParseError);
        }
        if (inner.IpVersion != expected)
        {
            return Verdict.Drop(DropReason.InnerFamilyMismatch);
        }
        ctx.Headers = inner;
        switch (target.Kind)
        {
            case UnderlayTargetKind.Interface:
            case UnderlayTargetKind.Prefix:
            case UnderlayTargetKind.LbAlias:
                return ToInterface(ref ctx, target.Target);
            case UnderlayTargetKind.VirtualIp:
                return ToVirtualIp(ref ctx, target.Target);
            case UnderlayTargetKind.NatSlice:
                return ToNatSlice(ref ctx, outerSource, outerDestination);
            case UnderlayTargetKind.LoadBalancer:
                return ToLoadBalancer(ref ctx, target.Target, outerSource, outerDestination);
            default:
                return Verdict.Drop(DropReason.UnderlayNotForUs);
        }
    }

    /// <summary>Traffic for an interface (its own /128, a routed prefix, or an LB alias).</summary>
    private static Verdict ToInterface(ref PacketContext ctx, int iface)
    {
        ref PacketHeaders h = ref ctx.Headers;
        ref readonly InterfaceEntry entry = ref ctx.Tables.Interfaces[iface];
        if (!entry.Present)
        {
            return Verdict.Drop(DropReason.NoInterface);
        }
        FlowTable<FlowState> flows = ctx.Worker.Conntrack.Table;
        var key = new FlowKey((uint)entry.VniId + 1, h.IpVersion, h.Protocol, h.SrcIp, h.SrcPort, h.DstIp, h.DstPort);
        int id = ctx.Worker.Conntrack.Find(key, in h, ctx.Worker.Now, out int direction);
        if (id >= 0)
        {
            flows.Touch(id, ctx.Worker.Now);
            VmFlowStage.TrackTcp(ref flows.Value(id), in h, direction);
        }
        else if (ConntrackState.IsLaterFragment(in h))
        {
            return Verdict.Drop(DropReason.FragmentWithoutFlow);
        }
        else if (IcmpErrorStage.IsError(in h))
        {
            // Errors about an allowed flow pass with it; others are unrelated.
            if (!IcmpErrorStage.RelatesToFlow(ref ctx, (uint)entry.VniId + 1))
            {
                return Verdict.Drop(DropReason.IcmpErrorUnrelated);
            }
        }
        else
        {
            if (!PolicyStage.Allows(ctx.Tables, iface, ingress: true, in h))
            {
                return Verdict.Drop(DropReason.PolicyDeniedIngress);
            }
            var state = new FlowState { Kind = FlowKind.Routed, Interface = iface, PeerInterface = -1, LoadBalancer = -1 };
            DropReason refused = VmFlowStage.Create(ref ctx, iface, -1, in key, key.Reversed, in state);
            if (refused != DropReason.None)
            {
                return Verdict.Drop(refused);
            }
        }
        return DeliverStage.ToInterface(ref ctx, iface, h.L3Offset, h.L3End);
    }

    /// <summary>Traffic for a VirtualIP: replies to the VM's own flows, or new inbound flows (1:1 DNAT).</summary>
    private static Verdict ToVirtualIp(ref PacketContext ctx, int iface)
    {
        ref PacketHeaders h = ref ctx.Headers;
        ref readonly InterfaceEntry entry = ref ctx.Tables.Interfaces[iface];
        ref readonly VirtualIpEntry vip = ref h.IpVersion == 4 ? ref entry.Vip4 : ref entry.Vip6;
        if (!entry.Present || !vip.Present || h.DstIp != vip.Ip)
        {
            return Verdict.Drop(DropReason.VirtualIpNoInterface);
        }
        if (IcmpErrorStage.IsError(in h))
        {
            return IcmpErrorStage.TranslateBack(ref ctx);
        }
        FlowTable<FlowState> flows = ctx.Worker.Conntrack.Table;
        var key = new FlowKey(0, h.IpVersion, h.Protocol, h.SrcIp, h.SrcPort, h.DstIp, h.DstPort);
        int id = ctx.Worker.Conntrack.Find(key, in h, ctx.Worker.Now, out int direction);
        if (id >= 0)
        {
            flows.Touch(id, ctx.Worker.Now);
            ref FlowState flow = ref flows.Value(id);
            VmFlowStage.TrackTcp(ref flow, in h, direction);
            Rewrite.Destination(ctx.Frame, ref h, flow.PrivateIp, flow.PrivatePort);
            return DeliverStage.ToInterface(ref ctx, iface, h.L3Offset, h.L3End);
        }
        if (ConntrackState.IsLaterFragment(in h))
        {
            return Verdict.Drop(DropReason.FragmentWithoutFlow);
        }
        UInt128 privateIp = h.IpVersion == 4 ? entry.IPv4 : entry.IPv6;
        ushort port = h.DstPort;
        Rewrite.Destination(ctx.Frame, ref h, privateIp, port);
        if (!PolicyStage.Allows(ctx.Tables, iface, ingress: true, in h))
        {
            return Verdict.Drop(DropReason.PolicyDeniedIngress);
        }
        var reply = new FlowKey((uint)entry.VniId + 1, h.IpVersion, h.Protocol, privateIp, port, h.SrcIp, h.SrcPort);
        var state = new FlowState
        {
            Kind = FlowKind.DestinationNat, Interface = iface, PeerInterface = -1, LoadBalancer = -1,
            PrivateIp = privateIp, PrivatePort = port, PublicIp = vip.Ip, PublicPort = port,
        };
        DropReason refused = VmFlowStage.Create(ref ctx, iface, -1, in key, in reply, in state);
        if (refused != DropReason.None)
        {
            return Verdict.Drop(refused);
        }
        return DeliverStage.ToInterface(ref ctx, iface, h.L3Offset, h.L3End);
    }

    /// <summary>Traffic for a NAT slice: replies are translated back; echo requests to the NAT IP are
    /// answered; ports of a neighbor's slice are relayed unchanged to its /128.</summary>
    private static Verdict ToNatSlice(ref PacketContext ctx, UInt128 outerSource, UInt128 outerDestination)
    {
        ref PacketHeaders h = ref ctx.Headers;
        if (IcmpErrorStage.IsError(in h))
        {
            return IcmpErrorStage.TranslateBack(ref ctx);
        }
        FlowTable<FlowState> flows = ctx.Worker.Conntrack.Table;
        var key = new FlowKey(0, h.IpVersion, h.Protocol, h.SrcIp, h.SrcPort, h.DstIp, h.DstPort);
        int id = ctx.Worker.Conntrack.Find(key, in h, ctx.Worker.Now, out int direction);
        if (id >= 0 && direction == 1)
        {
            flows.Touch(id, ctx.Worker.Now);
            ref FlowState flow = ref flows.Value(id);
            VmFlowStage.TrackTcp(ref flow, in h, direction);
            if (flow.Kind == FlowKind.Nat64)
            {
                if (!Nat64Stage.CanTranslateBack(in h))
                {
                    return Verdict.Drop(DropReason.Nat64Unsupported);
                }
                Nat64Stage.ToIPv6(ctx.Frame, ref h, flow.PrivateIp, flow.PrivatePort);
                return DeliverStage.ToInterface(ref ctx, flow.Interface, h.L3Offset, h.L3End);
            }
            Rewrite.Destination(ctx.Frame, ref h, flow.PrivateIp, flow.PrivatePort);
            return DeliverStage.ToInterface(ref ctx, flow.Interface, h.L3Offset, h.L3End);
        }
        if (ConntrackState.IsLaterFragment(in h))
        {
            return Verdict.Drop(DropReason.FragmentWithoutFlow);
        }
        if (IcmpEchoStage.IsEchoRequest(in h) && ctx.Tables.Nat.IsNatIp(h.IpVersion, h.DstIp))
        {
            return IcmpEchoStage.AnswerFromUnderlay(ref ctx, outerDestination, outerSource);
        }
        if (ctx.Tables.Nat.TryFind(h.IpVersion, h.DstIp, h.DstPort, out NatRange range) && range.Interface < 0)
        {
            return EncapStage.ToUnderlay(ref ctx, outerDestination, range.Owner);
        }
        return Verdict.Drop(DropReason.NatNoFlow);
    }

    /// <summary>Traffic for a load balancer: established flows keep their target; new ones pick one
    /// by Maglev over the 5-tuple. Echo requests to the LB IP are answered.</summary>
    private static Verdict ToLoadBalancer(ref PacketContext ctx, int lb, UInt128 outerSource, UInt128 outerDestination)
    {
        ref PacketHeaders h = ref ctx.Headers;
        LoadBalancerEntry entry = ctx.Tables.LoadBalancers[lb];
        FlowTable<FlowState> flows = ctx.Worker.Conntrack.Table;
        var key = new FlowKey((uint)entry.VniId + 1, h.IpVersion, h.Protocol, h.SrcIp, h.SrcPort, h.DstIp, h.DstPort);
        int id = ctx.Worker.Conntrack.Find(key, in h, ctx.Worker.Now, out int direction);
        if (id >= 0 && flows.Value(id).Kind == FlowKind.LoadBalanced)
        {
            flows.Touch(id, ctx.Worker.Now);
            ref FlowState flow = ref flows.Value(id);
            VmFlowStage.TrackTcp(ref flow, in h, direction);
            return VmFlowStage.ToLoadBalancerTarget(ref ctx, lb, flow.Target);
        }
        if (ConntrackState.IsLaterFragment(in h))
        {
            return Verdict.Drop(DropReason.FragmentWithoutFlow);
        }
        if (IcmpEchoStage.IsEchoRequest(in h))
        {
            return IcmpEchoStage.AnswerFromUnderlay(ref ctx, outerDestination, outerSource);
        }
        if (!entry.Accepts(h.Protocol, h.DstPort))
        {
            return Verdict.Drop(DropReason.LoadBalancerPortNotAllowed);
        }
        int target = entry.Maglev.Lookup(FlowHash.HashFlow(h.SrcIp, h.DstIp, h.SrcPort, h.DstPort, h.Protocol, entry.Vni));
        if (target < 0)
        {
            return Verdict.Drop(DropReason.LoadBalancerNoTarget);
        }
        int local = entry.LocalTarget[target];
        if (local >= 0 && !PolicyStage.Allows(ctx.Tables, local, ingress: true, in h))
        {
            return Verdict.Drop(DropReason.PolicyDeniedIngress);
        }
        UInt128 targetUnderlay = entry.Maglev.Target(target);
        var state = new FlowState { Kind = FlowKind.LoadBalanced, Interface = local, PeerInterface = -1, LoadBalancer = lb, Target = targetUnderlay };
        DropReason refused = VmFlowStage.Create(ref ctx, local, -1, in key, key.Reversed, in state);
        if (refused != DropReason.None)
        {
            return Verdict.Drop(refused);
        }
        ctx.Worker.Counters.LoadBalancerPick(lb, target);
        return VmFlowStage.ToLoadBalancerTarget(ref ctx, lb, targetUnderlay);
    }
}
