namespace MetalAgent.Tables.Classifier;

/// <summary>A fixed vector of 16-bit lanes holding a flow key (or one corner of a rule box). The cut tree
/// works on lanes only; implementations are structs so the tables specialise per family without dispatch.</summary>
internal interface IClassifierLanes<TSelf>
    where TSelf : unmanaged, IClassifierLanes<TSelf>
{
    /// <summary>Number of 16-bit lanes (including zero padding lanes).</summary>
    static abstract int Count { get; }

    /// <summary>Whether lo[i] &lt;= key[i] &lt;= lo[i] + span[i] holds in every lane (unsigned).</summary>
    static abstract bool InRange(in TSelf key, in TSelf lo, in TSelf span);
}
