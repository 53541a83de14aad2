using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MetalAgent.Tables.Classifier;

/// <summary>Eight 16-bit lanes for an IPv4 key: src low/high, dst low/high, src port, dst port, protocol, and a
/// padding lane (0 in keys; in boxes lane 7 of lo and span hold the tag's low and high halves).</summary>
internal struct Lanes8 : IClassifierLanes<Lanes8>
{
    public Vector128<ushort> V;

    public static int Count => 8;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool InRange(in Lanes8 key, in Lanes8 lo, in Lanes8 span)
    {
        // (key - lo) wraps around below lo, so one unsigned min tests both bounds.
        Vector128<ushort> d = key.V - lo.V;
        Vector128<ushort> ok = Vector128.Equals(Vector128.Min(d, span.V), d)
            | Vector128.Create((ushort)0, 0, 0, 0, 0, 0, 0, 0xFFFF);
        return ok == Vector128<ushort>.AllBitsSet;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int GetTag(in Lanes8 lo, in Lanes8 span) => lo.V.GetElement(7) | (span.V.GetElement(7) << 16);

    public static void SetTag(ref Lanes8 lo, ref Lanes8 span, int tag)
    {
        lo.V = lo.V.WithElement(7, (ushort)tag);
        span.V = span.V.WithElement(7, (ushort)((uint)tag >> 16));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes8 From(in FlowKey4 key, ushort[] protocolClass) => new()
    {
        V = Vector128.Create(key.Src, key.Dst, key.SrcPort | ((uint)key.DstPort << 16), protocolClass[key.Protocol]).AsUInt16(),
    };
}
