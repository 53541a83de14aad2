namespace MetalAgent.Tables.Classifier;

/// <summary>An IPv6 5-tuple rule: source and destination prefixes, inclusive port ranges, protocol
/// (next header) value/mask (mask 0 = any), priority (lower number wins; ties go to the lower rule index)
/// and an opaque action value. Addresses are host-order numbers; bits beyond a prefix length are ignored.</summary>
public readonly record struct ClassifierRule6(
    UInt128 SrcPrefix,
    byte SrcPrefixLength,
    UInt128 DstPrefix,
    byte DstPrefixLength,
    ushort SrcPortLo,
    ushort SrcPortHi,
    ushort DstPortLo,
    ushort DstPortHi,
    byte Protocol,
    byte ProtocolMask,
    int Priority,
    uint Action)
{
    /// <summary>A rule matching every packet.</summary>
    public static ClassifierRule6 Any(int priority, uint action) => new(0, 0, 0, 0, 0, ushort.MaxValue, 0, ushort.MaxValue, 0, 0, priority, action);

    /// <summary>Whether the rule matches <paramref name="key"/>: the reference semantics every classifier follows.</summary>
    public bool Matches(in FlowKey6 key) =>
        ((key.Src ^ SrcPrefix) & PrefixMaskOf(SrcPrefixLength)) == UInt128.Zero
        && ((key.Dst ^ DstPrefix) & PrefixMaskOf(DstPrefixLength)) == UInt128.Zero
        && key.SrcPort >= SrcPortLo && key.SrcPort <= SrcPortHi
        && key.DstPort >= DstPortLo && key.DstPort <= DstPortHi
        && ((key.Protocol ^ Protocol) & ProtocolMask) == 0;

    /// <summary>Throws <see cref="ArgumentException"/> when a prefix length exceeds 128 or a port range is empty.</summary>
    public void Validate()
    {
        if (SrcPrefixLength > 128 || DstPrefixLength > 128)
        {
            throw new ArgumentException($"IPv6 prefix length above 128 in {this}");
        }
        if (SrcPortLo > SrcPortHi || DstPortLo > DstPortHi)
        {
            throw new ArgumentException($"empty port range in {this}");
        }
    }

    /// <summary>The network mask of a prefix length (0..128) in host order.</summary>
    public static UInt128 PrefixMaskOf(int length) => length == 0 ? UInt128.Zero : UInt128.MaxValue << (128 - length);
}
