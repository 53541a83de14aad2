using MetalAgent.Agent.Local.V1;
using MetalAgent.Dataplane.Runtime;
using MetalAgent.Packets;
using MetalAgent.Tables.Snapshot;

namespace MetalAgent.Agent.Local;

/// <summary>
/// Builds the frame a <see cref="PacketDescription"/> describes, as it would arrive on a port of the live
/// state: on a VM port from the VM's MAC (pinned or learned) to the port's gateway MAC; on the uplink as
/// IP-in-IPv6 from the router (or <c>underlay_src</c>) to the /128 owning the destination (or <c>underlay_dst</c>).
/// </summary>
public static class TracePacketBuilder
{
    /// <summary>MAC used for a VM whose MAC is not known yet (and for the underlay next hop when unresolved).</summary>
    public const ulong PlaceholderMac = 0x02_00_00_00_00_01;

    /// <summary>Throws <see cref="ArgumentException"/> with a message for the user when the description is incomplete or inconsistent.</summary>
    public static byte[] Build(BoundSnapshot live, int port, PacketDescription d, List<string> notes)
    {
        DataplaneSnapshot tables = live.Tables;
        if (!Addresses.TryParseIp(d.Src, out byte version, out UInt128 src))
        {
            throw new ArgumentException($"source '{d.Src}' is not an IP address");
        }
        if (!Addresses.TryParseIp(d.Dst, out byte dstVersion, out UInt128 dst) || dstVersion != version)
        {
            throw new ArgumentException($"destination '{d.Dst}' is not an IPv{version} address");
        }
        int protocol = FlowFormat.ParseProtocol(d.Protocol.Length == 0 ? "udp" : d.Protocol);
        if (protocol is not (IpProtocols.Tcp or IpProtocols.Udp or IpProtocols.Icmp or IpProtocols.IcmpV6 or IpProtocols.Sctp))
        {
            throw new ArgumentException($"protocol '{d.Protocol}': use tcp, udp, icmp, icmpv6 or sctp");
        }
        if ((protocol == IpProtocols.Icmp && version != 4) || (protocol == IpProtocols.IcmpV6 && version != 6))
        {
            throw new ArgumentException($"{d.Protocol} needs IPv{(protocol == IpProtocols.Icmp ? 4 : 6)} addresses");
        }
        if (d.SrcPort > ushort.MaxValue || d.DstPort > ushort.MaxValue || d.PayloadLength > 8000 || d.Ttl > 255)
        {
            throw new ArgumentException("ports must be at most 65535, ttl at most 255, payload at most 8000 bytes");
        }
        byte[] packet = BuildIp(version, (byte)protocol, src, dst, d);
        PortEntry entry = tables.Ports[port];
        if (entry.Kind == PortKind.Vm)
        {
            ulong srcMac = VmMac(live, entry, d, notes);
            byte[] frame = new byte[PacketWriter.EthernetHeaderLength + packet.Length];
            PacketWriter.WriteEthernet(frame, entry.GatewayMac, srcMac, version == 4 ? EtherTypes.IPv4 : EtherTypes.IPv6);
            packet.CopyTo(frame.AsSpan(PacketWriter.EthernetHeaderLength));
            return frame;
        }
        UInt128 outerSrc = tables.Host.RouterUnderlay;
        if (d.UnderlaySrc.Length > 0 && !TryIPv6(d.UnderlaySrc, out outerSrc))
        {
            throw new ArgumentException($"underlay source '{d.UnderlaySrc}' is not an IPv6 address");
        }
        UInt128 outerDst;
        if (d.UnderlayDst.Length > 0)
        {
            if (!TryIPv6(d.UnderlayDst, out outerDst))
            {
                throw new ArgumentException($"underlay destination '{d.UnderlayDst}' is not an IPv6 address");
            }
        }
        else if (FindOwner(tables, version, dst, out outerDst, out string owner))
        {
            notes.Add($"underlay destination {Addresses.FormatIPv6(outerDst)} ({owner} owns {d.Dst}); pass --underlay-dst to choose another");
        }
        else
        {
            throw new ArgumentException($"no /128 of this host owns {d.Dst}: pass --underlay-dst");
        }
        ulong gatewayMac = live.Interfaces.GatewayMac != 0 ? live.Interfaces.GatewayMac : PlaceholderMac;
        byte[] outer = new byte[PacketWriter.IPinIPv6HeaderLength + packet.Length];
        PacketWriter.WriteIPinIPv6(outer, live.UplinkMac, gatewayMac, outerSrc, outerDst, version == 4 ? IpProtocols.IPv4InIp : IpProtocols.IPv6InIp, packet.Length, 1);
        packet.CopyTo(outer.AsSpan(PacketWriter.IPinIPv6HeaderLength));
        return outer;
    }

    private static byte[] BuildIp(byte version, byte protocol, UInt128 src, UInt128 dst, PacketDescription d)
    {
        int payload = (int)d.PayloadLength;
        int l4Header = protocol switch
        {
            IpProtocols.Tcp => PacketWriter.TcpHeaderLength,
            IpProtocols.Udp => PacketWriter.UdpHeaderLength,
            IpProtocols.Sctp => PacketWriter.SctpHeaderLength,
            _ => PacketWriter.IcmpHeaderLength,
        };
        int l3Header = version == 4 ? PacketWriter.IPv4HeaderLength : PacketWriter.IPv6HeaderLength;
        byte[] packet = new byte[l3Header + l4Header + payload];
        Span<byte> l4 = packet.AsSpan(l3Header);
        var pair = new IpAddressPair(version, src, dst);
        ushort srcPort = (ushort)d.SrcPort;
        ushort dstPort = (ushort)d.DstPort;
        int l4Length = protocol switch
        {
            IpProtocols.Tcp => PacketWriter.WriteTcp(l4, pair, srcPort, dstPort, 1, 0, ParseTcpFlags(d.TcpFlags), 65535, payload),
            IpProtocols.Udp => PacketWriter.WriteUdp(l4, pair, srcPort, dstPort, payload),
            IpProtocols.Sctp => PacketWriter.WriteSctp(l4, srcPort, dstPort, 0, payload),
            IpProtocols.Icmp => PacketWriter.WriteIcmpEcho(l4, reply: false, srcPort == 0 ? (ushort)1 : srcPort, 1, payload),
            _ => PacketWriter.WriteIcmpV6Echo(l4, src, dst, reply: false, srcPort == 0 ? (ushort)1 : srcPort, 1, payload),
        };
        byte ttl = d.Ttl == 0 ? (byte)64 : (byte)d.Ttl;
        if (version == 4)
        {
            PacketWriter.WriteIPv4(packet, (uint)src, (uint)dst, protocol, l4Length, ttl, dontFragment: true);
        }
        else
        {
            PacketWriter.WriteIPv6(packet, src, dst, protocol, l4Length, ttl);
        }
        return packet;
    }

    private static ulong VmMac(BoundSnapshot live, PortEntry entry, PacketDescription d, List<string> notes)
    {
        if (d.SrcMac.Length > 0)
        {
            return Addresses.TryParseMac(d.SrcMac, out ulong given) ? given : throw new ArgumentException($"'{d.SrcMac}' is not a MAC address");
        }
        int iface = entry.Interface;
        InterfaceEntry e = live.Tables.Interfaces[iface];
        ulong mac = e.PinnedMac != 0 ? e.PinnedMac : iface < live.Interfaces.Capacity ? live.Interfaces.VmMac(iface) : 0;
        if (mac == 0)
        {
            notes.Add($"the VM's MAC is not known yet (nothing learned): the frame comes from {Addresses.FormatMac(PlaceholderMac)}");
            return PlaceholderMac;
        }
        return mac;
    }

    /// <summary>The /128 of this host that owns <paramref name="ip"/>: an interface address, a VirtualIP, a NAT slice or a load balancer.</summary>
    private static bool FindOwner(DataplaneSnapshot tables, byte version, UInt128 ip, out UInt128 underlay, out string owner)
    {
        foreach (InterfaceEntry e in tables.Interfaces)
        {
            if (!e.Present)
            {
                continue;
            }
            (bool match, UInt128 where, string what) =
                version == 4 && e.HasIPv4 && e.IPv4 == (uint)ip ? (true, e.Underlay, "interface " + e.Id)
                : version == 6 && e.HasIPv6 && e.IPv6 == ip ? (true, e.Underlay, "interface " + e.Id)
                : Slice(version == 4 ? e.Vip4 : e.Vip6, ip) ? (true, (version == 4 ? e.Vip4 : e.Vip6).Underlay, "the VirtualIP of " + e.Id)
                : Nat(version == 4 ? e.Nat4 : e.Nat6, ip) ? (true, (version == 4 ? e.Nat4 : e.Nat6).Underlay, "the NAT slice of " + e.Id)
                : (false, UInt128.Zero, string.Empty);
            if (match)
            {
                (underlay, owner) = (where, what);
                return true;
            }
        }
        foreach (LoadBalancerEntry lb in tables.LoadBalancers)
        {
            foreach ((byte v, UInt128 address) in lb.Ips ?? [])
            {
                if (v == version && address == ip && lb.Id.Length > 0)
                {
                    (underlay, owner) = (lb.Underlay, "load balancer " + lb.Id);
                    return true;
                }
            }
        }
        (underlay, owner) = (UInt128.Zero, string.Empty);
        return false;
    }

    private static bool Slice(VirtualIpEntry vip, UInt128 ip) => vip.Present && vip.Ip == ip;

    private static bool Nat(NatSliceEntry nat, UInt128 ip) => nat.Present && nat.PublicIp == ip;

    private static bool TryIPv6(string text, out UInt128 value) => Addresses.TryParseIp(text, out byte version, out value) && version == 6;

    /// <summary>Letters out of SAFRPU; empty means SYN.</summary>
    public static byte ParseTcpFlags(string letters)
    {
        if (letters.Length == 0)
        {
            return 0x02;
        }
        byte flags = 0;
        foreach (char ch in letters.ToUpperInvariant())
        {
            flags |= ch switch
            {
                'F' => 0x01,
                'S' => 0x02,
                'R' => 0x04,
                'P' => 0x08,
                'A' => 0x10,
                'U' => 0x20,
                '.' => 0,
                _ => throw new ArgumentException($"TCP flag '{ch}': use letters out of SAFRPU"),
            };
        }
        return flags;
    }
}
