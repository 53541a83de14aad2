using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MetalAgent.Tables.Classifier;

/// <summary>Eight 16-bit lanes for an IPv4 key: src low/high, dst low/high, src port, dst port, protocol, 0.</summary>
internal struct Lanes8 : IClassifierLanes<Lanes8>
{
    public Vector128<ushort> V;

    public static int Count => 8;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool InRange(in Lanes8 key, in Lanes8 lo, in Lanes8 span)
    {
        // (key - lo) wraps around below lo, so one unsigned min tests both bounds.
        Vector128<ushort> d = key.V - lo.V;
        return Vector128.EqualsAll(Vector128.Min(d, span.V), d);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes8 From(in FlowKey4 key) => new()
    {
        V = Vector128.Create(key.Src, key.Dst, key.SrcPort | ((uint)key.DstPort << 16), key.Protocol).AsUInt16(),
    };
}
