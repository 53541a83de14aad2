namespace MetalAgent.Tables.Classifier;

/// <summary>Encoding of the 64-bit node references of a <see cref="CutTreeTable{TLanes}"/>.
/// Internal node (bit 0 set): bits 1..4 cut bits - 1, 5..8 shift, 9..13 lane. Leaf (bit 0 clear): bits 1..13
/// entry count (<see cref="LeafCountEscape"/>: the count is the tag of a header entry before the entries).
/// Both: bits 14..37 a lower bound of the best (lowest) box id below (saturated), bits 38..63 first child
/// slot or first leaf entry. The reference 0 is the empty leaf.</summary>
internal static class CutTreeRef
{
    public const int MaxMinBox = (1 << 24) - 1;
    public const int LeafCountEscape = (1 << 13) - 1;
    public const int MaxOffset = (1 << 26) - 1;

    public static ulong Internal(int firstSlot, int lane, int shift, int bits, int minBox) =>
        1UL | ((ulong)(uint)(bits - 1) << 1) | ((ulong)(uint)shift << 5) | ((ulong)(uint)lane << 9)
        | ((ulong)(uint)Math.Min(minBox, MaxMinBox) << 14) | ((ulong)(uint)firstSlot << 38);

    public static ulong Leaf(int offset, int count, int minBox) =>
        ((ulong)(uint)Math.Min(count, LeafCountEscape) << 1) | ((ulong)(uint)Math.Min(minBox, MaxMinBox) << 14) | ((ulong)(uint)offset << 38);

    public static int MinBox(ulong r) => (int)(r >> 14) & MaxMinBox;

    public static int Offset(ulong r) => (int)(r >> 38);
}
