namespace MetalAgent.Tables.Classifier;

/// <summary>A fixed vector of 16-bit lanes holding a flow key (or one corner of a rule box). The cut tree
/// works on lanes only; implementations are structs so the tables specialise per family without dispatch.
/// Padding lanes of a box carry a 32-bit tag (the box id) and are ignored by <see cref="InRange"/>.</summary>
internal interface IClassifierLanes<TSelf>
    where TSelf : unmanaged, IClassifierLanes<TSelf>
{
    /// <summary>Number of 16-bit lanes (including padding lanes).</summary>
    static abstract int Count { get; }

    /// <summary>Whether lo[i] &lt;= key[i] &lt;= lo[i] + span[i] holds in every non-padding lane (unsigned).</summary>
    static abstract bool InRange(in TSelf key, in TSelf lo, in TSelf span);

    /// <summary>The tag stored in the padding lanes of a box.</summary>
    static abstract int GetTag(in TSelf lo, in TSelf span);

    static abstract void SetTag(ref TSelf lo, ref TSelf span, int tag);
}
