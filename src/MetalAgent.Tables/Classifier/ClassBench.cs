using System.Globalization;
using System.IO.Compression;
using MetalAgent.Packets;

namespace MetalAgent.Tables.Classifier;

/// <summary>A ClassBench filter set as IPv4 classifier rules. Line i (0-based) becomes rule i with priority i
/// and action i, so earlier lines win, as in ClassBench. The FLAGS column is ignored.</summary>
public sealed class ClassBenchRuleSet
{
    public ClassBenchRuleSet(string name, ClassifierRule4[] rules)
    {
        Name = name;
        Rules = rules;
    }

    public string Name { get; }

    public ClassifierRule4[] Rules { get; }

    /// <summary>Reads a rule file; names ending in ".gz" are decompressed with <see cref="GZipStream"/>.</summary>
    public static ClassBenchRuleSet Load(string path)
    {
        using TextReader reader = ClassBenchFile.OpenText(path);
        return Parse(reader, ClassBenchFile.NameOf(path));
    }

    /// <summary>Parses lines like <c>@10.0.0.0/8 192.168.1.0/24 0 : 65535 80 : 80 0x06/0xFF 0x0000/0x0000</c>
    /// (tab separated). Throws <see cref="FormatException"/> on a malformed line.</summary>
    public static ClassBenchRuleSet Parse(TextReader reader, string name)
    {
        var rules = new List<ClassifierRule4>();
        string? line;
        int lineNumber = 0;
        while ((line = reader.ReadLine()) is not null)
        {
            lineNumber++;
            if (line.Length == 0)
            {
                continue;
            }
            string[] f = line.Split('\t', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (f.Length < 5 || !f[0].StartsWith('@'))
            {
                throw Malformed(name, lineNumber, line);
            }
            if (!TryPrefix(f[0][1..], out uint src, out byte srcLength)
                || !TryPrefix(f[1], out uint dst, out byte dstLength)
                || !TryRange(f[2], out ushort sportLo, out ushort sportHi)
                || !TryRange(f[3], out ushort dportLo, out ushort dportHi)
                || !TryHexPair(f[4], out byte protocol, out byte protocolMask))
            {
                throw Malformed(name, lineNumber, line);
            }
            int index = rules.Count;
            rules.Add(new ClassifierRule4(src, srcLength, dst, dstLength, sportLo, sportHi, dportLo, dportHi, protocol, protocolMask, index, (uint)index));
        }
        return new ClassBenchRuleSet(name, [.. rules]);
    }

    private static FormatException Malformed(string name, int lineNumber, string line) =>
        new($"{name}:{lineNumber}: not a ClassBench rule: '{line}'");

    private static bool TryPrefix(string text, out uint prefix, out byte length)
    {
        prefix = 0;
        length = 0;
        if (!Addresses.TryParsePrefix(text, out byte version, out UInt128 network, out length, out _) || version != 4)
        {
            return false;
        }
        prefix = (uint)network;
        return true;
    }

    private static bool TryRange(string text, out ushort lo, out ushort hi)
    {
        hi = 0;
        int colon = text.IndexOf(':', StringComparison.Ordinal);
        lo = 0;
        return colon > 0
            && ushort.TryParse(text.AsSpan(0, colon).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out lo)
            && ushort.TryParse(text.AsSpan(colon + 1).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out hi)
            && lo <= hi;
    }

    private static bool TryHexPair(string text, out byte value, out byte mask)
    {
        value = 0;
        mask = 0;
        int slash = text.IndexOf('/', StringComparison.Ordinal);
        return slash > 0
            && TryHexByte(text.AsSpan(0, slash), out value)
            && TryHexByte(text.AsSpan(slash + 1), out mask);
    }

    private static bool TryHexByte(ReadOnlySpan<char> text, out byte value)
    {
        if (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            text = text[2..];
        }
        return byte.TryParse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
    }
}

/// <summary>A ClassBench header trace as IPv4 flow keys. <see cref="GeneratorRules"/> is the trace's RULE
/// column: the rule the header was generated from, which is not necessarily the best match. In the files of
/// data/classbench it is a 0-based rule index (the header matches rule RULE, counting from 0).</summary>
public sealed class ClassBenchTrace
{
    public ClassBenchTrace(string name, FlowKey4[] keys, int[] generatorRules)
    {
        Name = name;
        Keys = keys;
        GeneratorRules = generatorRules;
    }

    public string Name { get; }

    public FlowKey4[] Keys { get; }

    public int[] GeneratorRules { get; }

    /// <summary>Reads a trace file; names ending in ".gz" are decompressed with <see cref="GZipStream"/>.</summary>
    public static ClassBenchTrace Load(string path)
    {
        using TextReader reader = ClassBenchFile.OpenText(path);
        return Parse(reader, ClassBenchFile.NameOf(path));
    }

    /// <summary>Parses lines of decimal fields <c>SRC DST SPORT DPORT PROTO FLAGS RULE</c>. Throws
    /// <see cref="FormatException"/> on a malformed line.</summary>
    public static ClassBenchTrace Parse(TextReader reader, string name)
    {
        var keys = new List<FlowKey4>();
        var generatorRules = new List<int>();
        string? line;
        int lineNumber = 0;
        Span<long> fields = stackalloc long[7];
        while ((line = reader.ReadLine()) is not null)
        {
            lineNumber++;
            ReadOnlySpan<char> rest = line.AsSpan().Trim();
            if (rest.IsEmpty)
            {
                continue;
            }
            int count = 0;
            while (!rest.IsEmpty && count < fields.Length)
            {
                int end = rest.IndexOfAny(' ', '\t');
                ReadOnlySpan<char> token = end < 0 ? rest : rest[..end];
                if (!long.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out fields[count]))
                {
                    throw Malformed(name, lineNumber, line);
                }
                count++;
                rest = end < 0 ? [] : rest[end..].TrimStart();
            }
            if (count < 7 || fields[0] > uint.MaxValue || fields[1] > uint.MaxValue || fields[2] > ushort.MaxValue
                || fields[3] > ushort.MaxValue || fields[4] > byte.MaxValue || fields[6] > int.MaxValue)
            {
                throw Malformed(name, lineNumber, line);
            }
            keys.Add(new FlowKey4((uint)fields[0], (uint)fields[1], (ushort)fields[2], (ushort)fields[3], (byte)fields[4]));
            generatorRules.Add((int)fields[6]);
        }
        return new ClassBenchTrace(name, [.. keys], [.. generatorRules]);
    }

    private static FormatException Malformed(string name, int lineNumber, string line) =>
        new($"{name}:{lineNumber}: not a ClassBench trace line: '{line}'");
}

/// <summary>Opening of ClassBench files, plain or gzip-compressed.</summary>
internal static class ClassBenchFile
{
    public static TextReader OpenText(string path)
    {
        Stream stream = File.OpenRead(path);
        if (path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase))
        {
            stream = new GZipStream(stream, CompressionMode.Decompress);
        }
        return new StreamReader(stream);
    }

    public static string NameOf(string path)
    {
        string name = Path.GetFileName(path);
        return name.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? name[..^3] : name;
    }
}
