using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace MetalAgent.Packets.Tests;

public class ParserTests
{
    private static readonly UInt128 s_v6a = Addr6("fd00::1");
    private static readonly UInt128 s_v6b = Addr6("fd00::2");

    private static UInt128 Addr6(string s) => Addresses.ToUInt128(System.Net.IPAddress.Parse(s));

    private static uint Addr4(string s) => Addresses.ToUInt32(System.Net.IPAddress.Parse(s));

    private static (ParseError Error, PacketHeaders H) Parse(byte[] frame)
    {
        var h = default(PacketHeaders);
        ParseError e = PacketParser.ParseEthernet(frame, ref h);
        ParserPropertyTests.AssertSane(frame, e, h);
        return (e, h);
    }

    private static FrameSpec Udp4 => new()
    {
        IpVersion = 4,
        SrcIp = Addr4("10.0.0.1"),
        DstIp = Addr4("10.0.0.2"),
        SrcPort = 1000,
        DstPort = 53,
        Payload = new byte[10],
    };

    private static FrameSpec Udp6 => new()
    {
        IpVersion = 6,
        SrcIp = s_v6a,
        DstIp = s_v6b,
        SrcPort = 1000,
        DstPort = 53,
        Payload = new byte[10],
    };

    [Fact]
    public void PacketHeaders_is_at_most_128_bytes() => Assert.True(Unsafe.SizeOf<PacketHeaders>() <= 128, $"{Unsafe.SizeOf<PacketHeaders>()} bytes");

    [Fact]
    public void Udp_over_IPv4_with_padding_excludes_padding()
    {
        FrameSpec spec = Udp4 with { Padding = 20, Tos = 0xB8, Ttl = 3 };
        byte[] frame = spec.Build();
        (ParseError e, PacketHeaders h) = Parse(frame);
        Assert.Equal(ParseError.None, e);
        spec.AssertParsed(h, frame.Length);
        Assert.Equal(14 + 20 + 8 + 10, h.L3End);
        Assert.Equal(14 + 28, h.PayloadOffset);
    }

    [Fact]
    public void Vlan_and_QinQ_report_outer_tag_and_three_tags_are_rejected()
    {
        FrameSpec one = Udp4 with { Vlans = [100] };
        (ParseError e1, PacketHeaders h1) = Parse(one.Build());
        Assert.Equal(ParseError.None, e1);
        Assert.Equal(100, h1.VlanId);
        Assert.Equal(18, h1.L3Offset);

        FrameSpec two = Udp4 with { Vlans = [200, 300] };
        byte[] qinq = two.Build();
        (ParseError e2, PacketHeaders h2) = Parse(qinq);
        Assert.Equal(ParseError.None, e2);
        Assert.Equal(200, h2.VlanId);
        Assert.Equal(22, h2.L3Offset);
        Assert.Equal(EtherTypes.QinQ, BinaryPrimitives.ReadUInt16BigEndian(qinq.AsSpan(12)));

        // Turn the inner EtherType into a third tag.
        byte[] three = new byte[qinq.Length + 4];
        qinq.AsSpan(0, 20).CopyTo(three);
        BinaryPrimitives.WriteUInt16BigEndian(three.AsSpan(20), EtherTypes.Vlan);
        BinaryPrimitives.WriteUInt16BigEndian(three.AsSpan(22), 5);
        qinq.AsSpan(20).CopyTo(three.AsSpan(24));
        Assert.Equal(ParseError.TooManyVlanTags, Parse(three).Error);

        Assert.Equal(ParseError.TruncatedVlan, Parse(qinq[..17]).Error);
        Assert.Equal(ParseError.TruncatedEthernet, Parse(qinq[..13]).Error);
    }

    [Fact]
    public void Unknown_ethertype_and_oversized_buffers_are_named_errors()
    {
        byte[] frame = Udp4.Build();
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), 0x88CC); // LLDP
        Assert.Equal(ParseError.UnsupportedEtherType, Parse(frame).Error);
        Assert.Equal(ParseError.FrameTooLong, Parse(new byte[65536]).Error);
    }

    [Fact]
    public void Arp_request_fills_addresses_and_rejects_non_ethernet_ipv4()
    {
        FrameSpec spec = new() { IpVersion = 0, SrcIp = Addr4("10.0.0.5"), DstIp = Addr4("169.254.0.1"), ArpOp = 1, Padding = 18 };
        byte[] frame = spec.Build();
        (ParseError e, PacketHeaders h) = Parse(frame);
        Assert.Equal(ParseError.None, e);
        spec.AssertParsed(h, frame.Length);
        Assert.Equal(0, h.IpVersion);

        byte[] bad = (byte[])frame.Clone();
        bad[14 + 5] = 16; // protocol address length of IPv6
        Assert.Equal(ParseError.BadArp, Parse(bad).Error);
        bad = (byte[])frame.Clone();
        bad[14 + 7] = 3; // RARP request
        Assert.Equal(ParseError.BadArp, Parse(bad).Error);
        Assert.Equal(ParseError.TruncatedArp, Parse(frame[..(14 + 27)]).Error);
    }

    [Fact]
    public void IPv4_header_errors_are_named()
    {
        byte[] frame = Udp4.Build();
        byte[] f = (byte[])frame.Clone();
        f[14] = 0x55;
        Assert.Equal(ParseError.BadIPv4Version, Parse(f).Error);
        f = (byte[])frame.Clone();
        f[14] = 0x44;
        Assert.Equal(ParseError.BadIPv4HeaderLength, Parse(f).Error);
        f = (byte[])frame.Clone();
        f[14] = 0x4F; // 60-byte header in a 38-byte packet
        Assert.Equal(ParseError.TruncatedIPv4, Parse(f).Error);
        f = (byte[])frame.Clone();
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(16), 19);
        Assert.Equal(ParseError.BadIPv4TotalLength, Parse(f).Error);
        f = (byte[])frame.Clone();
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(16), (ushort)(frame.Length - 14 + 1));
        Assert.Equal(ParseError.BadIPv4TotalLength, Parse(f).Error);
        Assert.Equal(ParseError.TruncatedIPv4, Parse(frame[..33]).Error);
    }

    [Fact]
    public void IPv4_options_are_flagged_and_skipped()
    {
        FrameSpec spec = Udp4 with { IPv4OptionWords = 3 };
        (ParseError e, PacketHeaders h) = Parse(spec.Build());
        Assert.Equal(ParseError.None, e);
        Assert.True((h.Flags & PacketFlags.IPv4Options) != 0);
        Assert.Equal(14 + 32, h.L4Offset);
    }

    [Fact]
    public void IPv4_fragments_first_has_l4_others_do_not()
    {
        byte[] payload = new byte[24];
        byte[] first = new byte[14 + 20 + 8 + payload.Length];
        PacketWriter.WriteEthernet(first, 1, 2, EtherTypes.IPv4);
        // First fragment of a larger UDP datagram: the UDP length exceeds what this fragment holds.
        BinaryPrimitives.WriteUInt16BigEndian(first.AsSpan(34), 1234);
        BinaryPrimitives.WriteUInt16BigEndian(first.AsSpan(36), 80);
        BinaryPrimitives.WriteUInt16BigEndian(first.AsSpan(38), 1000);
        PacketWriter.WriteIPv4(first.AsSpan(14), 1, 2, IpProtocols.Udp, 8 + payload.Length, identification: 77, moreFragments: true);
        (ParseError e, PacketHeaders h) = Parse(first);
        Assert.Equal(ParseError.None, e);
        Assert.Equal(PacketFlags.Fragment | PacketFlags.FirstFragment | PacketFlags.MoreFragments | PacketFlags.HasL4,
            h.Flags & (PacketFlags.Fragment | PacketFlags.FirstFragment | PacketFlags.MoreFragments | PacketFlags.HasL4));
        Assert.Equal(1234, h.SrcPort);
        Assert.Equal(77u, h.FragmentId);
        Assert.Equal(L4ChecksumStatus.NotVerifiable, Checksums.VerifyL4(first, h));

        byte[] later = (byte[])first.Clone();
        PacketWriter.WriteIPv4(later.AsSpan(14), 1, 2, IpProtocols.Udp, 8 + payload.Length, identification: 77, fragmentOffset: 4);
        (e, h) = Parse(later);
        Assert.Equal(ParseError.None, e);
        Assert.Equal(PacketFlags.Fragment, h.Flags & (PacketFlags.Fragment | PacketFlags.FirstFragment | PacketFlags.MoreFragments | PacketFlags.HasL4));
        Assert.Equal(4, h.FragmentOffset);
        Assert.Equal(0, h.SrcPort);
        Assert.Equal(14 + 20, h.L4Offset);

        // Offset * 8 + length past 65535: "ping of death".
        PacketWriter.WriteIPv4(later.AsSpan(14), 1, 2, IpProtocols.Udp, 8 + payload.Length, fragmentOffset: 0x1FFF);
        Assert.Equal(ParseError.BadIPv4Fragment, Parse(later).Error);
    }

    [Fact]
    public void L4_header_errors_are_named()
    {
        byte[] tcp = (Udp4 with { Protocol = IpProtocols.Tcp, Payload = [] }).Build();
        tcp[14 + 20 + 12] = 0x40;
        Assert.Equal(ParseError.BadTcpDataOffset, Parse(tcp).Error);
        tcp[14 + 20 + 12] = 0x60; // 24 bytes in a 20-byte segment
        Assert.Equal(ParseError.BadTcpDataOffset, Parse(tcp).Error);

        byte[] udp = Udp4.Build();
        BinaryPrimitives.WriteUInt16BigEndian(udp.AsSpan(14 + 20 + 4), 7);
        Assert.Equal(ParseError.BadUdpLength, Parse(udp).Error);
        BinaryPrimitives.WriteUInt16BigEndian(udp.AsSpan(14 + 20 + 4), 19);
        Assert.Equal(ParseError.BadUdpLength, Parse(udp).Error);

        Assert.Equal(ParseError.TruncatedTcp, Parse(ShortL4(IpProtocols.Tcp, 19)).Error);
        Assert.Equal(ParseError.TruncatedUdp, Parse(ShortL4(IpProtocols.Udp, 7)).Error);
        Assert.Equal(ParseError.TruncatedSctp, Parse(ShortL4(IpProtocols.Sctp, 11)).Error);
        Assert.Equal(ParseError.TruncatedIcmp, Parse(ShortL4(IpProtocols.Icmp, 7)).Error);
        Assert.Equal(ParseError.None, Parse(ShortL4(IpProtocols.Sctp, 12)).Error);
    }

    private static byte[] ShortL4(byte protocol, int l4Length)
    {
        byte[] frame = new byte[14 + 20 + l4Length];
        PacketWriter.WriteEthernet(frame, 1, 2, EtherTypes.IPv4);
        PacketWriter.WriteIPv4(frame.AsSpan(14), 1, 2, protocol, l4Length);
        return frame;
    }

    [Fact]
    public void Icmp_echo_identifier_is_reported_as_both_ports()
    {
        FrameSpec v4 = Udp4 with { Protocol = IpProtocols.Icmp, IcmpType = IcmpTypes.EchoRequest, IcmpId = 4242, SrcPort = 0, DstPort = 0 };
        (_, PacketHeaders h) = Parse(v4.Build());
        Assert.Equal((4242, 4242, IcmpTypes.EchoRequest), (h.SrcPort, h.DstPort, h.IcmpType));
        FrameSpec v6 = Udp6 with { Protocol = IpProtocols.IcmpV6, IcmpType = IcmpTypes.V6EchoReply, IcmpId = 99, SrcPort = 0, DstPort = 0 };
        (_, h) = Parse(v6.Build());
        Assert.Equal((99, 99, IcmpTypes.V6EchoReply), (h.SrcPort, h.DstPort, h.IcmpType));
        byte[] shortV6 = new byte[54 + 7];
        PacketWriter.WriteEthernet(shortV6, 1, 2, EtherTypes.IPv6);
        PacketWriter.WriteIPv6(shortV6.AsSpan(14), s_v6a, s_v6b, IpProtocols.IcmpV6, 7);
        Assert.Equal(ParseError.TruncatedIcmpV6, Parse(shortV6).Error);
    }

    [Fact]
    public void IPv6_extension_chain_is_walked_to_the_upper_layer()
    {
        FrameSpec spec = Udp6 with
        {
            ExtensionHeaders = [IpProtocols.HopByHop, IpProtocols.Routing, IpProtocols.Fragment, IpProtocols.DestinationOptions],
            FragmentId = 0xDEADBEEF,
            FlowLabel = 0xABCDE,
            Tos = 0x2E,
        };
        byte[] frame = spec.Build();
        (ParseError e, PacketHeaders h) = Parse(frame);
        Assert.Equal(ParseError.None, e);
        spec.AssertParsed(h, frame.Length);
        Assert.Equal(IpProtocols.Udp, h.Protocol);
        Assert.Equal(0xDEADBEEFu, h.FragmentId);
    }

    [Fact]
    public void IPv6_structural_errors_are_named()
    {
        byte[] frame = Udp6.Build();
        byte[] f = (byte[])frame.Clone();
        f[14] = 0x50;
        Assert.Equal(ParseError.BadIPv6Version, Parse(f).Error);
        f = (byte[])frame.Clone();
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(18), 0);
        Assert.Equal(ParseError.TruncatedUdp, Parse(f).Error);
        f[20] = IpProtocols.HopByHop; // zero length + hop-by-hop: a jumbogram
        Assert.Equal(ParseError.BadIPv6PayloadLength, Parse(f).Error);
        f = (byte[])frame.Clone();
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(18), 100);
        Assert.Equal(ParseError.BadIPv6PayloadLength, Parse(f).Error);
        Assert.Equal(ParseError.TruncatedIPv6, Parse(frame[..53]).Error);

        // Zero payload with "no next header" is legitimate.
        byte[] empty = new byte[54];
        PacketWriter.WriteEthernet(empty, 1, 2, EtherTypes.IPv6);
        PacketWriter.WriteIPv6(empty.AsSpan(14), s_v6a, s_v6b, IpProtocols.NoNextHeader, 0);
        (ParseError e, PacketHeaders h) = Parse(empty);
        Assert.Equal(ParseError.None, e);
        Assert.Equal(IpProtocols.NoNextHeader, h.Protocol);
        Assert.Equal(54, h.L4Offset);

        // Hop-by-hop anywhere but first.
        byte[] misplaced = (Udp6 with { ExtensionHeaders = [IpProtocols.DestinationOptions, IpProtocols.HopByHop] }).Build();
        Assert.Equal(ParseError.MisplacedIPv6HopByHop, Parse(misplaced).Error);

        // Extension header longer than the payload.
        byte[] longExt = (Udp6 with { ExtensionHeaders = [IpProtocols.DestinationOptions] }).Build();
        longExt[54 + 1] = 10;
        Assert.Equal(ParseError.TruncatedIPv6ExtensionHeader, Parse(longExt).Error);
    }

    [Fact]
    public void IPv6_chain_longer_than_the_bound_is_rejected()
    {
        foreach (int count in new[] { PacketParser.MaxIPv6ExtensionHeaders, PacketParser.MaxIPv6ExtensionHeaders + 1 })
        {
            int length = 14 + 40 + (8 * count) + 8;
            byte[] frame = new byte[length];
            PacketWriter.WriteEthernet(frame, 1, 2, EtherTypes.IPv6);
            PacketWriter.WriteIPv6(frame.AsSpan(14), s_v6a, s_v6b, IpProtocols.DestinationOptions, (8 * count) + 8);
            for (int i = 0; i < count; i++)
            {
                PacketWriter.WriteIPv6OptionsHeader(frame.AsSpan(54 + (8 * i)), i + 1 < count ? IpProtocols.DestinationOptions : IpProtocols.Udp, []);
            }
            PacketWriter.WriteUdp(frame.AsSpan(length - 8), IpAddressPair.V6(s_v6a, s_v6b), 1, 2, 0);
            (ParseError e, PacketHeaders h) = Parse(frame);
            if (count <= PacketParser.MaxIPv6ExtensionHeaders)
            {
                Assert.Equal(ParseError.None, e);
                Assert.Equal(L4ChecksumStatus.Valid, Checksums.VerifyL4(frame, h));
            }
            else
            {
                Assert.Equal(ParseError.TooManyIPv6ExtensionHeaders, e);
            }
        }
    }

    [Fact]
    public void IPv6_fragments_follow_RFC_8200_rules()
    {
        // Non-first fragment: the data after the fragment header is opaque, even if it looks like a header.
        byte[] frame = new byte[14 + 40 + 8 + 16];
        PacketWriter.WriteEthernet(frame, 1, 2, EtherTypes.IPv6);
        PacketWriter.WriteIPv6(frame.AsSpan(14), s_v6a, s_v6b, IpProtocols.Fragment, 24);
        PacketWriter.WriteIPv6FragmentHeader(frame.AsSpan(54), IpProtocols.DestinationOptions, 100, true, 5);
        frame[62 + 1] = 200; // would be a huge options header
        (ParseError e, PacketHeaders h) = Parse(frame);
        Assert.Equal(ParseError.None, e);
        Assert.Equal(PacketFlags.Fragment | PacketFlags.MoreFragments | PacketFlags.IPv6ExtensionHeaders, h.Flags);
        Assert.Equal(100, h.FragmentOffset);
        Assert.Equal(IpProtocols.DestinationOptions, h.Protocol);
        Assert.Equal(62, h.L4Offset);

        // Non-final fragment whose length is not a multiple of 8.
        byte[] odd = new byte[14 + 40 + 8 + 13];
        PacketWriter.WriteEthernet(odd, 1, 2, EtherTypes.IPv6);
        PacketWriter.WriteIPv6(odd.AsSpan(14), s_v6a, s_v6b, IpProtocols.Fragment, 21);
        PacketWriter.WriteIPv6FragmentHeader(odd.AsSpan(54), IpProtocols.Udp, 0, true, 5);
        Assert.Equal(ParseError.BadIPv6Fragment, Parse(odd).Error);

        // Two fragment headers.
        byte[] twice = (Udp6 with { ExtensionHeaders = [IpProtocols.Fragment, IpProtocols.DestinationOptions] }).Build();
        twice[54] = IpProtocols.Fragment; // the destination options header becomes a second fragment header
        Assert.Equal(ParseError.BadIPv6Fragment, Parse(twice).Error);
    }

    [Fact]
    public void IP_in_IPv6_outer_then_inner()
    {
        FrameSpec inner = Udp4 with { Protocol = IpProtocols.Tcp, TcpFlags = TcpFlagBits.Syn, SrcPort = 40000, DstPort = 443 };
        FrameSpec outer = new()
        {
            IpVersion = 6,
            SrcIp = Addr6("fc00::1:0:0:1"),
            DstIp = Addr6("fc00::2:0:0:1"),
            FlowLabel = PacketWriter.FlowLabelFromHash(0x12345678),
            Protocol = IpProtocols.IPv4InIp,
            Inner = inner,
            Vlans = [7],
        };
        byte[] frame = outer.Build();
        (ParseError e, PacketHeaders h) = Parse(frame);
        Assert.Equal(ParseError.None, e);
        Assert.Equal(IpProtocols.IPv4InIp, h.Protocol);
        Assert.Equal(0, (int)(h.Flags & PacketFlags.HasL4));
        Assert.Equal(h.L4Offset, h.PayloadOffset);
        PacketHeaders i = h;
        Assert.Equal(ParseError.None, PacketParser.ParseIp(frame, h.L4Offset, ref i));
        inner.AssertIpFields(i, h.L4Offset);
        Assert.Equal(7, i.VlanId);
        Assert.Equal(L4ChecksumStatus.Valid, Checksums.VerifyL4(frame, i));

        var j = default(PacketHeaders);
        Assert.Equal(ParseError.TruncatedIp, PacketParser.ParseIp(frame, frame.Length, ref j));
        Assert.Equal(ParseError.TruncatedIp, PacketParser.ParseIp(frame, -1, ref j));
        Assert.Equal(ParseError.UnsupportedIpVersion, PacketParser.ParseIp(frame, 0, ref j));
    }

    [Fact]
    public void Underlay_header_writer_matches_IronCore_wire_format()
    {
        byte[] inner = Udp6.Build()[14..];
        byte[] frame = new byte[PacketWriter.IPinIPv6HeaderLength + inner.Length];
        inner.CopyTo(frame, PacketWriter.IPinIPv6HeaderLength);
        uint flow = PacketWriter.FlowLabelFromHash(0xFFF00000);
        Assert.NotEqual(0u, flow);
        Assert.Equal(54, PacketWriter.WriteIPinIPv6(frame, 0xAA, 0xBB, s_v6a, s_v6b, IpProtocols.IPv6InIp, inner.Length, flow));
        (ParseError e, PacketHeaders h) = Parse(frame);
        Assert.Equal(ParseError.None, e);
        Assert.Equal((64, IpProtocols.IPv6InIp, flow, 54), (h.Ttl, h.Protocol, h.FlowLabel, (int)h.L4Offset));
        PacketHeaders i = h;
        Assert.Equal(ParseError.None, PacketParser.ParseIp(frame, h.L4Offset, ref i));
        Assert.Equal((1000, 53), (i.SrcPort, i.DstPort));
        Assert.Equal(EtherTypes.IPv6, i.EtherType);
    }

    [Fact]
    public void Icmp_error_quote_yields_the_original_flow()
    {
        // A TCP/IPv4 packet and a "fragmentation needed" error quoting its header + 8 bytes.
        byte[] original = (Udp4 with { Protocol = IpProtocols.Tcp, SrcPort = 40000, DstPort = 443, Payload = new byte[1400] }).Build()[14..];
        int quoteLength = 20 + 8;
        byte[] frame = new byte[14 + 20 + 8 + quoteLength];
        original.AsSpan(0, quoteLength).CopyTo(frame.AsSpan(42));
        PacketWriter.WriteIcmp(frame.AsSpan(34), IcmpTypes.DestinationUnreachable, 4, 1400, quoteLength);
        PacketWriter.WriteIPv4(frame.AsSpan(14), Addr4("192.0.2.1"), Addr4("10.0.0.1"), IpProtocols.Icmp, 8 + quoteLength);
        PacketWriter.WriteEthernet(frame, 1, 2, EtherTypes.IPv4);
        (ParseError e, PacketHeaders h) = Parse(frame);
        Assert.Equal(ParseError.None, e);
        Assert.Equal(L4ChecksumStatus.Valid, Checksums.VerifyL4(frame, h));
        PacketHeaders quoted = h;
        Assert.Equal(ParseError.None, PacketParser.ParseQuotedIp(frame.AsSpan(0, h.L3End), h.L4Offset + 8, ref quoted));
        Assert.Equal((Addr4("10.0.0.1"), Addr4("10.0.0.2"), IpProtocols.Tcp), ((uint)quoted.SrcIp, (uint)quoted.DstIp, quoted.Protocol));
        Assert.Equal((40000, 443), (quoted.SrcPort, quoted.DstPort));
        Assert.Equal(PacketFlags.Quoted | PacketFlags.HasL4, quoted.Flags & (PacketFlags.Quoted | PacketFlags.HasL4));
        Assert.Equal(frame.Length, quoted.L3End);
        Assert.Equal(L4ChecksumStatus.NotVerifiable, Checksums.VerifyL4(frame, quoted));
        // The same bytes are not a whole packet.
        PacketHeaders whole = h;
        Assert.Equal(ParseError.BadIPv4TotalLength, PacketParser.ParseIp(frame.AsSpan(0, h.L3End), h.L4Offset + 8, ref whole));
    }
}
