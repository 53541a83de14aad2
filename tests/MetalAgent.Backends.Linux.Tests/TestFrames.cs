using System.Buffers.Binary;

namespace MetalAgent.Backends.Linux.Tests;

/// <summary>Raw Ethernet frames for port tests: locally administered test MACs (02:4d:41:54:..),
/// an experimental EtherType or IPv4/UDP inside 10.0.0.0/8, and a payload that identifies the frame.</summary>
internal static class TestFrames
{
    public const ulong DestinationMac = 0x024d_4154_0001;
    public const ulong SourceMac = 0x024d_4154_0002;
    public const ushort ExperimentalEtherType = 0x88B5;

    /// <summary>A frame of exactly <paramref name="length"/> bytes (at least 60) carrying <paramref name="sequence"/>.</summary>
    public static byte[] Experimental(int sequence, int length, int seed = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 60);
        var frame = new byte[length];
        WriteMac(frame.AsSpan(0), DestinationMac);
        WriteMac(frame.AsSpan(6), SourceMac);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), ExperimentalEtherType);
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(14), sequence);
        var random = new Random(HashCode.Combine(sequence, length, seed));
        random.NextBytes(frame.AsSpan(18));
        return frame;
    }

    /// <summary>The same frame with an 802.1Q tag (VLAN <paramref name="vid"/>) after the MAC addresses.</summary>
    public static byte[] WithVlanTag(byte[] frame, ushort vid)
    {
        var tagged = new byte[frame.Length + 4];
        frame.AsSpan(0, 12).CopyTo(tagged);
        BinaryPrimitives.WriteUInt16BigEndian(tagged.AsSpan(12), 0x8100);
        BinaryPrimitives.WriteUInt16BigEndian(tagged.AsSpan(14), vid);
        frame.AsSpan(12).CopyTo(tagged.AsSpan(16));
        return tagged;
    }

    /// <summary>An IPv4/UDP frame 10.0.0.1 → 10.0.0.2 of flow <paramref name="flow"/> (source port), with a
    /// sequence number in the payload; valid IPv4 header so kernels hash it as a flow.</summary>
    public static byte[] Udp(int flow, int sequence, int payload = 64)
    {
        var frame = new byte[14 + 20 + 8 + payload];
        WriteMac(frame.AsSpan(0), DestinationMac);
        WriteMac(frame.AsSpan(6), SourceMac);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), 0x0800);
        Span<byte> ip = frame.AsSpan(14, 20);
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(20 + 8 + payload));
        ip[8] = 64;
        ip[9] = 17;
        new byte[] { 10, 0, 0, 1 }.CopyTo(ip[12..]);
        new byte[] { 10, 0, 0, 2 }.CopyTo(ip[16..]);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], IpChecksum(ip));
        Span<byte> udp = frame.AsSpan(34, 8);
        BinaryPrimitives.WriteUInt16BigEndian(udp, (ushort)(10000 + flow));
        BinaryPrimitives.WriteUInt16BigEndian(udp[2..], 7);
        BinaryPrimitives.WriteUInt16BigEndian(udp[4..], (ushort)(8 + payload));
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(42), flow);
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(46), sequence);
        return frame;
    }

    public static (int Flow, int Sequence) UdpId(ReadOnlySpan<byte> frame) =>
        (BinaryPrimitives.ReadInt32BigEndian(frame[42..]), BinaryPrimitives.ReadInt32BigEndian(frame[46..]));

    /// <summary>True for frames the tests built (source MAC <see cref="SourceMac"/>).</summary>
    public static bool IsTestFrame(ReadOnlySpan<byte> frame) =>
        frame.Length >= 14 && ReadMac(frame[6..]) == SourceMac;

    private static ushort IpChecksum(ReadOnlySpan<byte> header)
    {
        uint sum = 0;
        for (int i = 0; i < header.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(header[i..]);
        }
        while (sum > 0xFFFF)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }
        return (ushort)~sum;
    }

    private static void WriteMac(Span<byte> destination, ulong mac)
    {
        for (int i = 0; i < 6; i++)
        {
            destination[i] = (byte)(mac >> (40 - (8 * i)));
        }
    }

    private static ulong ReadMac(ReadOnlySpan<byte> source)
    {
        ulong mac = 0;
        for (int i = 0; i < 6; i++)
        {
            mac = (mac << 8) | source[i];
        }
        return mac;
    }
}
