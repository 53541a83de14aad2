using System.Buffers.Binary;
using System.Net;
using System.Net.NetworkInformation;
using CsCheck;
using PacketDotNet;

namespace MetalAgent.Packets.Tests;

/// <summary>Our parser and checksums against PacketDotNet on the same bytes, both directions.</summary>
public class PacketDotNetCrossCheckTests
{
    private static IPAddress Ip(byte version, UInt128 v) => version == 4 ? Addresses.FromUInt32((uint)v) : Addresses.FromUInt128(v);

    [Fact]
    public void Generated_frames_agree_with_PacketDotNet()
    {
        // PacketDotNet does not walk routing/fragment headers the way RFC 8200 does, so
        // extension headers are left to our own property tests here.
        Gen<FrameSpec> gen = Gen.Select(FrameSpec.Frame, f => WithoutExtensionHeaders(f));
        int compared = 0;
        FrameSpec.ForAll(gen, 1_500, 31, spec =>
        {
            byte[] frame = spec.Build();
            var h = default(PacketHeaders);
            Assert.Equal(ParseError.None, PacketParser.ParseEthernet(frame, ref h));
            Packet packet = Packet.ParsePacket(LinkLayers.Ethernet, frame);
            EthernetPacket eth = Assert.IsType<EthernetPacket>(packet);
            Assert.Equal(Addresses.FormatMac(h.DstMac).Replace(":", "").ToUpperInvariant(), eth.DestinationHardwareAddress.ToString());
            Assert.Equal(Addresses.FormatMac(h.SrcMac).Replace(":", "").ToUpperInvariant(), eth.SourceHardwareAddress.ToString());
            if (spec.Vlans.Length == 1)
            {
                Assert.Equal(h.VlanId, packet.Extract<Ieee8021QPacket>().VlanIdentifier);
            }
            if (spec.Vlans.Length == 2)
            {
                return; // PacketDotNet 1.4 decodes only 0x8100 tags, not an 802.1ad outer tag.
            }
            if (h.IpVersion == 0)
            {
                ArpPacket arp = packet.Extract<ArpPacket>();
                Assert.Equal(Ip(4, h.SrcIp), arp.SenderProtocolAddress);
                Assert.Equal(Ip(4, h.DstIp), arp.TargetProtocolAddress);
                Assert.Equal(h.ArpOp, (ushort)arp.Operation);
                compared++;
                return;
            }
            CompareIp(frame, h, packet.Extract<IPPacket>(), fromFrame: true);
            if (spec.Inner is not null)
            {
                PacketHeaders inner = h;
                Assert.Equal(ParseError.None, PacketParser.ParseIp(frame.AsSpan(0, h.L3End), h.L4Offset, ref inner));
                byte[] innerBytes = frame[h.L4Offset..h.L3End];
                IPPacket innerPacket = innerBytes[0] >> 4 == 4 ? new IPv4Packet(new PacketDotNet.Utils.ByteArraySegment(innerBytes)) : new IPv6Packet(new PacketDotNet.Utils.ByteArraySegment(innerBytes));
                CompareIp(frame, inner, innerPacket, fromFrame: false);
            }
            compared++;
        });
        Assert.True(compared > 1_000);
    }

    private static FrameSpec WithoutExtensionHeaders(FrameSpec f) =>
        f with { ExtensionHeaders = [], Inner = f.Inner is null ? null : WithoutExtensionHeaders(f.Inner) };

    private static void CompareIp(byte[] frame, in PacketHeaders h, IPPacket ip, bool fromFrame)
    {
        Assert.NotNull(ip);
        Assert.Equal(Ip(h.IpVersion, h.SrcIp), ip.SourceAddress);
        Assert.Equal(Ip(h.IpVersion, h.DstIp), ip.DestinationAddress);
        Assert.Equal(h.Ttl, ip.TimeToLive);
        Assert.Equal(h.Protocol, (byte)ip.Protocol);
        Assert.Equal(h.L3End - h.L3Offset, ip.TotalLength);
        if (ip is IPv4Packet v4)
        {
            Assert.True(v4.ValidIPChecksum);
            Assert.Equal(v4.CalculateIPChecksum(), Checksums.ComputeIPv4Header(frame.AsSpan(h.L3Offset, h.L4Offset - h.L3Offset)));
            Assert.Equal(h.L4Offset - h.L3Offset, v4.HeaderLength * 4);
            Assert.Equal(h.Tos, (byte)v4.TypeOfService);
            Assert.Equal(h.FragmentId, v4.Id);
        }
        else
        {
            var v6 = (IPv6Packet)ip;
            Assert.Equal(h.FlowLabel, (uint)v6.FlowLabel);
            Assert.Equal(h.Tos, (byte)v6.TrafficClass);
        }
        switch (h.Protocol)
        {
            case IpProtocols.Tcp:
                {
                    TcpPacket tcp = ip.Extract<TcpPacket>();
                    Assert.Equal((h.SrcPort, h.DstPort), (tcp.SourcePort, tcp.DestinationPort));
                    Assert.Equal(h.TcpFlags, (byte)tcp.Flags);
                    Assert.Equal(h.PayloadOffset - h.L4Offset, tcp.DataOffset * 4);
                    Assert.True(tcp.ValidTcpChecksum);
                    Assert.Equal(tcp.CalculateTcpChecksum(), tcp.Checksum);
                    break;
                }
            case IpProtocols.Udp:
                {
                    UdpPacket udp = ip.Extract<UdpPacket>();
                    Assert.Equal((h.SrcPort, h.DstPort), (udp.SourcePort, udp.DestinationPort));
                    Assert.Equal(h.L3End - h.L4Offset, udp.Length);
                    Assert.True(udp.ValidUdpChecksum);
                    break;
                }
            case IpProtocols.Icmp:
                {
                    IcmpV4Packet icmp = ip.Extract<IcmpV4Packet>();
                    Assert.True(icmp.ValidIcmpChecksum);
                    Assert.Equal(icmp.CalculateIcmpChecksum(), icmp.Checksum);
                    Assert.Equal(h.IcmpType, (byte)((ushort)icmp.TypeCode >> 8));
                    break;
                }
            case IpProtocols.IcmpV6:
                {
                    IcmpV6Packet icmp = ip.Extract<IcmpV6Packet>();
                    // PacketDotNet 1.4.8 sums Ethernet padding into the ICMPv6 checksum, so its
                    // verdict is taken on the frame without the trailer.
                    IcmpV6Packet unpadded = fromFrame ? Packet.ParsePacket(LinkLayers.Ethernet, frame[..h.L3End]).Extract<IcmpV6Packet>() : icmp;
                    Assert.True(unpadded.ValidIcmpChecksum);
                    Assert.Equal(h.IcmpType, (byte)icmp.Type);
                    Assert.Equal(h.IcmpCode, icmp.Code);
                    break;
                }
            default:
                break;
        }
    }

    [Fact]
    public void Packets_built_by_PacketDotNet_parse_and_verify()
    {
        Gen<(uint, uint, ushort, ushort, byte[], bool, bool)> gen = Gen.Select(Gen.UInt, Gen.UInt, Gen.UShort, Gen.UShort, Gen.Byte.Array[0, 100], Gen.Bool, Gen.Bool);
        FrameSpec.ForAll(gen, 1_000, 32, t =>
        {
            (uint src, uint dst, ushort sport, ushort dport, byte[] payload, bool tcp, bool v6) = t;
            IPAddress s = v6 ? Addresses.FromUInt128(((UInt128)0xFD00 << 112) | src) : Addresses.FromUInt32(src);
            IPAddress d = v6 ? Addresses.FromUInt128(((UInt128)0xFD00 << 112) | dst) : Addresses.FromUInt32(dst);
            IPPacket ip = v6 ? new IPv6Packet(s, d) : new IPv4Packet(s, d);
            TransportPacket l4 = tcp ? new TcpPacket(sport, dport) { PayloadData = payload, Synchronize = true } : new UdpPacket(sport, dport) { PayloadData = payload };
            ip.PayloadPacket = l4;
            var eth = new EthernetPacket(PhysicalAddress.Parse("02-00-00-00-00-01"), PhysicalAddress.Parse("02-00-00-00-00-02"), v6 ? EthernetType.IPv6 : EthernetType.IPv4)
            {
                PayloadPacket = ip,
            };
            ip.UpdateCalculatedValues();
            if (l4 is TcpPacket tp)
            {
                tp.UpdateTcpChecksum();
            }
            else
            {
                ((UdpPacket)l4).UpdateUdpChecksum();
            }
            if (ip is IPv4Packet v4)
            {
                v4.UpdateIPChecksum();
            }
            byte[] frame = eth.Bytes;

            var h = default(PacketHeaders);
            Assert.Equal(ParseError.None, PacketParser.ParseEthernet(frame, ref h));
            Assert.Equal(Ip(h.IpVersion, h.SrcIp), s);
            Assert.Equal((sport, dport), (h.SrcPort, h.DstPort));
            Assert.Equal(payload.Length, h.L3End - h.PayloadOffset);
            if (!v6)
            {
                Assert.True(Checksums.VerifyIPv4Header(frame.AsSpan(h.L3Offset, h.L4Offset - h.L3Offset)));
            }
            // PacketDotNet (like Linux) may leave a computed UDP 0 as 0 over IPv4; anything else must verify.
            L4ChecksumStatus status = Checksums.VerifyL4(frame, h);
            Assert.True(status == L4ChecksumStatus.Valid || (status == L4ChecksumStatus.Absent && !v6), status.ToString());
            ushort stored = BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(h.L4Offset + (tcp ? 16 : 6)));
            byte[] copy = (byte[])frame.Clone();
            Checksums.WriteL4(copy, h);
            ushort ours = BinaryPrimitives.ReadUInt16BigEndian(copy.AsSpan(h.L4Offset + (tcp ? 16 : 6)));
            Assert.True(ours == stored || (!tcp && stored == 0 && ours == 0xFFFF) || (!tcp && stored == 0xFFFF && ours == 0xFFFF), $"{ours:x4} vs {stored:x4}");
        });
    }
}
