namespace MetalAgent.Tables.Classifier;

/// <summary>An IPv4 5-tuple rule: source and destination prefixes, inclusive port ranges, protocol
/// value/mask (mask 0 = any protocol), priority (lower number wins; ties go to the lower rule index)
/// and an opaque action value. Addresses are host-order numbers; bits beyond a prefix length are ignored.</summary>
public readonly record struct ClassifierRule4(
    uint SrcPrefix,
    byte SrcPrefixLength,
    uint DstPrefix,
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
    public static ClassifierRule4 Any(int priority, uint action) => new(0, 0, 0, 0, 0, ushort.MaxValue, 0, ushort.MaxValue, 0, 0, priority, action);

    /// <summary>Whether the rule matches <paramref name="key"/>: the reference semantics every classifier follows.</summary>
    public bool Matches(in FlowKey4 key) =>
        ((key.Src ^ SrcPrefix) & PrefixMaskOf(SrcPrefixLength)) == 0
        && ((key.Dst ^ DstPrefix) & PrefixMaskOf(DstPrefixLength)) == 0
        && key.SrcPort >= SrcPortLo && key.SrcPort <= SrcPortHi
        && key.DstPort >= DstPortLo && key.DstPort <= DstPortHi
        && ((key.Protocol ^ Protocol) & ProtocolMask) == 0;

    /// <summary>Throws <see cref="ArgumentException"/> when a prefix length exceeds 32 or a port range is empty.</summary>
    public void Validate()
    {
        if (SrcPrefixLength > 32 || DstPrefixLength > 32)
        {
            throw new ArgumentException($"IPv4 prefix length above 32 in {this}");
        }
        if (SrcPortLo > SrcPortHi || DstPortLo > DstPortHi)
        {
            throw new ArgumentException($"empty port range in {this}");
        }
    }

    /// <summary>The network mask of a prefix length (0..32) in host order.</summary>
    public static uint PrefixMaskOf(int length) => length == 0 ? 0 : uint.MaxValue << (32 - length);
}
