namespace MetalAgent.Tables.Exact;

/// <summary>A fixed-size key for <see cref="ExactTable{TKey, TValue}"/>: value equality plus a
/// deterministic 64-bit hash. The hash is a static member so generic table code calls it
/// without any virtual or interface dispatch.</summary>
public interface IExactKey<TSelf> : IEquatable<TSelf>
    where TSelf : unmanaged, IExactKey<TSelf>
{
    /// <summary>A well-mixed 64-bit hash that is identical across processes (use <see cref="FlowHash"/>).</summary>
    static abstract ulong Hash(in TSelf key);
}
