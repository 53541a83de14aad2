using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MetalAgent.Tables.Classifier;

/// <summary>Twenty-four 16-bit lanes for an IPv6 key: src (8 lanes, least significant first), dst (8 lanes),
/// src port, dst port, protocol, then padding (0 in keys; in boxes lanes 20..21 of lo hold the tag).</summary>
internal struct Lanes24 : IClassifierLanes<Lanes24>
{
    public Vector128<ushort> Src;
    public Vector128<ushort> Dst;
    public Vector128<ushort> Rest;

    public static int Count => 24;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool InRange(in Lanes24 key, in Lanes24 lo, in Lanes24 span)
    {
        Vector128<ushort> a = key.Src - lo.Src;
        Vector128<ushort> b = key.Dst - lo.Dst;
        Vector128<ushort> c = key.Rest - lo.Rest;
        Vector128<ushort> ok = Vector128.Equals(Vector128.Min(a, span.Src), a)
            & Vector128.Equals(Vector128.Min(b, span.Dst), b)
            & (Vector128.Equals(Vector128.Min(c, span.Rest), c) | Vector128.Create((ushort)0, 0, 0, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF));
        return ok == Vector128<ushort>.AllBitsSet;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int GetTag(in Lanes24 lo, in Lanes24 span) => (int)lo.Rest.AsUInt32().GetElement(2);

    public static void SetTag(ref Lanes24 lo, ref Lanes24 span, int tag) =>
        lo.Rest = lo.Rest.AsUInt32().WithElement(2, (uint)tag).AsUInt16();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes24 From(in FlowKey6 key, ushort[] protocolClass) => new()
    {
        Src = Unsafe.BitCast<UInt128, Vector128<ushort>>(key.Src),
        Dst = Unsafe.BitCast<UInt128, Vector128<ushort>>(key.Dst),
        Rest = Vector128.Create(key.SrcPort | ((uint)key.DstPort << 16), protocolClass[key.Protocol], 0u, 0u).AsUInt16(),
    };
}
