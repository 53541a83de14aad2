using MetalAgent.Dataplane.Stages;
using MetalAgent.Packets;
using MetalAgent.Tables.Snapshot;

namespace MetalAgent.Dataplane.Flows;

/// <summary>
/// After a new snapshot is published, kills exactly the flows it invalidates: flows of removed or
/// re-addressed interfaces, translations whose VirtualIP or NAT slice changed, load-balanced flows
/// whose target was removed, and flows the new policy would no longer allow. Everything else keeps
/// going (an added LB target does not move established flows). Runs on the publishing thread.
/// </summary>
public static class FlowRevalidator
{
    /// <summary>Returns how many flows were killed.</summary>
    public static int Revalidate(ConntrackState conntrack, DataplaneSnapshot snapshot)
    {
        var visitor = new Visitor(snapshot, conntrack.Table);
        conntrack.Table.ForEachLive(ref visitor);
        return visitor.Killed;
    }

    private struct Visitor : IFlowVisitor<FlowState>
    {
        private readonly DataplaneSnapshot _s;
        private readonly FlowTable<FlowState> _table;
        public int Killed;

        public Visitor(DataplaneSnapshot snapshot, FlowTable<FlowState> table)
        {
            _s = snapshot;
            _table = table;
            Killed = 0;
        }

        public void Visit(int id, in FlowKey forward, in FlowKey reverse, ref FlowState value)
        {
            if (!StillValid(in forward, in value))
            {
                _table.Kill(id);
                Killed++;
            }
        }

        private readonly bool StillValid(in FlowKey forward, in FlowState f)
        {
            if (f.Interface >= 0 && !InterfaceStill(f.Interface, in forward, in f))
            {
                return false;
            }
            if (f.PeerInterface >= 0 && (f.PeerInterface >= _s.Interfaces.Length || !_s.Interfaces[f.PeerInterface].Present))
            {
                return false;
            }
            switch (f.Kind)
            {
                case FlowKind.SourceNat:
                case FlowKind.DestinationNat:
                    return TranslationStill(in forward, in f);
                case FlowKind.Nat64:
                {
                    ref readonly InterfaceEntry e = ref _s.Interfaces[f.Interface];
                    return e.HasIPv6 && e.IPv6 == f.PrivateIp && e.Nat4.Present && e.Nat4.PublicIp == f.PublicIp
                        && f.PublicPort >= e.Nat4.FirstPort && f.PublicPort <= e.Nat4.LastPort;
                }
                case FlowKind.LoadBalanced:
                    return f.LoadBalancer < _s.LoadBalancers.Length
                        && _s.LoadBalancers[f.LoadBalancer].Id.Length > 0
                        && _s.LoadBalancers[f.LoadBalancer].Maglev.IndexOf(f.Target) >= 0;
                default:
                    return PolicyStill(in forward, in f);
            }
        }

        private readonly bool InterfaceStill(int iface, in FlowKey forward, in FlowState f)
        {
            if (iface >= _s.Interfaces.Length)
            {
                return false;
            }
            ref readonly InterfaceEntry e = ref _s.Interfaces[iface];
            if (!e.Present)
            {
                return false;
            }
            // A tenant-side key must still be in the interface's VNI.
            if (forward.Zone != 0 && f.Kind != FlowKind.LoadBalanced && forward.Zone != (uint)e.VniId + 1 && f.PeerInterface < 0)
            {
                return false;
            }
            return true;
        }

        private readonly bool TranslationStill(in FlowKey forward, in FlowState f)
        {
            ref readonly InterfaceEntry e = ref _s.Interfaces[f.Interface];
            byte version = forward.IpVersion;
            UInt128 own = version == 4 ? (e.HasIPv4 ? e.IPv4 : UInt128.MaxValue) : (e.HasIPv6 ? e.IPv6 : UInt128.MaxValue);
            if (f.PrivateIp != own)
            {
                return false;
            }
            ref readonly VirtualIpEntry vip = ref version == 4 ? ref e.Vip4 : ref e.Vip6;
            if (vip.Present && vip.Ip == f.PublicIp)
            {
                return true;
            }
            if (f.Kind == FlowKind.DestinationNat)
            {
                return false;
            }
            ref readonly NatSliceEntry nat = ref version == 4 ? ref e.Nat4 : ref e.Nat6;
            return nat.Present && nat.PublicIp == f.PublicIp && f.PublicPort >= nat.FirstPort && f.PublicPort <= nat.LastPort;
        }

        private readonly bool PolicyStill(in FlowKey forward, in FlowState f)
        {
            if (forward.Protocol is 1 or 58)
            {
                return true; // policy ports cover TCP, UDP and SCTP only
            }
            var h = new PacketHeaders
            {
                IpVersion = forward.IpVersion,
                Protocol = forward.Protocol,
                SrcIp = forward.Src,
                DstIp = forward.Dst,
                SrcPort = forward.SrcPort,
                DstPort = forward.DstPort,
                Flags = PacketFlags.HasL4,
            };
            if (f.Interface >= 0)
            {
                ref readonly InterfaceEntry e = ref _s.Interfaces[f.Interface];
                bool fromVm = forward.IpVersion == 4 ? e.HasIPv4 && (uint)forward.Src == e.IPv4 : e.HasIPv6 && forward.Src == e.IPv6;
                if (fromVm ? !PolicyStage.Allows(_s, f.Interface, ingress: false, in h) : !PolicyStage.Allows(_s, f.Interface, ingress: true, in h))
                {
                    return false;
                }
            }
            return f.PeerInterface < 0 || PolicyStage.Allows(_s, f.PeerInterface, ingress: true, in h);
        }
    }
}
