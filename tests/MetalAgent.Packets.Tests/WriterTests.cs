using System.Buffers.Binary;

namespace MetalAgent.Packets.Tests;

public class WriterTests
{
    [Fact]
    public void IPv6_options_header_pads_with_pad1_and_padn()
    {
        byte[] b = new byte[16];
        Assert.Equal(8, PacketWriter.WriteIPv6OptionsHeader(b, IpProtocols.Udp, [5, 3, 1, 2, 3]));
        Assert.Equal([IpProtocols.Udp, 0, 5, 3, 1, 2, 3, 0], b[..8]); // one Pad1
        b = new byte[16];
        Assert.Equal(8, PacketWriter.WriteIPv6OptionsHeader(b, IpProtocols.Tcp, [5, 2, 1, 2]));
        Assert.Equal([IpProtocols.Tcp, 0, 5, 2, 1, 2, 1, 0], b[..8]); // PadN of 2
        b = new byte[16];
        Assert.Equal(16, PacketWriter.WriteIPv6OptionsHeader(b, IpProtocols.Tcp, [5, 5, 1, 2, 3, 4, 5]));
        Assert.Equal([IpProtocols.Tcp, 1, 5, 5, 1, 2, 3, 4, 5, 1, 5, 0, 0, 0, 0, 0], b);
    }

    [Fact]
    public void IPv6_fragment_header_layout()
    {
        byte[] b = new byte[8];
        PacketWriter.WriteIPv6FragmentHeader(b, IpProtocols.Udp, 185, true, 0x01020304);
        Assert.Equal([17, 0, 0x05, 0xC9, 1, 2, 3, 4], b);
    }

    [Fact]
    public void Vlan_writers_set_tpids_and_tci()
    {
        byte[] b = new byte[22];
        Assert.Equal(18, PacketWriter.WriteEthernetVlan(b, 1, 2, 0xABC, EtherTypes.IPv4, priority: 5));
        Assert.Equal(0x8100, BinaryPrimitives.ReadUInt16BigEndian(b.AsSpan(12)));
        Assert.Equal((5 << 13) | 0xABC, BinaryPrimitives.ReadUInt16BigEndian(b.AsSpan(14)));
        Assert.Equal(EtherTypes.IPv4, BinaryPrimitives.ReadUInt16BigEndian(b.AsSpan(16)));
        Assert.Equal(22, PacketWriter.WriteEthernetQinQ(b, 1, 2, 10, 20, EtherTypes.IPv6));
        Assert.Equal([0x88, 0xA8, 0, 10, 0x81, 0x00, 0, 20, 0x86, 0xDD], b[12..22]);
        Assert.Throws<ArgumentOutOfRangeException>(() => PacketWriter.WriteEthernetVlan(new byte[18], 1, 2, 4096, EtherTypes.IPv4));
    }

    [Fact]
    public void Writers_reject_invalid_arguments()
    {
        Assert.Throws<ArgumentException>(() => PacketWriter.WriteIPv4(new byte[64], 1, 2, 6, 0, options: new byte[3]));
        Assert.Throws<ArgumentException>(() => PacketWriter.WriteTcp(new byte[64], IpAddressPair.V4(1, 2), 1, 2, 0, 0, 0, 0, 0, new byte[44]));
        Assert.Throws<ArgumentOutOfRangeException>(() => PacketWriter.WriteIPv6(new byte[40], 1, 2, 6, 0, flowLabel: 0x100000));
        Assert.Throws<ArgumentOutOfRangeException>(() => PacketWriter.WriteIPinIPv6(new byte[54], 1, 2, 3, 4, IpProtocols.Udp, 0, 0));
        Assert.Throws<ArgumentException>(() => PacketWriter.WriteIPv6RoutingHeader(new byte[16], 6, 0, 0, new byte[3]));
        Assert.Throws<ArgumentOutOfRangeException>(() => PacketWriter.WriteUdp(new byte[8], IpAddressPair.V4(1, 2), 1, 2, 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => new IpAddressPair(5, 1, 2));
    }

    [Fact]
    public void Flow_label_from_hash_is_20_bits_and_never_zero()
    {
        foreach (uint hash in new uint[] { 0, 1, 0xFFFFF, 0x100000, 0xFFFFFFFF, 0x00100001 })
        {
            uint label = PacketWriter.FlowLabelFromHash(hash);
            Assert.InRange(label, 1u, 0xFFFFFu);
        }
        Assert.NotEqual(PacketWriter.FlowLabelFromHash(0x12345), PacketWriter.FlowLabelFromHash(0x12346));
    }

    [Fact]
    public void Arp_reply_parses_back()
    {
        byte[] frame = new byte[60];
        PacketWriter.WriteEthernet(frame, 0x020000000005, 0x020000000001, EtherTypes.Arp);
        PacketWriter.WriteArp(frame.AsSpan(14), 2, 0x020000000001, 0xA9FE0001, 0x020000000005, 0x0A000005);
        var h = default(PacketHeaders);
        Assert.Equal(ParseError.None, PacketParser.ParseEthernet(frame, ref h));
        Assert.Equal((2, 0x020000000001UL, (UInt128)0xA9FE0001, (UInt128)0x0A000005), (h.ArpOp, h.ArpSenderMac, h.SrcIp, h.DstIp));
        Assert.Equal(42, h.L3End);
    }

    [Fact]
    public void Icmp_echo_writers()
    {
        byte[] icmp = new byte[12];
        Assert.Equal(12, PacketWriter.WriteIcmpEcho(icmp, reply: true, 7, 9, 4));
        Assert.True(Checksums.VerifyIcmpV4(icmp));
        Assert.Equal([0, 0], icmp[..2]);
        // An all-zero echo reply must still carry a verifiable (0xFFFF) checksum.
        byte[] zero = new byte[8];
        PacketWriter.WriteIcmpEcho(zero, reply: true, 0, 0, 0);
        Assert.Equal(0xFFFF, BinaryPrimitives.ReadUInt16BigEndian(zero.AsSpan(2)));
        Assert.True(Checksums.VerifyIcmpV4(zero));
        byte[] v6 = new byte[8];
        PacketWriter.WriteIcmpV6Echo(v6, 1, 2, reply: false, 3, 4, 0);
        Assert.True(Checksums.VerifyIPv6Transport(1, 2, IpProtocols.IcmpV6, v6));
    }
}
