using CsCheck;

namespace MetalAgent.Packets.Tests;

public class ParserPropertyTests
{
    /// <summary>Offsets reported for any input stay inside the buffer; on success they are ordered
    /// and the checksum helpers can run on the result without going out of bounds.</summary>
    internal static void AssertSane(ReadOnlySpan<byte> frame, ParseError error, in PacketHeaders h)
    {
        Assert.True(Enum.IsDefined(error), $"undefined error {error}");
        Assert.InRange(h.L3Offset, 0, frame.Length);
        Assert.InRange(h.L4Offset, 0, frame.Length);
        Assert.InRange(h.PayloadOffset, 0, frame.Length);
        Assert.InRange(h.L3End, 0, frame.Length);
        if (error != ParseError.None)
        {
            return;
        }
        Assert.True(h.L3Offset <= h.L4Offset && h.L4Offset <= h.PayloadOffset && h.PayloadOffset <= h.L3End,
            $"offsets out of order: {h.L3Offset} {h.L4Offset} {h.PayloadOffset} {h.L3End}");
        if (h.IpVersion == 4)
        {
            Checksums.VerifyIPv4Header(frame[h.L3Offset..h.L4Offset]);
        }
        Checksums.VerifyL4(frame, h);
        byte[] copy = frame.ToArray();
        Checksums.WriteL4(copy, h);
        if (h.Protocol is IpProtocols.IPv4InIp or IpProtocols.IPv6InIp && (h.Flags & PacketFlags.Fragment) == 0)
        {
            PacketHeaders inner = h;
            ReadOnlySpan<byte> outer = frame[..h.L3End];
            ParseError innerError = PacketParser.ParseIp(outer, h.L4Offset, ref inner);
            AssertSane(outer, innerError, inner);
        }
    }

    private static int Check(byte[] frame)
    {
        var h = default(PacketHeaders);
        ParseError error = PacketParser.ParseEthernet(frame, ref h);
        AssertSane(frame, error, h);
        return 1;
    }

    [Fact]
    public void Random_bytes_never_throw_and_offsets_stay_in_bounds()
    {
        // Raw random bytes rarely get past the EtherType, so half of them get a known EtherType
        // and a plausible IP version nibble.
        ushort[] types = [EtherTypes.IPv4, EtherTypes.IPv6, EtherTypes.Arp, EtherTypes.Vlan, EtherTypes.QinQ];
        Gen<byte[]> gen = Gen.Select(Gen.Byte.Array[0, 160], Gen.Int[0, 9], Gen.Byte[0, 15], (bytes, type, version) =>
        {
            if (bytes.Length >= 15 && type < types.Length)
            {
                bytes[12] = (byte)(types[type] >> 8);
                bytes[13] = (byte)types[type];
                bytes[14] = (byte)((version % 2 == 0 ? 0x45 : 0x60) | (bytes[14] & 0x0F));
            }
            return bytes;
        });
        int count = 0;
        FrameSpec.ForAll(gen, 30_000, 11, frame => count += Check(frame));
        Assert.Equal(30_000, count);
    }

    [Fact]
    public void Valid_frames_parse_to_their_fields_and_survive_truncation_and_mutation()
    {
        int parsed = 0;
        Gen<(FrameSpec, int[], byte[])> gen = Gen.Select(FrameSpec.Frame, Gen.Int[0, 1 << 20].Array[1, 4], Gen.Byte.Array[4]);
        FrameSpec.ForAll(gen, 1_500, 12, t =>
        {
            (FrameSpec spec, int[] positions, byte[] values) = t;
            byte[] frame = spec.Build();
            var h = default(PacketHeaders);
            Assert.Equal(ParseError.None, PacketParser.ParseEthernet(frame, ref h));
            AssertSane(frame, ParseError.None, h);
            spec.AssertParsed(h, frame.Length);
            L4ChecksumStatus expected = h.IpVersion == 0 || (h.Flags & (PacketFlags.HasL4 | PacketFlags.Fragment)) != PacketFlags.HasL4
                ? L4ChecksumStatus.NotVerifiable
                : L4ChecksumStatus.Valid;
            Assert.Equal(expected, Checksums.VerifyL4(frame, h));
            if (h.IpVersion == 4)
            {
                Assert.True(Checksums.VerifyIPv4Header(frame.AsSpan(h.L3Offset, h.L4Offset - h.L3Offset)));
            }
            if (spec.Inner is not null)
            {
                var inner = h;
                Assert.Equal(ParseError.None, PacketParser.ParseIp(frame.AsSpan(0, h.L3End), h.L4Offset, ref inner));
                spec.Inner.AssertIpFields(inner, h.L4Offset);
                Assert.Equal(h.DstMac, inner.DstMac);
                Assert.Equal(h.VlanId, inner.VlanId);
                Assert.NotEqual(L4ChecksumStatus.Invalid, Checksums.VerifyL4(frame, inner));
            }
            parsed++;

            // Every truncation: never throws, and cutting only padding changes nothing.
            for (int length = 0; length < frame.Length; length++)
            {
                var t2 = default(PacketHeaders);
                ParseError error = PacketParser.ParseEthernet(frame.AsSpan(0, length), ref t2);
                AssertSane(frame.AsSpan(0, length), error, t2);
                if (length >= h.L3End)
                {
                    Assert.Equal(ParseError.None, error);
                    Assert.Equal(h, t2);
                }
                else
                {
                    Assert.NotEqual(ParseError.None, error);
                }
                parsed++;
            }

            // Mutations: a few bytes replaced at random positions.
            for (int round = 0; round < 16; round++)
            {
                byte[] mutated = (byte[])frame.Clone();
                for (int i = 0; i < positions.Length; i++)
                {
                    int pos = (positions[i] + (round * 7919)) % mutated.Length;
                    mutated[pos] ^= (byte)(values[i] | 1);
                }
                parsed += Check(mutated);
            }
        });
        // At least 100,000 valid, truncated and mutated frames per run (plus the random-bytes test).
        Assert.True(parsed >= 100_000, $"only {parsed} frames parsed");
    }

    [Fact]
    public void Quoted_packets_of_any_length_parse_leniently()
    {
        Gen<FrameSpec> ip = Gen.OneOf(FrameSpec.IPv4, FrameSpec.IPv6);
        int parsed = 0;
        FrameSpec.ForAll(ip, 1_000, 13, spec =>
        {
            byte[] packet = new byte[spec.IpLength];
            spec.WriteIp(packet);
            int needed = spec.IpHeaderLength + (spec.L4HeaderLength > 0 ? 8 : 0);
            for (int length = 0; length <= packet.Length; length++)
            {
                var h = default(PacketHeaders);
                ParseError error = PacketParser.ParseQuotedIp(packet.AsSpan(0, length), 0, ref h);
                AssertSane(packet.AsSpan(0, length), error, h);
                Assert.Equal(L4ChecksumStatus.NotVerifiable, Checksums.VerifyL4(packet.AsSpan(0, length), h));
                if (length >= needed)
                {
                    Assert.Equal(ParseError.None, error);
                    Assert.True((h.Flags & PacketFlags.Quoted) != 0);
                    Assert.Equal((spec.SrcIp, spec.DstIp, spec.Protocol, length), (h.SrcIp, h.DstIp, h.Protocol, (int)h.L3End));
                    bool echo = spec.IcmpType is IcmpTypes.EchoRequest or IcmpTypes.EchoReply or IcmpTypes.V6EchoRequest or IcmpTypes.V6EchoReply
                        && spec.Protocol is IpProtocols.Icmp or IpProtocols.IcmpV6;
                    Assert.Equal(echo ? (spec.IcmpId, spec.IcmpId) : (spec.SrcPort, spec.DstPort), (h.SrcPort, h.DstPort));
                    Assert.Equal(spec.L4HeaderLength > 0, (h.Flags & PacketFlags.HasL4) != 0);
                }
                else
                {
                    Assert.NotEqual(ParseError.None, error);
                }
                parsed++;
            }
        });
        Assert.True(parsed > 50_000);
    }
}
