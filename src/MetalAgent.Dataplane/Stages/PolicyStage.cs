using MetalAgent.Packets;
using MetalAgent.Tables.Classifier;
using MetalAgent.Tables.Snapshot;

namespace MetalAgent.Dataplane.Stages;

/// <summary>
/// NetworkPolicy on the first packet of a flow (later packets hit the flow table). A direction
/// no policy selects allows everything; a selected direction allows only what a rule allows.
/// ICMP type and code take the place of the ports.
/// </summary>
public static class PolicyStage
{
    public static bool Allows(DataplaneSnapshot tables, int iface, bool ingress, in PacketHeaders h)
    {
        ref readonly InterfaceEntry entry = ref tables.Interfaces[iface];
        if (ingress ? !entry.IngressPolicy : !entry.EgressPolicy)
        {
            return true;
        }
        InterfacePolicy policy = tables.Policies[iface];
        bool icmp = h.Protocol is 1 or 58;
        ushort sport = icmp ? h.IcmpType : h.SrcPort;
        ushort dport = icmp ? h.IcmpCode : h.DstPort;
        if ((h.Flags & PacketFlags.HasL4) == 0)
        {
            // A non-first fragment without flow state: ports unknown, match as port 0.
            sport = 0;
            dport = 0;
        }
        if (h.IpVersion == 4)
        {
            Classifier4Table? table = ingress ? policy.Ingress4 : policy.Egress4;
            if (table is null)
            {
                return false;
            }
            int rule = table.Classify(new FlowKey4((uint)h.SrcIp, (uint)h.DstIp, sport, dport, h.Protocol));
            return rule >= 0 && table.Rules[rule].Action == PolicyActions.Allow;
        }
        else
        {
            Classifier6Table? table = ingress ? policy.Ingress6 : policy.Egress6;
            if (table is null)
            {
                return false;
            }
            int rule = table.Classify(new FlowKey6(h.SrcIp, h.DstIp, sport, dport, h.Protocol));
            return rule >= 0 && table.Rules[rule].Action == PolicyActions.Allow;
        }
    }
}
