using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace MetalAgent.Dataplane.Flows;

/// <summary>
/// One direction of a connection as a packet shows it. <see cref="Zone"/> separates address
/// spaces: a tenant VNI (VNI id + 1) or the public side of a translation (0), so two networks using
/// the same addresses never meet in the flow table.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct FlowKey : IEquatable<FlowKey>
{
    public UInt128 Src;
    public UInt128 Dst;
    public uint Zone;
    public ushort SrcPort;
    public ushort DstPort;
    public byte Protocol;
    public byte IpVersion;

    public FlowKey(uint zone, byte ipVersion, byte protocol, UInt128 src, ushort srcPort, UInt128 dst, ushort dstPort)
    {
        Zone = zone;
        IpVersion = ipVersion;
        Protocol = protocol;
        Src = src;
        SrcPort = srcPort;
        Dst = dst;
        DstPort = dstPort;
    }

    /// <summary>The key of the other direction (addresses and ports swapped, same zone).</summary>
    public readonly FlowKey Reversed => new(Zone, IpVersion, Protocol, Dst, DstPort, Src, SrcPort);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly bool Equals(FlowKey other) =>
        Src == other.Src && Dst == other.Dst && Zone == other.Zone && SrcPort == other.SrcPort
        && DstPort == other.DstPort && Protocol == other.Protocol && IpVersion == other.IpVersion;

    public override readonly bool Equals(object? obj) => obj is FlowKey k && Equals(k);

    public override readonly int GetHashCode() => (int)Hash();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly ulong Hash() => Tables.Exact.FlowHash.HashFlow(Src, Dst, SrcPort, DstPort, Protocol, Zone ^ ((uint)IpVersion << 24));

    public static bool operator ==(FlowKey a, FlowKey b) => a.Equals(b);

    public static bool operator !=(FlowKey a, FlowKey b) => !a.Equals(b);

    public override readonly string ToString() =>
        $"zone {Zone} proto {Protocol} {Packets.Addresses.FormatIp(IpVersion, Src)}:{SrcPort} > {Packets.Addresses.FormatIp(IpVersion, Dst)}:{DstPort}";
}
