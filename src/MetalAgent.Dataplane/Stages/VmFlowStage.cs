using MetalAgent.Dataplane.Flows;
using MetalAgent.Packets;
using MetalAgent.Tables.Exact;
using MetalAgent.Tables.Lpm;
using MetalAgent.Tables.Snapshot;

namespace MetalAgent.Dataplane.Stages;

/// <summary>
/// Packets a VM sends (after gateway services and anti-spoofing): connection tracking, policy,
/// load balancing, routing inside the VNI and translation of default-route traffic.
/// <para>
/// An established flow (either direction) skips policy and keeps its translation and load-balancer
/// target; routing is looked up per packet, so route changes apply at once. A new flow is checked
/// against the sender's egress policy (and a local receiver's ingress policy), then created with
/// its reply key, so replies and both sides of a translation find it.
/// </para>
/// </summary>
public static class VmFlowStage
{
    public static Verdict Process(ref PacketContext ctx, int iface, in InterfaceEntry sender)
    {
        ref PacketHeaders h = ref ctx.Headers;
        if (h.Ttl <= 1)
        {
            // The packet dies here; the VM hears why.
            ctx.Worker.Counters.Drop(DropReason.TtlExpired);
            return IcmpErrorStage.TimeExceeded(ref ctx);
        }
        if (h.L3End - h.L3Offset > ctx.Tables.Host.Mtu)
        {
            // Larger than the MTU the VM was told: the agent does not fragment; the VM hears the MTU
            // (fragmentation needed for IPv4 with DF, packet too big for IPv6).
            if (h.IpVersion == 4 && (h.Flags & PacketFlags.DontFragment) == 0)
            {
                return Verdict.Drop(DropReason.FrameTooLarge);
            }
            ctx.Worker.Counters.Drop(DropReason.FrameTooLarge);
            return IcmpErrorStage.TooBig(ref ctx, ctx.Tables.Host.Mtu);
        }
        FlowTable<FlowState> flows = ctx.Worker.Conntrack.Table;
        var key = new FlowKey((uint)sender.VniId + 1, h.IpVersion, h.Protocol, h.SrcIp, h.SrcPort, h.DstIp, h.DstPort);
        int id = ctx.Worker.Conntrack.Find(key, in h, ctx.Worker.Now, out int direction);
        if (id >= 0)
        {
            flows.Touch(id, ctx.Worker.Now);
            ref FlowState flow = ref flows.Value(id);
            TrackTcp(ref flow, in h, direction);
            return Established(ref ctx, iface, in sender, ref flow, direction);
        }
        if (ConntrackState.IsLaterFragment(in h))
        {
            return Verdict.Drop(DropReason.FragmentWithoutFlow);
        }
        return NewFlow(ref ctx, iface, in sender, in key);
    }

    private static Verdict Established(ref PacketContext ctx, int iface, in InterfaceEntry sender, ref FlowState flow, int direction)
    {
        ref PacketHeaders h = ref ctx.Headers;
        switch (flow.Kind)
        {
            case FlowKind.SourceNat when direction == 0:
            case FlowKind.DestinationNat when direction == 1:
                Ttl.Decrement(ctx.Frame, in h);
                Rewrite.Source(ctx.Frame, ref h, flow.PublicIp, flow.PublicPort);
                return EncapStage.ToUnderlay(ref ctx, PublicUnderlay(in sender, h.IpVersion, flow.PublicIp), ctx.Tables.Host.RouterUnderlay);
            case FlowKind.Nat64 when direction == 0:
                if (!Nat64Stage.CanTranslate(in h))
                {
                    return Verdict.Drop(DropReason.Nat64Unsupported);
                }
                Ttl.Decrement(ctx.Frame, in h);
                h.Ttl--;
                Nat64Stage.ToIPv4(ctx.Frame, ref h, (uint)flow.PublicIp, flow.PublicPort);
                return EncapStage.ToUnderlay(ref ctx, sender.Nat4.Underlay, ctx.Tables.Host.RouterUnderlay);
            case FlowKind.LoadBalanced when direction == 0:
                Ttl.Decrement(ctx.Frame, in h);
                return ToLoadBalancerTarget(ref ctx, flow.LoadBalancer, flow.Target);
            case FlowKind.Routed when direction == 1 && flow.Interface != iface && (uint)flow.Interface < (uint)ctx.Tables.Interfaces.Length:
                // A reply goes back to the local VM that opened the connection, wherever routing would
                // send its address: an LB alias IP is owned by several targets, and the route for it
                // may name another one (or none).
                Ttl.Decrement(ctx.Frame, in h);
                return DeliverStage.ToInterface(ref ctx, flow.Interface, h.L3Offset, h.L3End);
            default:
                return Route(ref ctx, in sender);
        }
    }

    private static Verdict NewFlow(ref PacketContext ctx, int iface, in InterfaceEntry sender, in FlowKey key)
    {
        ref PacketHeaders h = ref ctx.Headers;
        DataplaneSnapshot tables = ctx.Tables;

        // Traffic to a load balancer's IP in this VNI is balanced like traffic from the uplink.
        int lb = tables.LoadBalancerIndex.Find(sender.Vni, h.IpVersion, h.DstIp);
        if (lb >= 0 && tables.LoadBalancers[lb].Accepts(h.Protocol, h.DstPort))
        {
            if (!PolicyStage.Allows(tables, iface, ingress: false, in h))
            {
                return Verdict.Drop(DropReason.PolicyDeniedEgress);
            }
            LoadBalancerEntry entry = tables.LoadBalancers[lb];
            int target = entry.Maglev.Lookup(FlowHash.HashFlow(h.SrcIp, h.DstIp, h.SrcPort, h.DstPort, h.Protocol, entry.Vni));
            if (target < 0)
            {
                return Verdict.Drop(DropReason.LoadBalancerNoTarget);
            }
            UInt128 targetUnderlay = entry.Maglev.Target(target);
            var state = new FlowState { Kind = FlowKind.LoadBalanced, Interface = iface, PeerInterface = -1, LoadBalancer = lb, Target = targetUnderlay };
            DropReason refused = Create(ref ctx, iface, -1, in key, key.Reversed, in state);
            if (refused != DropReason.None)
            {
                return Verdict.Drop(refused);
            }
            ctx.Worker.Counters.LoadBalancerPick(lb, target);
            Ttl.Decrement(ctx.Frame, in h);
            return ToLoadBalancerTarget(ref ctx, lb, targetUnderlay);
        }

        VniTable vni = tables.Vnis[sender.VniId];
        uint hop = h.IpVersion == 4 ? vni.Routes4.Lookup((uint)h.DstIp) : vni.Routes6.Lookup(h.DstIp);
        if (hop == Lpm4Table.NoRoute)
        {
            return Verdict.Drop(DropReason.NoRoute);
        }
        ref readonly NextHop next = ref tables.NextHops[hop];
        if (!PolicyStage.Allows(tables, iface, ingress: false, in h))
        {
            return Verdict.Drop(DropReason.PolicyDeniedEgress);
        }
        switch (next.Kind)
        {
            case NextHopKind.Local:
            {
                ref readonly InterfaceEntry receiver = ref tables.Interfaces[next.Interface];
                if (!PolicyStage.Allows(tables, next.Interface, ingress: true, in h))
                {
                    return Verdict.Drop(DropReason.PolicyDeniedIngress);
                }
                FlowKey reply = key.Reversed;
                reply.Zone = (uint)receiver.VniId + 1;
                var state = new FlowState { Kind = FlowKind.Routed, Interface = iface, PeerInterface = next.Interface, LoadBalancer = -1 };
                DropReason refused = Create(ref ctx, iface, next.Interface, in key, in reply, in state);
                if (refused != DropReason.None)
                {
                    return Verdict.Drop(refused);
                }
                break;
            }
            case NextHopKind.Remote:
            {
                var state = new FlowState { Kind = FlowKind.Routed, Interface = iface, PeerInterface = -1, LoadBalancer = -1 };
                DropReason refused = Create(ref ctx, iface, -1, in key, key.Reversed, in state);
                if (refused != DropReason.None)
                {
                    return Verdict.Drop(refused);
                }
                break;
            }
            default:
                return NewInternetFlow(ref ctx, iface, in sender, in key);
        }
        return Route(ref ctx, in sender);
    }

    /// <summary>Default-route traffic: VirtualIP first, then the NAT gateway; traffic from an LB
    /// alias prefix leaves untranslated (direct server return).</summary>
    private static Verdict NewInternetFlow(ref PacketContext ctx, int iface, in InterfaceEntry sender, in FlowKey key)
    {
        ref PacketHeaders h = ref ctx.Headers;
        bool ownIp = h.IpVersion == 4 ? sender.HasIPv4 && (uint)h.SrcIp == sender.IPv4 : sender.HasIPv6 && h.SrcIp == sender.IPv6;
        if (!ownIp)
        {
            var routed = new FlowState { Kind = FlowKind.Routed, Interface = iface, PeerInterface = -1, LoadBalancer = -1 };
            DropReason refused = Create(ref ctx, iface, -1, in key, key.Reversed, in routed);
            if (refused != DropReason.None)
            {
                return Verdict.Drop(refused);
            }
            return Route(ref ctx, in sender);
        }
        ref readonly VirtualIpEntry vip = ref h.IpVersion == 4 ? ref sender.Vip4 : ref sender.Vip6;
        if (vip.Present)
        {
            FlowKey reply = key.Reversed;
            reply.Zone = 0;
            reply.Dst = vip.Ip;
            var state = new FlowState
            {
                Kind = FlowKind.SourceNat, Interface = iface, PeerInterface = -1, LoadBalancer = -1,
                PrivateIp = h.SrcIp, PrivatePort = h.SrcPort, PublicIp = vip.Ip, PublicPort = h.SrcPort,
            };
            DropReason refused = Create(ref ctx, iface, -1, in key, in reply, in state);
            if (refused != DropReason.None)
            {
                return Verdict.Drop(refused);
            }
            Ttl.Decrement(ctx.Frame, in h);
            Rewrite.Source(ctx.Frame, ref h, vip.Ip, h.SrcPort);
            return EncapStage.ToUnderlay(ref ctx, vip.Underlay, ctx.Tables.Host.RouterUnderlay);
        }
        if (h.IpVersion == 6 && sender.Nat4.Present && Nat64Stage.IsNat64Destination(h.DstIp))
        {
            return Nat64Stage.CanTranslate(in h)
                ? NewNatFlow(ref ctx, iface, in key, in sender.Nat4, nat64: true)
                : Verdict.Drop(DropReason.Nat64Unsupported);
        }
        ref readonly NatSliceEntry nat = ref h.IpVersion == 4 ? ref sender.Nat4 : ref sender.Nat6;
        if (nat.Present)
        {
            return NewNatFlow(ref ctx, iface, in key, in nat, nat64: false);
        }
        return Verdict.Drop(DropReason.NoPublicAddress);
    }

    /// <summary>
    /// Picks a port of the interface's slice for this destination: the first try is derived from
    /// (VNI, source IP, source port), then the next ports in turn. A port serves every destination
    /// whose reply key it does not already hold (endpoint-dependent mapping); the flow table's
    /// reply-key check makes two workers never hand out the same one.
    /// </summary>
    /// <para>With <paramref name="nat64"/> the reply key is IPv4 (the translated packet's reply).</para>
    private static Verdict NewNatFlow(ref PacketContext ctx, int iface, in FlowKey key, in NatSliceEntry nat, bool nat64)
    {
        ref PacketHeaders h = ref ctx.Headers;
        if ((h.Flags & PacketFlags.HasL4) == 0 || !(h.Protocol is 6 or 17 or 132 || IsEchoRequest(in h)))
        {
            return Verdict.Drop(DropReason.NatUnsupportedProtocol);
        }
        FlowTable<FlowState> flows = ctx.Worker.Conntrack.Table;
        int size = nat.LastPort - nat.FirstPort + 1;
        int start = (int)(FlowHash.HashFlow(h.SrcIp, 0, h.SrcPort, 0, h.Protocol, key.Zone) % (ulong)size);
        FlowKey reply = key.Reversed;
        reply.Zone = 0;
        reply.Dst = nat.PublicIp;
        if (nat64)
        {
            reply.IpVersion = 4;
            reply.Src = (uint)h.DstIp;
            reply.Protocol = h.Protocol == IpProtocols.IcmpV6 ? IpProtocols.Icmp : h.Protocol;
        }
        if (!ctx.Worker.Conntrack.TryReserve(iface, -1))
        {
            ctx.Worker.Counters.FlowCapReached(iface);
            return Verdict.Drop(DropReason.FlowCapReached);
        }
        for (int attempt = 0; attempt < size; attempt++)
        {
            ushort port = (ushort)(nat.FirstPort + ((start + attempt) % size));
            reply.DstPort = port;
            if (IsEchoRequest(in h))
            {
                reply.SrcPort = port; // echo replies carry the identifier in both port fields
            }
            if (flows.Lookup(reply, out _) >= 0)
            {
                continue;
            }
            var state = new FlowState
            {
                Kind = nat64 ? FlowKind.Nat64 : FlowKind.SourceNat, Interface = iface, PeerInterface = -1, LoadBalancer = -1,
                PrivateIp = h.SrcIp, PrivatePort = h.SrcPort, PublicIp = nat.PublicIp, PublicPort = port,
                Tcp = h.Protocol == 6 ? TcpProgress.Opening : TcpProgress.None, NatPort = true,
            };
            int id = flows.Insert(ctx.Worker.Index, in key, in reply, in state, ctx.Worker.Now, out InsertOutcome outcome);
            if (outcome != InsertOutcome.Full)
            {
                // Every inserted entry (live, or dead after a lost race) is released once when swept.
                ctx.Worker.Counters.NatPortTaken(iface);
            }
            if (outcome == InsertOutcome.ReplyTaken)
            {
                // The dead entry gives its reservation back when it is swept; the next port needs its own.
                if (!ctx.Worker.Conntrack.TryReserve(iface, -1))
                {
                    ctx.Worker.Counters.FlowCapReached(iface);
                    return Verdict.Drop(DropReason.FlowCapReached);
                }
                continue;
            }
            if (outcome == InsertOutcome.Full)
            {
                ctx.Worker.Conntrack.Release(iface, -1);
                return Verdict.Drop(DropReason.FlowTableFull);
            }
            if (outcome == InsertOutcome.Created)
            {
                ctx.Worker.Counters.FlowCreated();
            }
            ctx.Worker.Conntrack.Created(in key, in h, id, ctx.Worker.Now);
            ref FlowState flow = ref flows.Value(id);
            Ttl.Decrement(ctx.Frame, in h);
            if (flow.Kind == FlowKind.Nat64)
            {
                h.Ttl--;
                Nat64Stage.ToIPv4(ctx.Frame, ref h, (uint)flow.PublicIp, flow.PublicPort);
            }
            else
            {
                Rewrite.Source(ctx.Frame, ref h, flow.PublicIp, flow.PublicPort);
            }
            return EncapStage.ToUnderlay(ref ctx, nat.Underlay, ctx.Tables.Host.RouterUnderlay);
        }
        ctx.Worker.Conntrack.Release(iface, -1);
        ctx.Worker.Counters.NatExhausted(iface);
        return Verdict.Drop(DropReason.NatPortsExhausted);
    }

    private static bool IsEchoRequest(in PacketHeaders h) =>
        (h.Protocol == 1 && h.IcmpType == 8) || (h.Protocol == 58 && h.IcmpType == 128);

    /// <summary>Routes by LPM (per packet, so route changes apply at once) and forwards.</summary>
    private static Verdict Route(ref PacketContext ctx, in InterfaceEntry sender)
    {
        ref PacketHeaders h = ref ctx.Headers;
        VniTable vni = ctx.Tables.Vnis[sender.VniId];
        uint hop = h.IpVersion == 4 ? vni.Routes4.Lookup((uint)h.DstIp) : vni.Routes6.Lookup(h.DstIp);
        if (hop == Lpm4Table.NoRoute)
        {
            return Verdict.Drop(DropReason.NoRoute);
        }
        Ttl.Decrement(ctx.Frame, in h);
        ref readonly NextHop next = ref ctx.Tables.NextHops[hop];
        switch (next.Kind)
        {
            case NextHopKind.Local:
                return DeliverStage.ToInterface(ref ctx, next.Interface, h.L3Offset, h.L3End);
            case NextHopKind.Remote:
                return EncapStage.ToUnderlay(ref ctx, sender.Underlay, next.Underlay);
            default:
                // Only untranslated default-route traffic gets here: an established flow whose
                // translation went away, or traffic from an LB alias prefix (direct server return).
                return EncapStage.ToUnderlay(ref ctx, sender.Underlay, ctx.Tables.Host.RouterUnderlay);
        }
    }

    /// <summary>Sends load-balanced traffic to its target: a local target receives the packet
    /// unchanged, a remote one gets it encapsulated with the LB's /128 as outer source.</summary>
    internal static Verdict ToLoadBalancerTarget(ref PacketContext ctx, int lb, UInt128 target)
    {
        LoadBalancerEntry entry = ctx.Tables.LoadBalancers[lb];
        int index = entry.Maglev.IndexOf(target);
        if (index >= 0 && entry.LocalTarget[index] >= 0)
        {
            return DeliverStage.ToInterface(ref ctx, entry.LocalTarget[index], ctx.Headers.L3Offset, ctx.Headers.L3End);
        }
        return EncapStage.ToUnderlay(ref ctx, entry.Underlay, target);
    }

    /// <summary>The /128 that owns a public IP of the interface (its VIP or NAT slice).</summary>
    private static UInt128 PublicUnderlay(in InterfaceEntry sender, byte version, UInt128 publicIp)
    {
        ref readonly VirtualIpEntry vip = ref version == 4 ? ref sender.Vip4 : ref sender.Vip6;
        if (vip.Present && vip.Ip == publicIp)
        {
            return vip.Underlay;
        }
        ref readonly NatSliceEntry nat = ref version == 4 ? ref sender.Nat4 : ref sender.Nat6;
        return nat.Present ? nat.Underlay : sender.Underlay;
    }

    /// <summary>Creates a flow within the per-interface caps; returns why it could not (a cap, or a
    /// full table), or <see cref="DropReason.None"/>.</summary>
    internal static DropReason Create(ref PacketContext ctx, int iface, int peer, in FlowKey forward, in FlowKey reply, in FlowState state)
    {
        Flows.ConntrackState conntrack = ctx.Worker.Conntrack;
        if (!conntrack.TryReserve(iface, peer))
        {
            ctx.Worker.Counters.FlowCapReached(iface >= 0 ? iface : Math.Max(peer, 0));
            return DropReason.FlowCapReached;
        }
        FlowState initial = state;
        if (forward.Protocol == 6)
        {
            initial.Tcp = TcpProgress.Opening;
        }
        int id = conntrack.Table.Insert(ctx.Worker.Index, in forward, in reply, in initial, ctx.Worker.Now, out InsertOutcome outcome);
        switch (outcome)
        {
            case InsertOutcome.Created:
                ctx.Worker.Counters.FlowCreated();
                conntrack.Created(in forward, in ctx.Headers, id, ctx.Worker.Now);
                return DropReason.None;
            case InsertOutcome.Raced:
            case InsertOutcome.ReplyTaken:
                // The entry we made is dead and will be swept (releasing the reservation then);
                // the packet goes on under the flow the other worker made.
                return DropReason.None;
            default:
                conntrack.Release(iface, peer);
                return DropReason.FlowTableFull;
        }
    }

    /// <summary>Follows TCP far enough to choose a timeout.</summary>
    internal static void TrackTcp(ref FlowState flow, in PacketHeaders h, int direction)
    {
        if (h.Protocol != 6)
        {
            return;
        }
        const byte Fin = 0x01, Rst = 0x04, Ack = 0x10;
        if ((h.TcpFlags & (Fin | Rst)) != 0)
        {
            flow.Tcp = TcpProgress.Closing;
        }
        else if (flow.Tcp == TcpProgress.Opening && direction == 1 && (h.TcpFlags & Ack) != 0)
        {
            flow.Tcp = TcpProgress.Established;
        }
        else if (flow.Tcp == TcpProgress.None)
        {
            flow.Tcp = TcpProgress.Opening;
        }
    }
}
