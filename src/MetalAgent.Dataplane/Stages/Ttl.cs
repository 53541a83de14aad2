using System.Buffers.Binary;
using MetalAgent.Packets;

namespace MetalAgent.Dataplane.Stages;

/// <summary>TTL / hop-limit handling for routed packets.</summary>
public static class Ttl
{
    /// <summary>Decrements TTL (patching the IPv4 checksum incrementally) or the hop limit.</summary>
    public static void Decrement(Span<byte> frame, in PacketHeaders h)
    {
        if (h.IpVersion == 4)
        {
            Span<byte> ip = frame[h.L3Offset..];
            ushort oldWord = BinaryPrimitives.ReadUInt16BigEndian(ip[8..]);
            ip[8]--;
            ushort newWord = BinaryPrimitives.ReadUInt16BigEndian(ip[8..]);
            ushort sum = BinaryPrimitives.ReadUInt16BigEndian(ip[10..]);
            BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Checksums.Update16(sum, oldWord, newWord));
        }
        else
        {
            frame[h.L3Offset + 7]--;
        }
    }
}
