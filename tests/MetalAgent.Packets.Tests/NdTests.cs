using System.Net;
using PacketDotNet;

namespace MetalAgent.Packets.Tests;

public class NdTests
{
    private static readonly UInt128 s_vm = Addresses.ToUInt128(IPAddress.Parse("fe80::aa"));
    private static readonly UInt128 s_gateway = Addresses.ToUInt128(IPAddress.Parse("fe80::1"));
    private static readonly UInt128 s_solicitedNode = Addresses.ToUInt128(IPAddress.Parse("ff02::1:ff00:1"));
    private static readonly UInt128 s_allNodes = Addresses.ToUInt128(IPAddress.Parse("ff02::1"));
    private const ulong VmMac = 0x52_54_00_12_34_56;
    private const ulong GatewayMac = 0x02_00_00_00_00_01;

    /// <summary>Ethernet + IPv6 (hop limit 255) around an ICMPv6 message written by <paramref name="write"/>.</summary>
    private static byte[] Frame(UInt128 src, UInt128 dst, Func<byte[], int> write)
    {
        byte[] icmp = new byte[512];
        int length = write(icmp);
        byte[] frame = new byte[54 + length];
        icmp.AsSpan(0, length).CopyTo(frame.AsSpan(54));
        PacketWriter.WriteIPv6(frame.AsSpan(14), src, dst, IpProtocols.IcmpV6, length, NdWriter.HopLimit);
        PacketWriter.WriteEthernet(frame, 0x33_33_FF_00_00_01, VmMac, EtherTypes.IPv6);
        return frame;
    }

    private static (PacketHeaders H, byte[] Icmp) Parse(byte[] frame)
    {
        var h = default(PacketHeaders);
        Assert.Equal(ParseError.None, PacketParser.ParseEthernet(frame, ref h));
        Assert.Equal(L4ChecksumStatus.Valid, Checksums.VerifyL4(frame, h));
        Assert.Equal(NdWriter.HopLimit, h.Ttl);
        return (h, frame[h.L4Offset..h.L3End]);
    }

    [Fact]
    public void Neighbor_solicitation_roundtrip_and_PacketDotNet_agrees()
    {
        byte[] frame = Frame(s_vm, s_solicitedNode, b => NdWriter.WriteNeighborSolicitation(b, s_vm, s_solicitedNode, s_gateway, VmMac));
        (PacketHeaders h, byte[] icmp) = Parse(frame);
        Assert.Equal(IcmpTypes.NeighborSolicitation, h.IcmpType);
        Assert.Equal(NdError.None, NdMessage.TryParse(icmp, out NdMessage m));
        Assert.Equal(s_gateway, m.TargetAddress);
        Assert.True(m.TryGetSourceLinkLayerAddress(out ulong mac));
        Assert.Equal(VmMac, mac);
        Assert.False(m.TryGetTargetLinkLayerAddress(out _));

        var ns = Packet.ParsePacket(LinkLayers.Ethernet, frame).Extract<NdpNeighborSolicitationPacket>();
        Assert.NotNull(ns);
        Assert.Equal(IPAddress.Parse("fe80::1"), ns.TargetAddress);
        Assert.True(Packet.ParsePacket(LinkLayers.Ethernet, frame).Extract<IcmpV6Packet>().ValidIcmpChecksum);

        // Duplicate address detection: no source link-layer option.
        byte[] dad = Frame(0, s_solicitedNode, b => NdWriter.WriteNeighborSolicitation(b, 0, s_solicitedNode, s_vm, null));
        (_, icmp) = Parse(dad);
        Assert.Equal(24, icmp.Length);
        Assert.Equal(NdError.None, NdMessage.TryParse(icmp, out m));
        Assert.False(m.TryGetSourceLinkLayerAddress(out _));
    }

    [Fact]
    public void Neighbor_advertisement_flags_and_target_mac()
    {
        byte[] frame = Frame(s_gateway, s_vm, b => NdWriter.WriteNeighborAdvertisement(b, s_gateway, s_vm, s_gateway, router: true, solicited: true, isOverride: false, GatewayMac));
        (_, byte[] icmp) = Parse(frame);
        Assert.Equal(NdError.None, NdMessage.TryParse(icmp, out NdMessage m));
        Assert.Equal(IcmpTypes.NeighborAdvertisement, m.Type);
        Assert.Equal((true, true, false), (m.IsRouter, m.IsSolicited, m.IsOverride));
        Assert.Equal(s_gateway, m.TargetAddress);
        Assert.True(m.TryGetTargetLinkLayerAddress(out ulong mac));
        Assert.Equal(GatewayMac, mac);
    }

    [Fact]
    public void Router_solicitation_and_advertisement_with_options()
    {
        byte[] rs = Frame(s_vm, s_allNodes, b => NdWriter.WriteRouterSolicitation(b, s_vm, s_allNodes, VmMac));
        (_, byte[] icmp) = Parse(rs);
        Assert.Equal(NdError.None, NdMessage.TryParse(icmp, out NdMessage m));
        Assert.Equal(IcmpTypes.RouterSolicitation, m.Type);
        Assert.True(m.TryGetSourceLinkLayerAddress(out ulong mac));
        Assert.Equal(VmMac, mac);
        Assert.Equal(UInt128.Zero, m.TargetAddress);

        UInt128 prefix = Addresses.ToUInt128(IPAddress.Parse("fd00:1::"));
        byte[] ra = Frame(s_gateway, s_allNodes, b =>
        {
            int o = NdWriter.RouterAdvertisementOptionsOffset;
            int n = NdWriter.WriteLinkLayerOption(b.AsSpan(o), NdWriter.SourceLinkLayerOption, GatewayMac);
            n += NdWriter.WriteMtuOption(b.AsSpan(o + n), 1450);
            n += NdWriter.WritePrefixInformationOption(b.AsSpan(o + n), prefix, 64, onLink: false, autonomous: false, 3600, 1800);
            n += NdWriter.WriteRecursiveDnsServerOption(b.AsSpan(o + n), 600, [s_gateway]);
            return NdWriter.WriteRouterAdvertisement(b, s_gateway, s_allNodes, 64, managed: true, other: true, 1800, 0, 0, n);
        });
        (_, icmp) = Parse(ra);
        Assert.Equal(NdError.None, NdMessage.TryParse(icmp, out m));
        Assert.Equal((64, true, true, (ushort)1800), (m.CurHopLimit, m.IsManaged, m.IsOther, m.RouterLifetime));
        Assert.True(m.TryGetMtu(out uint mtu));
        Assert.Equal(1450u, mtu);
        Assert.True(m.TryGetOption(NdWriter.PrefixInformationOption, out ReadOnlySpan<byte> pi));
        Assert.Equal(30, pi.Length);
        Assert.Equal(64, pi[0]);
        int options = 0;
        foreach (NdOption _ in m.GetOptions())
        {
            options++;
        }
        Assert.Equal(4, options);
        Assert.True(Packet.ParsePacket(LinkLayers.Ethernet, ra).Extract<IcmpV6Packet>().ValidIcmpChecksum);
    }

    [Fact]
    public void Truncated_and_malformed_messages_give_named_errors()
    {
        byte[] frame = Frame(s_vm, s_solicitedNode, b => NdWriter.WriteNeighborSolicitation(b, s_vm, s_solicitedNode, s_gateway, VmMac));
        byte[] icmp = frame[54..];
        for (int length = 0; length <= icmp.Length; length++)
        {
            NdError e = NdMessage.TryParse(icmp.AsSpan(0, length), out _);
            NdError expected = length switch
            {
                < 24 => NdError.Truncated,
                24 or 32 => NdError.None,
                _ => NdError.TruncatedOption,
            };
            Assert.Equal(expected, e);
        }

        byte[] bad = (byte[])icmp.Clone();
        bad[1] = 1;
        Assert.Equal(NdError.BadCode, NdMessage.TryParse(bad, out _));
        bad = (byte[])icmp.Clone();
        bad[25] = 0;
        Assert.Equal(NdError.ZeroOptionLength, NdMessage.TryParse(bad, out _));
        bad = (byte[])icmp.Clone();
        bad[25] = 2;
        Assert.Equal(NdError.TruncatedOption, NdMessage.TryParse(bad, out _));
        bad = (byte[])icmp.Clone();
        bad[0] = 137; // redirect
        Assert.Equal(NdError.UnsupportedType, NdMessage.TryParse(bad, out _));
        byte[] twoUnitLinkLayer = new byte[24 + 16];
        icmp.AsSpan(0, 24).CopyTo(twoUnitLinkLayer);
        twoUnitLinkLayer[24] = NdWriter.SourceLinkLayerOption;
        twoUnitLinkLayer[25] = 2;
        Assert.Equal(NdError.BadLinkLayerOption, NdMessage.TryParse(twoUnitLinkLayer, out _));
        Assert.Equal(NdError.UnsupportedType, NdMessage.TryParse([128, 0, 0, 0, 0, 0, 0, 0], out _));
    }
}
