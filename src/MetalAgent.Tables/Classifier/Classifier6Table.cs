namespace MetalAgent.Tables.Classifier;

/// <summary>Compiled IPv6 5-tuple classifier: returns the index of the best matching rule (lowest priority
/// number, then lowest index), exactly as <see cref="LinearClassifier"/> would. Immutable after
/// <see cref="Build"/>, safe for concurrent readers, no allocation per lookup.</summary>
public sealed class Classifier6Table
{
    private readonly ClassifierRule6[] _rules;
    private readonly CutTreeTable<Lanes24> _table;
    private readonly ushort[] _protocolClass;

    private Classifier6Table(ClassifierRule6[] rules, CutTreeTable<Lanes24> table, ushort[] protocolClass)
    {
        _rules = rules;
        _table = table;
        _protocolClass = protocolClass;
    }

    /// <summary>The rules, as given to <see cref="Build"/>; results index into this.</summary>
    public ReadOnlySpan<ClassifierRule6> Rules => _rules;

    public int Count => _rules.Length;

    /// <summary>Approximate bytes of the lookup structure.</summary>
    public long MemoryBytes => _table.MemoryBytes;

    /// <summary>Number of partition trees a lookup may visit.</summary>
    public int TreeCount => _table.TreeCount;

    /// <summary>Prefix length from which an address counts as narrow when partitioning rules.</summary>
    private const int PartitionPrefixLength = 32;

    /// <summary>Compiles <paramref name="rules"/>. Throws <see cref="ArgumentException"/> for an invalid rule.</summary>
    public static Classifier6Table Build(ReadOnlySpan<ClassifierRule6> rules)
    {
        ClassifierRule6[] copy = rules.ToArray();
        var boxes = new ClassifierBoxes([16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 8, 0, 0, 0, 0, 0]);
        Span<ushort> lo = stackalloc ushort[Lanes24.Count];
        Span<ushort> hi = stackalloc ushort[Lanes24.Count];
        Span<(byte Lo, byte Hi)> protocols = stackalloc (byte, byte)[128];
        foreach (int i in ClassifierOrder.ByPriority(copy.Length, i => copy[i].Priority))
        {
            ref readonly ClassifierRule6 rule = ref copy[i];
            rule.Validate();
            lo.Clear();
            hi.Fill(ushort.MaxValue); // padding lanes 19..23 stay full, so they never narrow a box
            ClassifierBoxes.PrefixLanes(rule.SrcPrefix, rule.SrcPrefixLength, 128, lo[0..8], hi[0..8]);
            ClassifierBoxes.PrefixLanes(rule.DstPrefix, rule.DstPrefixLength, 128, lo[8..16], hi[8..16]);
            (lo[16], hi[16]) = (rule.SrcPortLo, rule.SrcPortHi);
            (lo[17], hi[17]) = (rule.DstPortLo, rule.DstPortHi);
            // Partitions by which addresses are narrow keep wide rules from replicating into cuts on narrow ones.
            int partition = (rule.SrcPrefixLength >= PartitionPrefixLength ? 1 : 0) | (rule.DstPrefixLength >= PartitionPrefixLength ? 2 : 0);
            int ranges = ClassifierBoxes.ProtocolRanges(rule.Protocol, rule.ProtocolMask, protocols);
            for (int r = 0; r < ranges; r++)
            {
                (lo[18], hi[18]) = (protocols[r].Lo, protocols[r].Hi);
                boxes.Add(lo, hi, i, partition);
            }
        }
        ushort[] protocolClass = boxes.CompressLane(18);
        return new Classifier6Table(copy, CutTreeTable<Lanes24>.Build(boxes), protocolClass);
    }

    internal ulong Fingerprint() => _table.Fingerprint();

    /// <summary>Index (into <see cref="Rules"/>) of the best rule matching <paramref name="key"/>, or -1.</summary>
    public int Classify(in FlowKey6 key) => _table.Classify(Lanes24.From(in key, _protocolClass));

    /// <summary>Classifies every key into <paramref name="results"/> (at least as long as <paramref name="keys"/>).
    /// Keys go through the tables four at a time with interleaved walks, which hides memory latency.</summary>
    public void Classify(ReadOnlySpan<FlowKey6> keys, Span<int> results)
    {
        results = results[..keys.Length];
        CutTreeTable<Lanes24> table = _table;
        ushort[] protocolClass = _protocolClass;
        Span<Lanes24> quad = stackalloc Lanes24[CutTreeTable<Lanes24>.QuadSize];
        int i = 0;
        for (; i + quad.Length <= keys.Length; i += quad.Length)
        {
            for (int q = 0; q < quad.Length; q++)
            {
                quad[q] = Lanes24.From(in keys[i + q], protocolClass);
            }
            table.ClassifyQuad(quad, results.Slice(i, quad.Length));
        }
        for (; i < keys.Length; i++)
        {
            results[i] = table.Classify(Lanes24.From(in keys[i], protocolClass));
        }
    }
}
