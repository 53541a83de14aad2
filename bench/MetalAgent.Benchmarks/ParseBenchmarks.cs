using System.Buffers.Binary;
using BenchmarkDotNet.Attributes;
using MetalAgent.Packets;

namespace MetalAgent.Benchmarks;

/// <summary>
/// Parser and checksum cost per packet over a batch of typical frames: TCP/IPv4 (64-byte payload),
/// UDP/IPv6 (128-byte payload) and IronCore underlay IP-in-IPv6 carrying TCP/IPv4 (outer and inner
/// parsed). Results are per packet (OperationsPerInvoke = batch size).
/// Run: <c>dotnet run -c Release --project bench/MetalAgent.Benchmarks -- --filter '*ParseBenchmarks*' --job short</c>.
/// </summary>
[MemoryDiagnoser]
public class ParseBenchmarks
{
    private const int BatchSize = 300;

    private static readonly UInt128 s_underlayA = ((UInt128)0xFC00_0000_0000_0001 << 64) | 1;
    private static readonly UInt128 s_underlayB = ((UInt128)0xFC00_0000_0000_0002 << 64) | 1;
    private static readonly UInt128 s_tenantA = ((UInt128)0xFD00_0000_0000_0000 << 64) | 0xA;
    private static readonly UInt128 s_tenantB = ((UInt128)0xFD00_0000_0000_0000 << 64) | 0xB;

    private byte[][] _frames = [];

    [GlobalSetup]
    public void Setup()
    {
        _frames = new byte[BatchSize][];
        for (int i = 0; i < BatchSize; i++)
        {
            _frames[i] = (i % 3) switch
            {
                0 => TcpIPv4Frame(i),
                1 => UdpIPv6Frame(i),
                _ => IPinIPv6Frame(i),
            };
        }
    }

    /// <summary>ParseEthernet, plus ParseIp on the inner packet of underlay frames.</summary>
    [Benchmark(OperationsPerInvoke = BatchSize)]
    public int Parse()
    {
        int ports = 0;
        foreach (byte[] frame in _frames)
        {
            var h = default(PacketHeaders);
            if (PacketParser.ParseEthernet(frame, ref h) != ParseError.None)
            {
                continue;
            }
            if (h.Protocol == IpProtocols.IPv4InIp)
            {
                PacketParser.ParseIp(frame.AsSpan(0, h.L3End), h.L4Offset, ref h);
            }
            ports += h.DstPort;
        }
        return ports;
    }

    /// <summary>Parse, then verify the IPv4 header checksum and the L4 checksum (inner for underlay).</summary>
    [Benchmark(OperationsPerInvoke = BatchSize)]
    public int ParseAndVerify()
    {
        int valid = 0;
        foreach (byte[] frame in _frames)
        {
            var h = default(PacketHeaders);
            if (PacketParser.ParseEthernet(frame, ref h) != ParseError.None)
            {
                continue;
            }
            if (h.Protocol == IpProtocols.IPv4InIp && PacketParser.ParseIp(frame.AsSpan(0, h.L3End), h.L4Offset, ref h) != ParseError.None)
            {
                continue;
            }
            if (h.IpVersion == 4 && !Checksums.VerifyIPv4Header(frame.AsSpan(h.L3Offset, h.L4Offset - h.L3Offset)))
            {
                continue;
            }
            if (Checksums.VerifyL4(frame, h) == L4ChecksumStatus.Valid)
            {
                valid++;
            }
        }
        return valid;
    }

    /// <summary>Parse, then recompute and store the IPv4 header and L4 checksums.</summary>
    [Benchmark(OperationsPerInvoke = BatchSize)]
    public int ParseAndRecompute()
    {
        int written = 0;
        foreach (byte[] frame in _frames)
        {
            var h = default(PacketHeaders);
            if (PacketParser.ParseEthernet(frame, ref h) != ParseError.None)
            {
                continue;
            }
            if (h.Protocol == IpProtocols.IPv4InIp && PacketParser.ParseIp(frame.AsSpan(0, h.L3End), h.L4Offset, ref h) != ParseError.None)
            {
                continue;
            }
            if (h.IpVersion == 4)
            {
                Checksums.WriteIPv4HeaderChecksum(frame.AsSpan(h.L3Offset));
            }
            if (Checksums.WriteL4(frame, h))
            {
                written++;
            }
        }
        return written;
    }

    /// <summary>NAT-style rewrite of the source address and port with RFC 1624 updates (TCP/IPv4 frames only).</summary>
    [Benchmark(OperationsPerInvoke = BatchSize)]
    public int ParseAndNatRewrite()
    {
        int rewritten = 0;
        foreach (byte[] frame in _frames)
        {
            var h = default(PacketHeaders);
            if (PacketParser.ParseEthernet(frame, ref h) != ParseError.None || h.IpVersion != 4 || h.Protocol != IpProtocols.Tcp)
            {
                continue;
            }
            Span<byte> ip = frame.AsSpan(h.L3Offset);
            Span<byte> tcp = frame.AsSpan(h.L4Offset);
            uint oldIp = (uint)h.SrcIp;
            uint newIp = oldIp ^ 0x00FF_0000;
            ushort newPort = (ushort)(h.SrcPort ^ 0x5555);
            BinaryPrimitives.WriteUInt32BigEndian(ip[12..], newIp);
            ushort ipSum = BinaryPrimitives.ReadUInt16BigEndian(ip[10..]);
            BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Checksums.Update32(ipSum, oldIp, newIp));
            BinaryPrimitives.WriteUInt16BigEndian(tcp, newPort);
            ushort l4 = BinaryPrimitives.ReadUInt16BigEndian(tcp[16..]);
            l4 = Checksums.Update16(Checksums.Update32(l4, oldIp, newIp), h.SrcPort, newPort);
            BinaryPrimitives.WriteUInt16BigEndian(tcp[16..], l4);
            rewritten++;
        }
        return rewritten;
    }

    private static byte[] TcpIPv4Frame(int i)
    {
        const int Payload = 64;
        byte[] frame = new byte[14 + 20 + 20 + Payload];
        FillPayload(frame.AsSpan(54), i);
        uint src = 0x0A00_0000u | (uint)i;
        uint dst = 0x0A01_0000u | (uint)(i * 7);
        PacketWriter.WriteTcp(frame.AsSpan(34), IpAddressPair.V4(src, dst), (ushort)(40000 + i), 443, (uint)i, 1, TcpFlagBits.Ack | TcpFlagBits.Psh, 512, Payload);
        PacketWriter.WriteIPv4(frame.AsSpan(14), src, dst, IpProtocols.Tcp, 20 + Payload, dontFragment: true, identification: (ushort)i);
        PacketWriter.WriteEthernet(frame, 0x0200_0000_0001, 0x0200_0000_0002, EtherTypes.IPv4);
        return frame;
    }

    private static byte[] UdpIPv6Frame(int i)
    {
        const int Payload = 128;
        byte[] frame = new byte[14 + 40 + 8 + Payload];
        FillPayload(frame.AsSpan(62), i);
        UInt128 src = s_tenantA + (uint)i;
        PacketWriter.WriteUdp(frame.AsSpan(54), IpAddressPair.V6(src, s_tenantB), (ushort)(30000 + i), 53, Payload);
        PacketWriter.WriteIPv6(frame.AsSpan(14), src, s_tenantB, IpProtocols.Udp, 8 + Payload);
        PacketWriter.WriteEthernet(frame, 0x0200_0000_0001, 0x0200_0000_0002, EtherTypes.IPv6);
        return frame;
    }

    private static byte[] IPinIPv6Frame(int i)
    {
        byte[] inner = TcpIPv4Frame(i)[14..];
        byte[] frame = new byte[PacketWriter.IPinIPv6HeaderLength + inner.Length];
        inner.CopyTo(frame, PacketWriter.IPinIPv6HeaderLength);
        PacketWriter.WriteIPinIPv6(frame, 0x0200_0000_0003, 0x0200_0000_0004, s_underlayA, s_underlayB, IpProtocols.IPv4InIp, inner.Length, PacketWriter.FlowLabelFromHash((uint)i * 2654435761u));
        return frame;
    }

    private static void FillPayload(Span<byte> payload, int seed)
    {
        for (int j = 0; j < payload.Length; j++)
        {
            payload[j] = (byte)((j * 31) + seed);
        }
    }
}
