using System.Buffers.Binary;
using System.Text;
using CsCheck;

namespace MetalAgent.Packets.Tests;

public class ChecksumTests
{
    /// <summary>RFC 1071 taken literally: big-endian words, end-around carry after each add.</summary>
    private static ushort NaiveChecksum(ReadOnlySpan<byte> data)
    {
        uint sum = 0;
        for (int i = 0; i < data.Length; i += 2)
        {
            uint word = (uint)data[i] << 8;
            if (i + 1 < data.Length)
            {
                word |= data[i + 1];
            }
            sum += word;
            sum = (sum & 0xFFFF) + (sum >> 16);
        }
        return (ushort)~sum;
    }

    [Fact]
    public void Sum_matches_naive_reference_at_any_length_and_alignment()
    {
        Gen<(byte[], int)> gen = Gen.Select(Gen.Byte.Array[0, 300], Gen.Int[0, 7]);
        FrameSpec.ForAll(gen, 5_000, 21, t =>
        {
            (byte[] bytes, int skew) = t;
            ReadOnlySpan<byte> data = bytes.AsSpan(Math.Min(skew, bytes.Length));
            Assert.Equal(NaiveChecksum(data), Checksums.Compute(data));
        });
        Assert.Equal(0xFFFF, Checksums.Compute([]));
        Assert.Equal(0xFFFF, Checksums.Compute(new byte[64]));
        Assert.Equal(0, Checksums.Compute(Enumerable.Repeat((byte)0xFF, 64).ToArray()));
    }

    [Fact]
    public void Sums_of_even_length_pieces_combine()
    {
        Gen<(byte[], int)> gen = Gen.Select(Gen.Byte.Array[0, 200], Gen.Int[0, 100]);
        FrameSpec.ForAll(gen, 2_000, 22, t =>
        {
            (byte[] bytes, int half) = t;
            int split = Math.Min(2 * half, bytes.Length & ~1);
            ushort whole = Checksums.Finish(Checksums.Sum(bytes));
            ushort parts = Checksums.Finish((ulong)Checksums.Sum(bytes.AsSpan(0, split)) + Checksums.Sum(bytes.AsSpan(split)));
            Assert.Equal(whole, parts);
        });
    }

    [Fact]
    public void IPv4_header_checksum_rfc1071_example_and_roundtrip()
    {
        // The classic example header (Wikipedia / RFC 1071 style): checksum 0xB861.
        byte[] header = Convert.FromHexString("450000730000400040110000C0A80001C0A800C7");
        Assert.Equal(0xB861, Checksums.ComputeIPv4Header(header));
        Checksums.WriteIPv4HeaderChecksum(header);
        Assert.Equal(0xB861, BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(10)));
        Assert.True(Checksums.VerifyIPv4Header(header));
        // Compute ignores a stale stored value.
        Assert.Equal(0xB861, Checksums.ComputeIPv4Header(header));
        header[8] ^= 1;
        Assert.False(Checksums.VerifyIPv4Header(header));
    }

    [Fact]
    public void Udp_checksum_zero_rules()
    {
        var pair4 = IpAddressPair.V4(0x0A000001, 0x0A000002);
        var pair6 = IpAddressPair.V6(1, 2);
        foreach (IpAddressPair pair in new[] { pair4, pair6 })
        {
            // Choose a payload word that makes the computed checksum 0: it must be sent as 0xFFFF.
            byte[] udp = new byte[10];
            PacketWriter.WriteUdp(udp, pair, 1, 2, 2);
            ushort c = BinaryPrimitives.ReadUInt16BigEndian(udp.AsSpan(6));
            BinaryPrimitives.WriteUInt16BigEndian(udp.AsSpan(8), c);
            PacketWriter.WriteUdp(udp, pair, 1, 2, 2);
            Assert.Equal(0xFFFF, BinaryPrimitives.ReadUInt16BigEndian(udp.AsSpan(6)));
            Assert.True(pair.Version == 4
                ? Checksums.VerifyIPv4Transport((uint)pair.Src, (uint)pair.Dst, IpProtocols.Udp, udp)
                : Checksums.VerifyIPv6Transport(pair.Src, pair.Dst, IpProtocols.Udp, udp));
        }

        // A zero UDP checksum means "none" over IPv4 and is invalid over IPv6.
        foreach (byte version in new byte[] { 4, 6 })
        {
            FrameSpec spec = version == 4 ? new FrameSpec { IpVersion = 4, SrcIp = 1, DstIp = 2, Payload = [1, 2, 3] } : new FrameSpec { IpVersion = 6, SrcIp = 1, DstIp = 2, Payload = [1, 2, 3] };
            byte[] frame = spec.Build();
            var h = default(PacketHeaders);
            Assert.Equal(ParseError.None, PacketParser.ParseEthernet(frame, ref h));
            Assert.Equal(L4ChecksumStatus.Valid, Checksums.VerifyL4(frame, h));
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(h.L4Offset + 6), 0);
            Assert.Equal(version == 4 ? L4ChecksumStatus.Absent : L4ChecksumStatus.Invalid, Checksums.VerifyL4(frame, h));
            Assert.True(Checksums.WriteL4(frame, h));
            Assert.Equal(L4ChecksumStatus.Valid, Checksums.VerifyL4(frame, h));
            frame[^1] ^= 0x10;
            Assert.Equal(L4ChecksumStatus.Invalid, Checksums.VerifyL4(frame, h));
        }
    }

    [Fact]
    public void Incremental_update_equals_full_recomputation_for_nat_rewrites()
    {
        Gen<FrameSpec> tcpUdp = Gen.Select(FrameSpec.IPv4, FrameSpec.IPv6, Gen.Bool, Gen.Bool, (v4, v6, useV6, tcp) =>
            (useV6 ? v6 with { ExtensionHeaders = [] } : v4) with { Protocol = tcp ? IpProtocols.Tcp : IpProtocols.Udp });
        Gen<(FrameSpec, UInt128, ushort, bool)> gen = Gen.Select(tcpUdp, Gen.Select(Gen.ULong, Gen.ULong, (a, b) => ((UInt128)a << 64) | b), Gen.UShort, Gen.Bool);
        FrameSpec.ForAll(gen, 5_000, 23, t =>
        {
            (FrameSpec spec, UInt128 newAddress, ushort newPort, bool rewriteSource) = t;
            byte[] frame = spec.Build();
            var h = default(PacketHeaders);
            Assert.Equal(ParseError.None, PacketParser.ParseEthernet(frame, ref h));
            bool udp = h.Protocol == IpProtocols.Udp;
            int l4Checksum = h.L4Offset + (udp ? 6 : 16);
            int portOffset = h.L4Offset + (rewriteSource ? 0 : 2);
            ushort oldL4 = BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(l4Checksum));
            ushort oldPort = BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(portOffset));
            ushort l4;
            if (h.IpVersion == 4)
            {
                int addressOffset = h.L3Offset + (rewriteSource ? 12 : 16);
                uint oldAddress = BinaryPrimitives.ReadUInt32BigEndian(frame.AsSpan(addressOffset));
                uint newV4 = (uint)newAddress;
                BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(addressOffset), newV4);
                ushort ipChecksum = BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(h.L3Offset + 10));
                BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(h.L3Offset + 10), Checksums.Update32(ipChecksum, oldAddress, newV4));
                l4 = udp ? Checksums.UpdateUdp32(oldL4, oldAddress, newV4) : Checksums.Update32(oldL4, oldAddress, newV4);
            }
            else
            {
                int addressOffset = h.L3Offset + (rewriteSource ? 8 : 24);
                UInt128 oldAddress = BinaryPrimitives.ReadUInt128BigEndian(frame.AsSpan(addressOffset));
                BinaryPrimitives.WriteUInt128BigEndian(frame.AsSpan(addressOffset), newAddress);
                l4 = udp ? Checksums.UpdateUdp128(oldL4, oldAddress, newAddress) : Checksums.Update128(oldL4, oldAddress, newAddress);
            }
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(portOffset), newPort);
            l4 = udp ? Checksums.UpdateUdp16(l4, oldPort, newPort) : Checksums.Update16(l4, oldPort, newPort);
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(l4Checksum), l4);

            // Full recomputation on a copy must give identical bytes.
            byte[] full = (byte[])frame.Clone();
            Assert.Equal(ParseError.None, PacketParser.ParseEthernet(full, ref h));
            if (h.IpVersion == 4)
            {
                Checksums.WriteIPv4HeaderChecksum(full.AsSpan(h.L3Offset));
            }
            Assert.True(Checksums.WriteL4(full, h));
            Assert.Equal(Convert.ToHexString(full), Convert.ToHexString(frame));
            Assert.Equal(L4ChecksumStatus.Valid, Checksums.VerifyL4(frame, h));
        });
    }

    [Fact]
    public void Incremental_update_keeps_absent_udp_checksum_absent()
    {
        Assert.Equal(0, Checksums.UpdateUdp32(0, 0x0A000001, 0xCB007101));
        Assert.Equal(0, Checksums.UpdateUdp16(0, 1000, 2000));
        Assert.Equal(0, Checksums.UpdateUdp128(0, 1, 2));
    }

    [Fact]
    public void Icmp_echo_identifier_rewrite_updates_checksum()
    {
        FrameSpec spec = new() { IpVersion = 4, SrcIp = 1, DstIp = 2, Protocol = IpProtocols.Icmp, IcmpType = IcmpTypes.EchoRequest, IcmpId = 5, Payload = [9, 9, 9] };
        byte[] frame = spec.Build();
        var h = default(PacketHeaders);
        Assert.Equal(ParseError.None, PacketParser.ParseEthernet(frame, ref h));
        ushort old = BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(h.L4Offset + 2));
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(h.L4Offset + 4), 60000);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(h.L4Offset + 2), Checksums.Update16(old, 5, 60000));
        Assert.Equal(L4ChecksumStatus.Valid, Checksums.VerifyL4(frame, h));
    }

    // RFC 3720 appendix B.4; the CRC bytes listed there are the little-endian CRC value.
    [Theory]
    [InlineData("zeros", 0x8A9136AAu)]
    [InlineData("ones", 0x62A8AB43u)]
    [InlineData("incrementing", 0x46DD794Eu)]
    [InlineData("decrementing", 0x113FDB5Cu)]
    [InlineData("iscsi-read", 0xD9963A56u)]
    [InlineData("123456789", 0xE3069283u)]
    public void Crc32C_known_vectors(string name, uint expected)
    {
        byte[] data = name switch
        {
            "zeros" => new byte[32],
            "ones" => Enumerable.Repeat((byte)0xFF, 32).ToArray(),
            "incrementing" => Enumerable.Range(0, 32).Select(i => (byte)i).ToArray(),
            "decrementing" => Enumerable.Range(0, 32).Select(i => (byte)(31 - i)).ToArray(),
            "iscsi-read" => Convert.FromHexString("01C000000000000000000000000000001400000000000400000000140000001828000000000000000200000000000000"),
            _ => Encoding.ASCII.GetBytes(name),
        };
        Assert.Equal(expected, Crc32C.Compute(data));
        Assert.Equal(expected, ~Crc32C.UpdateSoftware(~0u, data));
        if (System.Runtime.Intrinsics.X86.Sse42.X64.IsSupported)
        {
            Assert.Equal(expected, ~Crc32C.UpdateSse42(~0u, data));
        }
    }

    [Fact]
    public void Crc32C_paths_agree_and_append_composes()
    {
        Gen<(byte[], int)> gen = Gen.Select(Gen.Byte.Array[0, 200], Gen.Int[0, 200]);
        FrameSpec.ForAll(gen, 3_000, 24, t =>
        {
            (byte[] data, int cut) = t;
            cut = Math.Min(cut, data.Length);
            uint whole = Crc32C.Compute(data);
            Assert.Equal(whole, ~Crc32C.UpdateSoftware(~0u, data));
            Assert.Equal(whole, Crc32C.Append(Crc32C.Compute(data.AsSpan(0, cut)), data.AsSpan(cut)));
        });
    }

    [Fact]
    public void Sctp_checksum_is_stored_little_endian_and_verified()
    {
        byte[] chunk = new byte[20];
        int chunkLength = PacketWriter.WriteSctpChunk(chunk, 1, 0, [1, 2, 3, 4, 5]);
        Assert.Equal(12, chunkLength);
        Assert.Equal([1, 0, 0, 9, 1, 2, 3, 4, 5, 0, 0, 0], chunk[..12]);
        byte[] sctp = new byte[12 + chunkLength];
        chunk.AsSpan(0, chunkLength).CopyTo(sctp.AsSpan(12));
        PacketWriter.WriteSctp(sctp, 5000, 80, 0, chunkLength);
        Assert.True(Checksums.VerifySctp(sctp));
        byte[] zeroed = (byte[])sctp.Clone();
        zeroed.AsSpan(8, 4).Clear();
        Assert.Equal(Crc32C.Compute(zeroed), BinaryPrimitives.ReadUInt32LittleEndian(sctp.AsSpan(8)));
        sctp[^4] ^= 1;
        Assert.False(Checksums.VerifySctp(sctp));
    }
}
