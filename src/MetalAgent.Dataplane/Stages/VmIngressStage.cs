using MetalAgent.Packets;
using MetalAgent.Tables.Snapshot;

namespace MetalAgent.Dataplane.Stages;

/// <summary>
/// Packets from a VM port: gateway services first (never subject to policy), then
/// anti-spoofing, then routing inside the interface's VNI.
/// </summary>
public static class VmIngressStage
{
    public static Verdict Process(ref PacketContext ctx)
    {
        ref readonly PortEntry port = ref ctx.Tables.Ports[ctx.InPort];
        int iface = port.Interface;
        if ((uint)iface >= (uint)ctx.Tables.Interfaces.Length || !ctx.Tables.Interfaces[iface].Present)
        {
            return Verdict.Drop(DropReason.NoInterface);
        }
        ref readonly InterfaceEntry entry = ref ctx.Tables.Interfaces[iface];
        if ((ctx.Headers.Flags & PacketFlags.Vlan) != 0)
        {
            return Verdict.Drop(DropReason.VlanTaggedFromVm);
        }

        Verdict gateway = GatewayStage.Process(ref ctx, iface, in entry, in port);
        if (gateway.Kind != VerdictKind.Continue)
        {
            return gateway;
        }

        Verdict spoof = AntiSpoofStage.Process(ref ctx, iface, in entry);
        if (spoof.Kind != VerdictKind.Continue)
        {
            return spoof;
        }

        return VmFlowStage.Process(ref ctx, iface, in entry);
    }
}
