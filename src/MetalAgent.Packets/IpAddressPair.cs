namespace MetalAgent.Packets;

/// <summary>Source and destination of an IP packet with its version: what an L4 checksum's
/// pseudo-header needs. IPv4 addresses are the low 32 bits (host order).</summary>
public readonly struct IpAddressPair
{
    public IpAddressPair(byte version, UInt128 src, UInt128 dst)
    {
        if (version is not (4 or 6))
        {
            throw new ArgumentOutOfRangeException(nameof(version), version, "IP version must be 4 or 6");
        }
        Version = version;
        Src = src;
        Dst = dst;
    }

    public byte Version { get; }

    public UInt128 Src { get; }

    public UInt128 Dst { get; }

    public static IpAddressPair V4(uint src, uint dst) => new(4, src, dst);

    public static IpAddressPair V6(UInt128 src, UInt128 dst) => new(6, src, dst);

    /// <summary>The addresses of a parsed packet.</summary>
    public static IpAddressPair From(in PacketHeaders h) => new(h.IpVersion, h.SrcIp, h.DstIp);
}
