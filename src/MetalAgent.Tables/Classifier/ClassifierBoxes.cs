namespace MetalAgent.Tables.Classifier;

/// <summary>Build input of a cut-tree table: rules turned into boxes of inclusive 16-bit lane ranges, in
/// priority order (box id order is match order). A rule whose protocol mask is not a prefix mask becomes
/// several boxes. Each box also carries the partition it is searched in.</summary>
internal sealed class ClassifierBoxes
{
    private readonly List<ushort> _lo = [];
    private readonly List<ushort> _hi = [];
    private readonly List<int> _rule = [];
    private readonly List<int> _partition = [];

    /// <param name="laneBits">Significant bits per lane: 16 for address and port lanes, 8 for the protocol,
    /// 0 for padding. Cuts only look at these bits.</param>
    public ClassifierBoxes(ReadOnlySpan<byte> laneBits)
    {
        LaneCount = laneBits.Length;
        LaneBits = laneBits.ToArray();
    }

    public int LaneCount { get; }

    public byte[] LaneBits { get; }

    public int Count => _rule.Count;

    public ushort Lo(int box, int lane) => _lo[(box * LaneCount) + lane];

    public ushort Hi(int box, int lane) => _hi[(box * LaneCount) + lane];

    public int Rule(int box) => _rule[box];

    public int Partition(int box) => _partition[box];

    public ushort[] LoArray() => [.. _lo];

    public ushort[] HiArray() => [.. _hi];

    public void Add(ReadOnlySpan<ushort> lo, ReadOnlySpan<ushort> hi, int rule, int partition)
    {
        for (int i = 0; i < LaneCount; i++)
        {
            _lo.Add(lo[i]);
            _hi.Add(hi[i]);
        }
        _rule.Add(rule);
        _partition.Add(partition);
    }

    /// <summary>Replaces the values of <paramref name="lane"/> by the index of their elementary interval (the
    /// pieces the boxes' range ends cut the lane's domain into), so a cut on few bits separates exactly the
    /// values rules distinguish. Returns the map from value to class that keys must go through.</summary>
    public ushort[] CompressLane(int lane)
    {
        int domain = 1 << LaneBits[lane];
        var starts = new bool[domain + 1];
        starts[0] = true;
        for (int b = 0; b < Count; b++)
        {
            starts[Lo(b, lane)] = true;
            starts[Math.Min(Hi(b, lane), domain - 1) + 1] = true;
        }
        var map = new ushort[domain];
        int cls = -1;
        for (int v = 0; v < domain; v++)
        {
            if (starts[v])
            {
                cls++;
            }
            map[v] = (ushort)cls;
        }
        for (int b = 0; b < Count; b++)
        {
            int i = (b * LaneCount) + lane;
            _lo[i] = map[_lo[i]];
            _hi[i] = map[Math.Min(_hi[i], domain - 1)];
        }
        LaneBits[lane] = (byte)(cls == 0 ? 0 : 32 - System.Numerics.BitOperations.LeadingZeroCount((uint)cls));
        return map;
    }

    /// <summary>Writes a prefix of an address <paramref name="widthBits"/> wide as lane ranges, lane j holding
    /// bits [16j, 16j + 16). A prefix is the conjunction of per-lane prefixes, so the boxes stay exact.</summary>
    public static void PrefixLanes(UInt128 prefix, int length, int widthBits, Span<ushort> lo, Span<ushort> hi)
    {
        int lanes = widthBits / 16;
        for (int j = 0; j < lanes; j++)
        {
            int local = Math.Clamp(length - (widthBits - (16 * (j + 1))), 0, 16);
            ushort mask = local == 0 ? (ushort)0 : (ushort)(0xFFFF << (16 - local));
            ushort value = (ushort)(prefix >> (16 * j));
            lo[j] = (ushort)(value & mask);
            hi[j] = (ushort)(value | (ushort)~mask);
        }
    }

    /// <summary>Splits {p : (p ^ value) &amp; mask == 0} into ascending aligned ranges; returns how many
    /// (1 for prefix masks, at most 128).</summary>
    public static int ProtocolRanges(byte value, byte mask, Span<(byte Lo, byte Hi)> ranges)
    {
        if (mask == 0)
        {
            ranges[0] = (0, 255);
            return 1;
        }
        int low = System.Numerics.BitOperations.TrailingZeroCount((uint)mask);
        int blockSize = 1 << low;
        // Free bits above the lowest mask bit are enumerated; bits below it form each block.
        Span<int> free = stackalloc int[8];
        int freeCount = 0;
        for (int bit = low + 1; bit < 8; bit++)
        {
            if ((mask & (1 << bit)) == 0)
            {
                free[freeCount++] = bit;
            }
        }
        int fixedBits = value & mask;
        int n = 1 << freeCount;
        for (int i = 0; i < n; i++)
        {
            int p = fixedBits;
            for (int f = 0; f < freeCount; f++)
            {
                if ((i & (1 << f)) != 0)
                {
                    p |= 1 << free[f];
                }
            }
            ranges[i] = ((byte)p, (byte)(p + blockSize - 1));
        }
        return n;
    }
}
