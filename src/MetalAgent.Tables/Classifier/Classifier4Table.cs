namespace MetalAgent.Tables.Classifier;

/// <summary>Compiled IPv4 5-tuple classifier: returns the index of the best matching rule (lowest priority
/// number, then lowest index), exactly as <see cref="LinearClassifier"/> would. Immutable after
/// <see cref="Build"/>, safe for concurrent readers, no allocation per lookup.</summary>
public sealed class Classifier4Table
{
    private readonly ClassifierRule4[] _rules;
    private readonly CutTreeTable<Lanes8> _table;
    private readonly ushort[] _protocolClass;

    private Classifier4Table(ClassifierRule4[] rules, CutTreeTable<Lanes8> table, ushort[] protocolClass)
    {
        _rules = rules;
        _table = table;
        _protocolClass = protocolClass;
    }

    /// <summary>The rules, as given to <see cref="Build"/>; results index into this.</summary>
    public ReadOnlySpan<ClassifierRule4> Rules => _rules;

    public int Count => _rules.Length;

    /// <summary>Approximate bytes of the lookup structure.</summary>
    public long MemoryBytes => _table.MemoryBytes;

    /// <summary>Number of partition trees a lookup may visit.</summary>
    public int TreeCount => _table.TreeCount;

    /// <summary>Prefix length from which an address counts as narrow when partitioning rules.</summary>
    private const int PartitionPrefixLength = 8;

    /// <summary>Compiles <paramref name="rules"/>. Throws <see cref="ArgumentException"/> for an invalid rule.</summary>
    public static Classifier4Table Build(ReadOnlySpan<ClassifierRule4> rules)
    {
        ClassifierRule4[] copy = rules.ToArray();
        var boxes = new ClassifierBoxes([16, 16, 16, 16, 16, 16, 8, 0]);
        Span<ushort> lo = stackalloc ushort[Lanes8.Count];
        Span<ushort> hi = stackalloc ushort[Lanes8.Count];
        Span<(byte Lo, byte Hi)> protocols = stackalloc (byte, byte)[128];
        foreach (int i in ClassifierOrder.ByPriority(copy.Length, i => copy[i].Priority))
        {
            ref readonly ClassifierRule4 rule = ref copy[i];
            rule.Validate();
            lo.Clear();
            hi.Fill(ushort.MaxValue); // padding lane 7 stays full, so it never narrows a box
            ClassifierBoxes.PrefixLanes(rule.SrcPrefix, rule.SrcPrefixLength, 32, lo[0..2], hi[0..2]);
            ClassifierBoxes.PrefixLanes(rule.DstPrefix, rule.DstPrefixLength, 32, lo[2..4], hi[2..4]);
            (lo[4], hi[4]) = (rule.SrcPortLo, rule.SrcPortHi);
            (lo[5], hi[5]) = (rule.DstPortLo, rule.DstPortHi);
            // Partitions by which addresses are narrow keep wide rules from replicating into cuts on narrow ones.
            int partition = (rule.SrcPrefixLength >= PartitionPrefixLength ? 1 : 0) | (rule.DstPrefixLength >= PartitionPrefixLength ? 2 : 0);
            int ranges = ClassifierBoxes.ProtocolRanges(rule.Protocol, rule.ProtocolMask, protocols);
            for (int r = 0; r < ranges; r++)
            {
                (lo[6], hi[6]) = (protocols[r].Lo, protocols[r].Hi);
                boxes.Add(lo, hi, i, partition);
            }
        }
        ushort[] protocolClass = boxes.CompressLane(6);
        return new Classifier4Table(copy, CutTreeTable<Lanes8>.Build(boxes), protocolClass);
    }

    internal ulong Fingerprint() => _table.Fingerprint();

    /// <summary>Index (into <see cref="Rules"/>) of the best rule matching <paramref name="key"/>, or -1.</summary>
    public int Classify(in FlowKey4 key) => _table.Classify(Lanes8.From(in key, _protocolClass));

    /// <summary>Classifies every key into <paramref name="results"/> (at least as long as <paramref name="keys"/>).
    /// Keys go through the tables four at a time with interleaved walks, which hides memory latency.</summary>
    public void Classify(ReadOnlySpan<FlowKey4> keys, Span<int> results)
    {
        results = results[..keys.Length];
        CutTreeTable<Lanes8> table = _table;
        ushort[] protocolClass = _protocolClass;
        Span<Lanes8> quad = stackalloc Lanes8[CutTreeTable<Lanes8>.QuadSize];
        int i = 0;
        for (; i + quad.Length <= keys.Length; i += quad.Length)
        {
            for (int q = 0; q < quad.Length; q++)
            {
                quad[q] = Lanes8.From(in keys[i + q], protocolClass);
            }
            table.ClassifyQuad(quad, results.Slice(i, quad.Length));
        }
        for (; i < keys.Length; i++)
        {
            results[i] = table.Classify(Lanes8.From(in keys[i], protocolClass));
        }
    }
}
