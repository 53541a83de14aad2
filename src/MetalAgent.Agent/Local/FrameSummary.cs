using System.Globalization;
using System.Text;
using MetalAgent.Packets;

namespace MetalAgent.Agent.Local;

/// <summary>One line describing a frame's headers, IP-in-IPv6 shown as "outer | inner", for trace output.</summary>
public static class FrameSummary
{
    public static string Describe(ReadOnlySpan<byte> frame)
    {
        var h = default(PacketHeaders);
        ParseError error = PacketParser.ParseEthernet(frame, ref h);
        var b = new StringBuilder();
        b.Append(CultureInfo.InvariantCulture, $"{Addresses.FormatMac(h.SrcMac)} > {Addresses.FormatMac(h.DstMac)}");
        if (h.VlanId != 0)
        {
            b.Append(CultureInfo.InvariantCulture, $" vlan {h.VlanId}");
        }
        if (error != ParseError.None)
        {
            return b.Append(CultureInfo.InvariantCulture, $", unparsable: {error}").ToString();
        }
        if (h.IpVersion == 0)
        {
            return b.Append(h.ArpOp == 1 ? ", ARP who-has " : ", ARP reply ").Append(Addresses.FormatIPv4((uint)h.DstIp))
                .Append(h.ArpOp == 1 ? " tell " : " from ").Append(Addresses.FormatIPv4((uint)h.SrcIp)).ToString();
        }
        b.Append(", ");
        AppendIp(b, in h);
        if (h.IpVersion == 6 && h.Protocol is IpProtocols.IPv4InIp or IpProtocols.IPv6InIp)
        {
            var inner = default(PacketHeaders);
            if (PacketParser.ParseIp(frame[..h.L3End], h.L4Offset, ref inner) == ParseError.None)
            {
                b.Append(" | ");
                AppendIp(b, in inner);
            }
            else
            {
                b.Append(" | unparsable inner packet");
            }
        }
        return b.ToString();
    }

    private static void AppendIp(StringBuilder b, in PacketHeaders h)
    {
        string proto = Local.FlowFormat.ProtocolName(h.Protocol);
        bool ports = (h.Flags & PacketFlags.HasL4) != 0 && h.Protocol is IpProtocols.Tcp or IpProtocols.Udp or IpProtocols.Sctp;
        b.Append(h.IpVersion == 4 ? "IPv4 " : "IPv6 ");
        b.Append(Endpoint(h.IpVersion, h.SrcIp, ports ? h.SrcPort : (ushort)0)).Append(" > ").Append(Endpoint(h.IpVersion, h.DstIp, ports ? h.DstPort : (ushort)0));
        b.Append(' ').Append(proto);
        if (h.Protocol == IpProtocols.Tcp && (h.Flags & PacketFlags.HasL4) != 0)
        {
            b.Append(" [").Append(TcpFlags(h.TcpFlags)).Append(']');
        }
        if (h.Protocol is IpProtocols.Icmp or IpProtocols.IcmpV6 && (h.Flags & PacketFlags.HasL4) != 0)
        {
            b.Append(CultureInfo.InvariantCulture, $" type {h.IcmpType} code {h.IcmpCode}");
        }
        b.Append(CultureInfo.InvariantCulture, $" ttl {h.Ttl} len {h.L3End - h.L3Offset}");
        if ((h.Flags & PacketFlags.Fragment) != 0)
        {
            b.Append(CultureInfo.InvariantCulture, $" frag offset {h.FragmentOffset * 8}{((h.Flags & PacketFlags.MoreFragments) != 0 ? "+" : string.Empty)}");
        }
    }

    private static string Endpoint(byte version, UInt128 ip, ushort port)
    {
        string text = Addresses.FormatIp(version, ip);
        return port == 0 ? text : version == 6 ? $"[{text}]:{port}" : $"{text}:{port}";
    }

    /// <summary>TCP flags as letters (S, A, F, R, P, U).</summary>
    public static string TcpFlags(byte flags)
    {
        var b = new StringBuilder(6);
        (byte Bit, char Letter)[] letters = [(0x02, 'S'), (0x10, 'A'), (0x01, 'F'), (0x04, 'R'), (0x08, 'P'), (0x20, 'U')];
        foreach ((byte bit, char letter) in letters)
        {
            if ((flags & bit) != 0)
            {
                b.Append(letter);
            }
        }
        return b.Length == 0 ? "." : b.ToString();
    }
}
