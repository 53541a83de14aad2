using System.Buffers.Binary;
using CsCheck;

namespace MetalAgent.Packets.Tests;

/// <summary>A test frame described by its fields, built with the library's span writers into a
/// byte[] (tests may allocate). <see cref="AssertParsed"/> checks a parse against the fields.</summary>
internal sealed record FrameSpec
{
    public ulong DstMac { get; init; } = 0x02_00_00_00_00_01;
    public ulong SrcMac { get; init; } = 0x02_00_00_00_00_02;
    public ushort[] Vlans { get; init; } = [];
    /// <summary>4, 6, or 0 for ARP.</summary>
    public byte IpVersion { get; init; } = 4;
    public UInt128 SrcIp { get; init; }
    public UInt128 DstIp { get; init; }
    public byte Ttl { get; init; } = 64;
    public byte Tos { get; init; }
    public ushort Identification { get; init; }
    public bool DontFragment { get; init; }
    public int IPv4OptionWords { get; init; }
    public uint FlowLabel { get; init; }
    /// <summary>IPv6 extension headers in order: 0 (first only), 43, 44 (atomic fragment), 60.</summary>
    public byte[] ExtensionHeaders { get; init; } = [];
    public uint FragmentId { get; init; }
    /// <summary>6, 17, 132, 1 (IPv4) / 58 (IPv6), 4 / 41 with <see cref="Inner"/>, or 47 (GRE, no L4 parse).</summary>
    public byte Protocol { get; init; } = IpProtocols.Udp;
    public ushort SrcPort { get; init; }
    public ushort DstPort { get; init; }
    public byte TcpFlags { get; init; }
    public int TcpOptionWords { get; init; }
    public uint TcpSequence { get; init; }
    public byte IcmpType { get; init; }
    public byte IcmpCode { get; init; }
    public ushort IcmpId { get; init; }
    public byte[] Payload { get; init; } = [];
    /// <summary>Ethernet trailer after the IP packet (padding to 60 bytes and more).</summary>
    public int Padding { get; init; }
    /// <summary>Inner packet (no L2 fields used) of an IP-in-IP frame.</summary>
    public FrameSpec? Inner { get; init; }
    public ushort ArpOp { get; init; } = 1;
    public ulong ArpTargetMac { get; init; }

    public int L2Length => PacketWriter.EthernetHeaderLength + (4 * Vlans.Length);

    public int IpHeaderLength => IpVersion == 4 ? 20 + (4 * IPv4OptionWords) : 40 + ExtensionHeaderLength;

    public int ExtensionHeaderLength
    {
        get
        {
            int n = 0;
            foreach (byte e in ExtensionHeaders)
            {
                n += e == IpProtocols.Fragment ? 8 : ExtensionLength(e);
            }
            return n;
        }
    }

    public int L4HeaderLength => Protocol switch
    {
        IpProtocols.Tcp => 20 + (4 * TcpOptionWords),
        IpProtocols.Udp => 8,
        IpProtocols.Sctp => 12,
        IpProtocols.Icmp or IpProtocols.IcmpV6 => 8,
        _ => 0,
    };

    public int L4PayloadLength => Inner is not null ? Inner.IpLength : Payload.Length;

    public int IpLength => IpVersion == 0 ? PacketWriter.ArpLength : IpHeaderLength + L4HeaderLength + L4PayloadLength;

    public byte[] Build()
    {
        var frame = new byte[L2Length + IpLength + Padding];
        for (int i = frame.Length - Padding; i < frame.Length; i++)
        {
            frame[i] = 0xA5;
        }
        ushort etherType = IpVersion switch { 4 => EtherTypes.IPv4, 6 => EtherTypes.IPv6, _ => EtherTypes.Arp };
        switch (Vlans.Length)
        {
            case 0:
                PacketWriter.WriteEthernet(frame, DstMac, SrcMac, etherType);
                break;
            case 1:
                PacketWriter.WriteEthernetVlan(frame, DstMac, SrcMac, Vlans[0], etherType);
                break;
            default:
                PacketWriter.WriteEthernetQinQ(frame, DstMac, SrcMac, Vlans[0], Vlans[1], etherType);
                break;
        }
        if (IpVersion == 0)
        {
            PacketWriter.WriteArp(frame.AsSpan(L2Length), ArpOp, SrcMac, (uint)SrcIp, ArpTargetMac, (uint)DstIp);
        }
        else
        {
            WriteIp(frame.AsSpan(L2Length, IpLength));
        }
        return frame;
    }

    /// <summary>Writes the IP packet (no L2) into exactly <see cref="IpLength"/> bytes.</summary>
    public void WriteIp(Span<byte> ip)
    {
        int l4 = IpHeaderLength;
        Span<byte> segment = ip[l4..];
        int l4Header = L4HeaderLength;
        if (Inner is not null)
        {
            Inner.WriteIp(segment);
        }
        else
        {
            Payload.CopyTo(segment[l4Header..]);
        }
        var pair = new IpAddressPair(IpVersion, SrcIp, DstIp);
        switch (Protocol)
        {
            case IpProtocols.Tcp:
                byte[] options = new byte[4 * TcpOptionWords];
                Array.Fill(options, (byte)1); // NOPs
                PacketWriter.WriteTcp(segment, pair, SrcPort, DstPort, TcpSequence, 0, TcpFlags, 1024, Payload.Length, options);
                break;
            case IpProtocols.Udp:
                PacketWriter.WriteUdp(segment, pair, SrcPort, DstPort, Payload.Length);
                break;
            case IpProtocols.Sctp:
                PacketWriter.WriteSctp(segment, SrcPort, DstPort, 0x1234_5678, Payload.Length);
                break;
            case IpProtocols.Icmp:
                PacketWriter.WriteIcmp(segment, IcmpType, IcmpCode, ((uint)IcmpId << 16) | 7, Payload.Length);
                break;
            case IpProtocols.IcmpV6:
                PacketWriter.WriteIcmpV6(segment, SrcIp, DstIp, IcmpType, IcmpCode, ((uint)IcmpId << 16) | 7, Payload.Length);
                break;
            default:
                break;
        }
        int payloadLength = ip.Length - (IpVersion == 4 ? IpHeaderLength : 40);
        if (IpVersion == 4)
        {
            byte[] options = new byte[4 * IPv4OptionWords];
            Array.Fill(options, (byte)1); // NOPs
            if (options.Length > 0)
            {
                options[^1] = 0; // end of option list
            }
            PacketWriter.WriteIPv4(ip, (uint)SrcIp, (uint)DstIp, Protocol, payloadLength, Ttl, Tos, Identification, DontFragment, options: options);
        }
        else
        {
            byte first = ExtensionHeaders.Length > 0 ? ExtensionHeaders[0] : Protocol;
            PacketWriter.WriteIPv6(ip, SrcIp, DstIp, first, payloadLength, Ttl, Tos, FlowLabel);
            int pos = 40;
            for (int i = 0; i < ExtensionHeaders.Length; i++)
            {
                byte next = i + 1 < ExtensionHeaders.Length ? ExtensionHeaders[i + 1] : Protocol;
                pos += WriteExtension(ip[pos..], ExtensionHeaders[i], next, i);
            }
        }
    }

    private int WriteExtension(Span<byte> dst, byte type, byte next, int index)
    {
        switch (type)
        {
            case IpProtocols.Fragment:
                return PacketWriter.WriteIPv6FragmentHeader(dst, next, 0, false, FragmentId);
            case IpProtocols.Routing:
                return PacketWriter.WriteIPv6RoutingHeader(dst, next, 4, 0, new byte[ExtensionLength(type) - 4]);
            default:
                // Options of varying length so padding paths are exercised.
                byte[] options = new byte[(index * 3) % 9];
                if (options.Length >= 2)
                {
                    options[0] = 1; // PadN
                    options[1] = (byte)(options.Length - 2);
                }
                return PacketWriter.WriteIPv6OptionsHeader(dst, next, options);
        }
    }

    private int ExtensionLength(byte type)
    {
        int index = Array.IndexOf(ExtensionHeaders, type);
        return type switch
        {
            IpProtocols.Fragment => 8,
            IpProtocols.Routing => 24,
            _ => ((((index * 3) % 9) + 2 + 7) / 8) * 8,
        };
    }

    /// <summary>Checks a successful parse of <see cref="Build"/>'s frame against the spec.</summary>
    public void AssertParsed(in PacketHeaders h, int frameLength)
    {
        Assert.Equal(DstMac, h.DstMac);
        Assert.Equal(SrcMac, h.SrcMac);
        Assert.Equal(Vlans.Length > 0 ? Vlans[0] : 0, h.VlanId);
        Assert.Equal(Vlans.Length > 0, (h.Flags & PacketFlags.Vlan) != 0);
        Assert.Equal(L2Length, h.L3Offset);
        Assert.Equal(frameLength - Padding, h.L3End);
        AssertIpFields(h, L2Length);
    }

    public void AssertIpFields(in PacketHeaders h, int l3Offset)
    {
        Assert.Equal(IpVersion, h.IpVersion);
        Assert.Equal(SrcIp, h.SrcIp);
        Assert.Equal(DstIp, h.DstIp);
        Assert.Equal(l3Offset + IpLength, h.L3End);
        if (IpVersion == 0)
        {
            Assert.Equal(EtherTypes.Arp, h.EtherType);
            Assert.Equal(ArpOp, h.ArpOp);
            Assert.Equal(SrcMac, h.ArpSenderMac);
            return;
        }
        Assert.Equal(IpVersion == 4 ? EtherTypes.IPv4 : EtherTypes.IPv6, h.EtherType);
        Assert.Equal(Ttl, h.Ttl);
        Assert.Equal(Tos, h.Tos);
        Assert.Equal(Protocol, h.Protocol);
        Assert.Equal(l3Offset + IpHeaderLength, h.L4Offset);
        Assert.Equal(l3Offset + IpHeaderLength + L4HeaderLength, h.PayloadOffset);
        bool hasL4 = L4HeaderLength > 0;
        Assert.Equal(hasL4, (h.Flags & PacketFlags.HasL4) != 0);
        if (IpVersion == 4)
        {
            Assert.Equal(Identification, h.FragmentId);
            Assert.Equal(DontFragment, (h.Flags & PacketFlags.DontFragment) != 0);
            Assert.Equal(IPv4OptionWords > 0, (h.Flags & PacketFlags.IPv4Options) != 0);
            Assert.Equal(0, (int)(h.Flags & PacketFlags.Fragment));
        }
        else
        {
            Assert.Equal(FlowLabel, h.FlowLabel);
            Assert.Equal(ExtensionHeaders.Length > 0, (h.Flags & PacketFlags.IPv6ExtensionHeaders) != 0);
            bool fragment = Array.IndexOf(ExtensionHeaders, IpProtocols.Fragment) >= 0;
            Assert.Equal(fragment ? PacketFlags.Fragment | PacketFlags.FirstFragment : PacketFlags.None,
                h.Flags & (PacketFlags.Fragment | PacketFlags.FirstFragment | PacketFlags.MoreFragments));
            if (fragment)
            {
                Assert.Equal(FragmentId, h.FragmentId);
            }
        }
        switch (Protocol)
        {
            case IpProtocols.Tcp:
                Assert.Equal(TcpFlags, h.TcpFlags);
                goto case IpProtocols.Udp;
            case IpProtocols.Udp:
            case IpProtocols.Sctp:
                Assert.Equal(SrcPort, h.SrcPort);
                Assert.Equal(DstPort, h.DstPort);
                break;
            case IpProtocols.Icmp:
            case IpProtocols.IcmpV6:
                Assert.Equal(IcmpType, h.IcmpType);
                Assert.Equal(IcmpCode, h.IcmpCode);
                bool echo = IcmpType is IcmpTypes.EchoRequest or IcmpTypes.EchoReply or IcmpTypes.V6EchoRequest or IcmpTypes.V6EchoReply
                    && (IcmpType < 128) == (Protocol == IpProtocols.Icmp);
                Assert.Equal(echo ? IcmpId : 0, h.SrcPort);
                Assert.Equal(echo ? IcmpId : 0, h.DstPort);
                break;
            default:
                break;
        }
    }

    // ---- generators ----

    private static readonly Gen<ulong> s_mac = Gen.ULong[0, 0xFFFF_FFFF_FFFF];
    private static readonly Gen<UInt128> s_ipv6 = Gen.Select(Gen.ULong, Gen.ULong, (hi, lo) => ((UInt128)hi << 64) | lo);
    private static readonly Gen<byte[]> s_payload = Gen.Byte.Array[0, 64];
    private static readonly Gen<ushort[]> s_vlans = Gen.UShort[0, 4095].Array[0, 2];

    private static readonly Gen<(byte Protocol, byte IcmpType)> s_l4v4 = Gen.OneOf(
        Gen.Const((IpProtocols.Tcp, (byte)0)),
        Gen.Const((IpProtocols.Udp, (byte)0)),
        Gen.Const((IpProtocols.Sctp, (byte)0)),
        Gen.Const((IpProtocols.Icmp, IcmpTypes.EchoRequest)),
        Gen.Const((IpProtocols.Icmp, IcmpTypes.EchoReply)),
        Gen.Const((IpProtocols.Icmp, IcmpTypes.DestinationUnreachable)),
        Gen.Const(((byte)47, (byte)0)));

    private static readonly Gen<(byte Protocol, byte IcmpType)> s_l4v6 = Gen.OneOf(
        Gen.Const((IpProtocols.Tcp, (byte)0)),
        Gen.Const((IpProtocols.Udp, (byte)0)),
        Gen.Const((IpProtocols.Sctp, (byte)0)),
        Gen.Const((IpProtocols.IcmpV6, IcmpTypes.V6EchoRequest)),
        Gen.Const((IpProtocols.IcmpV6, IcmpTypes.V6EchoReply)),
        Gen.Const((IpProtocols.IcmpV6, IcmpTypes.V6PacketTooBig)),
        Gen.Const(((byte)47, (byte)0)));

    private static readonly Gen<byte[]> s_extensions = Gen.OneOf(
        Gen.Const(Array.Empty<byte>()),
        Gen.Const(new[] { IpProtocols.HopByHop }),
        Gen.Const(new[] { IpProtocols.Fragment }),
        Gen.Const(new[] { IpProtocols.HopByHop, IpProtocols.Routing, IpProtocols.Fragment, IpProtocols.DestinationOptions }),
        Gen.Const(new[] { IpProtocols.DestinationOptions, IpProtocols.Routing }));

    /// <summary>IPv4 packets (no L2 fields meaningful) with any L4.</summary>
    public static readonly Gen<FrameSpec> IPv4 = Gen.Select(
        Gen.UInt, Gen.UInt, Gen.Byte, Gen.Byte, Gen.UShort, Gen.Bool, Gen.Int[0, 10], s_l4v4,
        Gen.UShort, Gen.UShort, Gen.Byte, Gen.Int[0, 10], Gen.UShort, s_payload, Gen.UInt,
        (src, dst, ttl, tos, id, df, optionWords, l4, sport, dport, tcpFlags, tcpWords, icmpId, payload, seq) => new FrameSpec
        {
            IpVersion = 4,
            SrcIp = src,
            DstIp = dst,
            Ttl = ttl,
            Tos = tos,
            Identification = id,
            DontFragment = df,
            IPv4OptionWords = optionWords,
            Protocol = l4.Protocol,
            IcmpType = l4.IcmpType,
            SrcPort = l4.Protocol is IpProtocols.Tcp or IpProtocols.Udp or IpProtocols.Sctp ? sport : (ushort)0,
            DstPort = l4.Protocol is IpProtocols.Tcp or IpProtocols.Udp or IpProtocols.Sctp ? dport : (ushort)0,
            TcpFlags = l4.Protocol == IpProtocols.Tcp ? tcpFlags : (byte)0,
            TcpOptionWords = l4.Protocol == IpProtocols.Tcp ? tcpWords : 0,
            TcpSequence = seq,
            IcmpId = icmpId,
            Payload = payload,
        });

    /// <summary>IPv6 packets with extension headers and any L4.</summary>
    public static readonly Gen<FrameSpec> IPv6 = Gen.Select(
        s_ipv6, s_ipv6, Gen.Byte, Gen.Byte, Gen.UInt[0, 0xFFFFF], s_extensions, Gen.UInt, s_l4v6,
        Gen.UShort, Gen.UShort, Gen.Byte, Gen.Int[0, 10], Gen.UShort, s_payload,
        (src, dst, hop, tc, flow, ext, fragmentId, l4, sport, dport, tcpFlags, tcpWords, icmpId, payload) => new FrameSpec
        {
            IpVersion = 6,
            SrcIp = src,
            DstIp = dst,
            Ttl = hop,
            Tos = tc,
            FlowLabel = flow,
            ExtensionHeaders = ext,
            FragmentId = fragmentId,
            Protocol = l4.Protocol,
            IcmpType = l4.IcmpType,
            SrcPort = l4.Protocol is IpProtocols.Tcp or IpProtocols.Udp or IpProtocols.Sctp ? sport : (ushort)0,
            DstPort = l4.Protocol is IpProtocols.Tcp or IpProtocols.Udp or IpProtocols.Sctp ? dport : (ushort)0,
            TcpFlags = l4.Protocol == IpProtocols.Tcp ? tcpFlags : (byte)0,
            TcpOptionWords = l4.Protocol == IpProtocols.Tcp ? tcpWords : 0,
            IcmpId = icmpId,
            Payload = payload,
        });

    /// <summary>IronCore underlay: IPv6 carrying IPv4 (4) or IPv6 (41), hop limit 64.</summary>
    public static readonly Gen<FrameSpec> IPinIPv6 = Gen.Select(s_ipv6, s_ipv6, Gen.UInt[0, 0xFFFFF], Gen.OneOf(IPv4, IPv6), (src, dst, flow, inner) => new FrameSpec
    {
        IpVersion = 6,
        SrcIp = src,
        DstIp = dst,
        Ttl = PacketWriter.UnderlayHopLimit,
        FlowLabel = flow,
        Protocol = inner.IpVersion == 4 ? IpProtocols.IPv4InIp : IpProtocols.IPv6InIp,
        Inner = inner,
    });

    public static readonly Gen<FrameSpec> Arp = Gen.Select(Gen.UInt, Gen.UInt, Gen.Int[1, 2], s_mac, (src, dst, op, target) => new FrameSpec
    {
        IpVersion = 0,
        SrcIp = src,
        DstIp = dst,
        ArpOp = (ushort)op,
        ArpTargetMac = target,
        Protocol = 0,
    });

    /// <summary>Complete frames: L2 (0-2 VLAN tags, padding) around any of the packet kinds.</summary>
    public static readonly Gen<FrameSpec> Frame = Gen.Select(
        s_mac, s_mac, s_vlans, Gen.Int[0, 24], Gen.Frequency((3, IPv4), (3, IPv6), (2, IPinIPv6), (1, Arp)),
        (dstMac, srcMac, vlans, padding, packet) => packet with { DstMac = dstMac, SrcMac = srcMac, Vlans = vlans, Padding = padding });

    /// <summary>Deterministic sampling: the same inputs on every run (CsCheck's Sample picks a new
    /// random seed per run). On failure the message names the iteration and input.</summary>
    public static void ForAll<T>(Gen<T> gen, int iterations, ulong seed, Action<T> check)
    {
        var pcg = new PCG(1, seed);
        for (int i = 0; i < iterations; i++)
        {
            T value = gen.Generate(pcg, null, out _);
            try
            {
                check(value);
            }
            catch (Exception e)
            {
                throw new InvalidOperationException($"property failed at iteration {i} (seed {seed}) for {value}", e);
            }
        }
    }

    public static ushort ReadUInt16(ReadOnlySpan<byte> s, int offset) => BinaryPrimitives.ReadUInt16BigEndian(s[offset..]);
}
