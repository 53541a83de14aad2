using System.Buffers.Binary;
using MetalAgent.Packets;

namespace MetalAgent.Dataplane.Stages;

/// <summary>Answers ICMP / ICMPv6 echo requests to addresses the host itself owns (NAT and LB IPs)
/// in place: addresses swapped, type turned into a reply, checksums patched, sent back over the underlay.</summary>
public static class IcmpEchoStage
{
    public static bool IsEchoRequest(in PacketHeaders h) =>
        (h.Flags & PacketFlags.HasL4) != 0 && ((h.Protocol == 1 && h.IcmpType == 8) || (h.Protocol == 58 && h.IcmpType == 128));

    /// <param name="ourUnderlay">The /128 the request came to (the answer's outer source).</param>
    /// <param name="peerUnderlay">The /128 it came from (the answer's outer destination).</param>
    public static Verdict AnswerFromUnderlay(ref PacketContext ctx, UInt128 ourUnderlay, UInt128 peerUnderlay)
    {
        ref PacketHeaders h = ref ctx.Headers;
        Span<byte> frame = ctx.Frame;
        Span<byte> ip = frame[h.L3Offset..];
        Span<byte> icmp = frame[h.L4Offset..];
        ushort check = BinaryPrimitives.ReadUInt16BigEndian(icmp[2..]);
        ushort oldTypeCode = BinaryPrimitives.ReadUInt16BigEndian(icmp);
        byte replyType = h.Protocol == 1 ? (byte)0 : (byte)129;
        icmp[0] = replyType;
        ushort newTypeCode = BinaryPrimitives.ReadUInt16BigEndian(icmp);
        BinaryPrimitives.WriteUInt16BigEndian(icmp[2..], Checksums.Update16(check, oldTypeCode, newTypeCode));
        UInt128 src = h.SrcIp;
        UInt128 dst = h.DstIp;
        if (h.IpVersion == 4)
        {
            // Swapping source and destination leaves the header checksum's sum unchanged; the TTL moves.
            ushort oldTtl = BinaryPrimitives.ReadUInt16BigEndian(ip[8..]);
            ip[8] = 64;
            ushort newTtl = BinaryPrimitives.ReadUInt16BigEndian(ip[8..]);
            BinaryPrimitives.WriteUInt32BigEndian(ip[12..], (uint)dst);
            BinaryPrimitives.WriteUInt32BigEndian(ip[16..], (uint)src);
            ushort sum = BinaryPrimitives.ReadUInt16BigEndian(ip[10..]);
            BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Checksums.Update16(sum, oldTtl, newTtl));
        }
        else
        {
            // The ICMPv6 pseudo-header sum is symmetric in the two addresses: only the type changed.
            ip[7] = 64;
            BinaryPrimitives.WriteUInt128BigEndian(ip[8..], dst);
            BinaryPrimitives.WriteUInt128BigEndian(ip[24..], src);
        }
        h.SrcIp = dst;
        h.DstIp = src;
        h.IcmpType = replyType;
        h.Ttl = 64;
        return EncapStage.ToUnderlay(ref ctx, ourUnderlay, peerUnderlay);
    }
}
