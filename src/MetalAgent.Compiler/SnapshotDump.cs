using System.Globalization;
using System.Text;
using MetalAgent.Packets;
using MetalAgent.Tables.Lpm;
using MetalAgent.Tables.Snapshot;

namespace MetalAgent.Compiler;

/// <summary>A readable, deterministic text dump of a compiled snapshot: what golden tests compare and
/// what <c>metalagent compile</c> prints, so that a change in compilation shows in review.</summary>
public static class SnapshotDump
{
    public static string Format(DataplaneSnapshot s)
    {
        var b = new StringBuilder();
        HostTable h = s.Host;
        b.Append(CultureInfo.InvariantCulture, $"snapshot version {s.Version}\n");
        b.Append(CultureInfo.InvariantCulture, $"host {h.Name} underlay {Addresses.FormatIPv6(h.UnderlayPrefix)}/64 router {Addresses.FormatIPv6(h.RouterUnderlay)} uplink-port {h.UplinkPort} gateway {Addresses.FormatIPv6(h.GatewayAddress)} gateway-mac {Addresses.FormatMac(h.GatewayMac)} mtu {h.Mtu} underlay-mtu {h.UnderlayMtu}\n");
        b.Append("dns");
        foreach (uint d in h.DnsServers4)
        {
            b.Append(' ').Append(Addresses.FormatIPv4(d));
        }
        foreach (UInt128 d in h.DnsServers6)
        {
            b.Append(' ').Append(Addresses.FormatIPv6(d));
        }
        b.Append('\n');

        b.Append("\nports\n");
        for (int i = 0; i < s.Ports.Length; i++)
        {
            PortEntry p = s.Ports[i];
            if (!p.Present)
            {
                b.Append(CultureInfo.InvariantCulture, $"  [{i}] (free)\n");
                continue;
            }
            b.Append(CultureInfo.InvariantCulture, $"  [{i}] {p.Name} {p.Kind.ToString().ToLowerInvariant()}");
            if (p.Kind == PortKind.Vm)
            {
                b.Append(CultureInfo.InvariantCulture, $" interface {p.Interface} gateway-mac {Addresses.FormatMac(p.GatewayMac)}");
            }
            b.Append('\n');
        }

        b.Append("\ninterfaces\n");
        for (int i = 0; i < s.Interfaces.Length; i++)
        {
            InterfaceEntry e = s.Interfaces[i];
            if (!e.Present)
            {
                b.Append(CultureInfo.InvariantCulture, $"  [{i}] (free)\n");
                continue;
            }
            b.Append(CultureInfo.InvariantCulture, $"  [{i}] {e.Id} vni {e.Vni} (id {e.VniId}) port {e.Port} underlay {Addresses.FormatIPv6(e.Underlay)}");
            if (e.HasIPv4)
            {
                b.Append(" ipv4 ").Append(Addresses.FormatIPv4(e.IPv4));
            }
            if (e.HasIPv6)
            {
                b.Append(" ipv6 ").Append(Addresses.FormatIPv6(e.IPv6));
            }
            if (e.PinnedMac != 0)
            {
                b.Append(" mac ").Append(Addresses.FormatMac(e.PinnedMac));
            }
            b.Append('\n');
            AppendVip(b, "vip4", 4, e.Vip4);
            AppendVip(b, "vip6", 6, e.Vip6);
            AppendNat(b, "nat4", 4, e.Nat4);
            AppendNat(b, "nat6", 6, e.Nat6);
            foreach (SourcePrefix p in e.AllowedSources)
            {
                b.Append("      source ").Append(Addresses.FormatIp(p.IpVersion, p.Network)).Append('/').Append(p.Length).Append('\n');
            }
            if (e.IngressPolicy || e.EgressPolicy)
            {
                b.Append(CultureInfo.InvariantCulture, $"      policy ingress={e.IngressPolicy} egress={e.EgressPolicy}\n");
            }
            if (e.Hostname.Length > 0)
            {
                b.Append("      hostname ").Append(e.Hostname).Append('\n');
            }
        }

        b.Append("\nnext hops\n");
        for (int i = 0; i < s.NextHops.Length; i++)
        {
            NextHop n = s.NextHops[i];
            b.Append(CultureInfo.InvariantCulture, $"  [{i}] ").Append(n.Kind switch
            {
                NextHopKind.Local => $"local interface {n.Interface}",
                NextHopKind.Remote => $"remote {Addresses.FormatIPv6(n.Underlay)} vni {n.Vni}",
                _ => "router",
            }).Append('\n');
        }

        b.Append("\nvnis\n");
        for (int i = 0; i < s.Vnis.Length; i++)
        {
            VniTable v = s.Vnis[i];
            b.Append(CultureInfo.InvariantCulture, $"  [{i}] vni {v.Vni}\n");
            foreach (Lpm4Route r in v.Routes4.Routes)
            {
                b.Append(CultureInfo.InvariantCulture, $"      {Addresses.FormatIPv4(r.Prefix)}/{r.Length} -> {r.Value}\n");
            }
            foreach (Lpm6Route r in v.Routes6.Routes)
            {
                b.Append(CultureInfo.InvariantCulture, $"      {Addresses.FormatIPv6(r.Prefix)}/{r.Length} -> {r.Value}\n");
            }
        }

        b.Append("\nload balancers\n");
        for (int i = 0; i < s.LoadBalancers.Length; i++)
        {
            LoadBalancerEntry lb = s.LoadBalancers[i];
            if (lb.Id.Length == 0)
            {
                b.Append(CultureInfo.InvariantCulture, $"  [{i}] (free)\n");
                continue;
            }
            b.Append(CultureInfo.InvariantCulture, $"  [{i}] {lb.Id} vni {lb.Vni} underlay {Addresses.FormatIPv6(lb.Underlay)} ips");
            foreach ((byte version, UInt128 ip) in lb.Ips)
            {
                b.Append(' ').Append(Addresses.FormatIp(version, ip));
            }
            b.Append(" ports");
            if (lb.Ports.Length == 0)
            {
                b.Append(" all");
            }
            foreach (LbPortRange p in lb.Ports)
            {
                b.Append(CultureInfo.InvariantCulture, $" {p.Protocol}:{p.First}-{p.Last}");
            }
            b.Append('\n');
            for (int t = 0; t < lb.Maglev.TargetCount; t++)
            {
                int entries = 0;
                foreach (ushort e in lb.Maglev.Entries)
                {
                    entries += e == t ? 1 : 0;
                }
                b.Append(CultureInfo.InvariantCulture, $"      target {Addresses.FormatIPv6(lb.Maglev.Target(t))} {(lb.LocalTarget[t] >= 0 ? "local interface " + lb.LocalTarget[t] : "remote")} entries {entries}\n");
            }
        }

        b.Append("\nnat\n");
        foreach ((byte version, UInt128 ip, NatRange[] ranges) in s.Nat.All())
        {
            foreach (NatRange r in ranges)
            {
                b.Append(CultureInfo.InvariantCulture, $"  {Addresses.FormatIp(version, ip)} ports {r.First}-{r.Last} vni {r.Vni} {(r.Interface >= 0 ? "interface " + r.Interface : "neighbor")} owner {Addresses.FormatIPv6(r.Owner)}\n");
            }
        }

        b.Append("\nunderlay\n");
        foreach ((UInt128 address, UnderlayTarget t) in s.Underlay.Entries())
        {
            b.Append(CultureInfo.InvariantCulture, $"  {Addresses.FormatIPv6(address)} {t.Kind.ToString().ToLowerInvariant()} vni-id {t.VniId} target {t.Target}\n");
        }
        return b.ToString();
    }

    private static void AppendVip(StringBuilder b, string name, byte version, in VirtualIpEntry v)
    {
        if (v.Present)
        {
            b.Append(CultureInfo.InvariantCulture, $"      {name} {Addresses.FormatIp(version, v.Ip)} underlay {Addresses.FormatIPv6(v.Underlay)}\n");
        }
    }

    private static void AppendNat(StringBuilder b, string name, byte version, in NatSliceEntry n)
    {
        if (n.Present)
        {
            b.Append(CultureInfo.InvariantCulture, $"      {name} {Addresses.FormatIp(version, n.PublicIp)} ports {n.FirstPort}-{n.LastPort} underlay {Addresses.FormatIPv6(n.Underlay)}\n");
        }
    }
}
