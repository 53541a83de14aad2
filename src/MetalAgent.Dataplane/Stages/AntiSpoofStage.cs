using MetalAgent.Tables.Snapshot;

namespace MetalAgent.Dataplane.Stages;

/// <summary>
/// A VM may only send from its MAC (once known: pinned or learned) and from its own IPs, routed
/// prefixes and LB alias prefixes.
/// </summary>
public static class AntiSpoofStage
{
    public static Verdict Process(ref PacketContext ctx, int iface, in InterfaceEntry entry)
    {
        ulong mac = entry.PinnedMac != 0 ? entry.PinnedMac : ctx.Bound.Interfaces.VmMac(iface);
        if (mac != 0 && ctx.Headers.SrcMac != mac)
        {
            return Verdict.Drop(DropReason.SpoofedMac);
        }
        byte version = ctx.Headers.IpVersion;
        UInt128 src = ctx.Headers.SrcIp;
        if (version == 4 ? entry.HasIPv4 && (uint)src == entry.IPv4 : entry.HasIPv6 && src == entry.IPv6)
        {
            return Verdict.Continue;
        }
        SourcePrefix[] allowed = entry.AllowedSources;
        for (int i = 0; i < allowed.Length; i++)
        {
            if (allowed[i].Contains(version, src))
            {
                return Verdict.Continue;
            }
        }
        return Verdict.Drop(DropReason.SpoofedSource);
    }
}
