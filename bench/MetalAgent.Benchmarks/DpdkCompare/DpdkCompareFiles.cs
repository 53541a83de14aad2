using System.Buffers.Binary;
using MetalAgent.Dataplane.Flows;
using MetalAgent.Tables.Classifier;
using MetalAgent.Tables.Exact;
using MetalAgent.Tables.Lpm;

namespace MetalAgent.Benchmarks.DpdkCompare;

/// <summary>
/// The files shared with the DPDK harness (bench/dpdk/dpdk_compare.c): headerless arrays of
/// fixed-size little-endian records, one file per input. The C structs there mirror these layouts.
/// <list type="bullet">
/// <item><c>lpm4_*.routes</c>: u32 prefix (host order), u32 length, u32 value. <c>lpm4_*.keys</c>: u32 address.</item>
/// <item><c>lpm6_*.routes</c>: 16-byte prefix (network order), u32 length, u32 value. <c>lpm6_*.keys</c>: 16-byte address (network order).</item>
/// <item><c>exact_1m.entries</c>: 32-byte key, u32 value, u32 zero. <c>exact_1m.keys</c>: 32-byte keys.
/// A key is <see cref="VniAddressKey"/>: address high u64, address low u64, u32 VNI, u8 IP version, zero padding.</item>
/// <item><c>flow_1m.flows</c>: 48-byte forward key, 48-byte reply key; record i is flow id i.
/// <c>flow_1m.keys</c>: 48-byte keys. A key is <see cref="FlowKey"/>: source u128, destination u128,
/// u32 zone, u16 source port, u16 destination port, u8 protocol, u8 IP version, 6 zero bytes.</item>
/// <item><c>*_10k.rules</c>: u32 source, u32 destination (host bits zero), u16 source port lo, hi,
/// u16 destination port lo, hi, u8 source length, u8 destination length, u8 protocol, u8 protocol mask;
/// record i has priority i (the first wins). <c>*_10k.trace</c>: u32 source, u32 destination,
/// u16 source port, u16 destination port, u8 protocol, 3 zero bytes.</item>
/// </list>
/// </summary>
internal static class DpdkCompareFiles
{
    public const int Lpm4RouteSize = 12;
    public const int Lpm6RouteSize = 24;
    public const int ExactKeySize = 32;
    public const int ExactEntrySize = ExactKeySize + 8;
    public const int FlowKeySize = 48;
    public const int RuleSize = 20;
    public const int TraceSize = 16;

    /// <summary>Decodes record <paramref name="index"/> of a file.</summary>
    public delegate T RecordReader<T>(ReadOnlySpan<byte> record, int index);

    public static void WriteLpm4Route(Span<byte> d, Lpm4Route route)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(d, route.Prefix);
        BinaryPrimitives.WriteUInt32LittleEndian(d[4..], route.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(d[8..], route.Value);
    }

    public static Lpm4Route ReadLpm4Route(ReadOnlySpan<byte> s) =>
        new(BinaryPrimitives.ReadUInt32LittleEndian(s), (byte)BinaryPrimitives.ReadUInt32LittleEndian(s[4..]), BinaryPrimitives.ReadUInt32LittleEndian(s[8..]));

    public static void WriteLpm6Route(Span<byte> d, Lpm6Route route)
    {
        BinaryPrimitives.WriteUInt128BigEndian(d, route.Prefix);
        BinaryPrimitives.WriteUInt32LittleEndian(d[16..], route.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(d[20..], route.Value);
    }

    public static Lpm6Route ReadLpm6Route(ReadOnlySpan<byte> s) =>
        new(BinaryPrimitives.ReadUInt128BigEndian(s), (byte)BinaryPrimitives.ReadUInt32LittleEndian(s[16..]), BinaryPrimitives.ReadUInt32LittleEndian(s[20..]));

    public static void WriteExactKey(Span<byte> d, VniAddressKey key)
    {
        d[..ExactKeySize].Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(d, (ulong)(key.Address >> 64));
        BinaryPrimitives.WriteUInt64LittleEndian(d[8..], (ulong)key.Address);
        BinaryPrimitives.WriteUInt32LittleEndian(d[16..], key.Vni);
        d[20] = key.IpVersion;
    }

    public static VniAddressKey ReadExactKey(ReadOnlySpan<byte> s) =>
        new(BinaryPrimitives.ReadUInt32LittleEndian(s[16..]), s[20],
            new UInt128(BinaryPrimitives.ReadUInt64LittleEndian(s), BinaryPrimitives.ReadUInt64LittleEndian(s[8..])));

    public static void WriteFlowKey(Span<byte> d, in FlowKey key)
    {
        d[..FlowKeySize].Clear();
        BinaryPrimitives.WriteUInt128LittleEndian(d, key.Src);
        BinaryPrimitives.WriteUInt128LittleEndian(d[16..], key.Dst);
        BinaryPrimitives.WriteUInt32LittleEndian(d[32..], key.Zone);
        BinaryPrimitives.WriteUInt16LittleEndian(d[36..], key.SrcPort);
        BinaryPrimitives.WriteUInt16LittleEndian(d[38..], key.DstPort);
        d[40] = key.Protocol;
        d[41] = key.IpVersion;
    }

    public static FlowKey ReadFlowKey(ReadOnlySpan<byte> s) =>
        new(BinaryPrimitives.ReadUInt32LittleEndian(s[32..]), s[41], s[40],
            BinaryPrimitives.ReadUInt128LittleEndian(s), BinaryPrimitives.ReadUInt16LittleEndian(s[36..]),
            BinaryPrimitives.ReadUInt128LittleEndian(s[16..]), BinaryPrimitives.ReadUInt16LittleEndian(s[38..]));

    public static void WriteRule(Span<byte> d, in ClassifierRule4 rule)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(d, rule.SrcPrefix & ClassifierRule4.PrefixMaskOf(rule.SrcPrefixLength));
        BinaryPrimitives.WriteUInt32LittleEndian(d[4..], rule.DstPrefix & ClassifierRule4.PrefixMaskOf(rule.DstPrefixLength));
        BinaryPrimitives.WriteUInt16LittleEndian(d[8..], rule.SrcPortLo);
        BinaryPrimitives.WriteUInt16LittleEndian(d[10..], rule.SrcPortHi);
        BinaryPrimitives.WriteUInt16LittleEndian(d[12..], rule.DstPortLo);
        BinaryPrimitives.WriteUInt16LittleEndian(d[14..], rule.DstPortHi);
        d[16] = rule.SrcPrefixLength;
        d[17] = rule.DstPrefixLength;
        d[18] = (byte)(rule.Protocol & rule.ProtocolMask);
        d[19] = rule.ProtocolMask;
    }

    /// <summary>Rule <paramref name="index"/> of a file: priority and action are the index, as ClassBench parsing gives.</summary>
    public static ClassifierRule4 ReadRule(ReadOnlySpan<byte> s, int index) =>
        new(BinaryPrimitives.ReadUInt32LittleEndian(s), s[16], BinaryPrimitives.ReadUInt32LittleEndian(s[4..]), s[17],
            BinaryPrimitives.ReadUInt16LittleEndian(s[8..]), BinaryPrimitives.ReadUInt16LittleEndian(s[10..]),
            BinaryPrimitives.ReadUInt16LittleEndian(s[12..]), BinaryPrimitives.ReadUInt16LittleEndian(s[14..]),
            s[18], s[19], index, (uint)index);

    public static void WriteTraceKey(Span<byte> d, in FlowKey4 key)
    {
        d[..TraceSize].Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(d, key.Src);
        BinaryPrimitives.WriteUInt32LittleEndian(d[4..], key.Dst);
        BinaryPrimitives.WriteUInt16LittleEndian(d[8..], key.SrcPort);
        BinaryPrimitives.WriteUInt16LittleEndian(d[10..], key.DstPort);
        d[12] = key.Protocol;
    }

    public static FlowKey4 ReadTraceKey(ReadOnlySpan<byte> s) =>
        new(BinaryPrimitives.ReadUInt32LittleEndian(s), BinaryPrimitives.ReadUInt32LittleEndian(s[4..]),
            BinaryPrimitives.ReadUInt16LittleEndian(s[8..]), BinaryPrimitives.ReadUInt16LittleEndian(s[10..]), s[12]);

    /// <summary>Writes <paramref name="count"/> records of <paramref name="size"/> bytes produced by <paramref name="write"/>.</summary>
    public static void Write(string path, int count, int size, Action<int, byte[]> write)
    {
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        var record = new byte[size];
        for (int i = 0; i < count; i++)
        {
            write(i, record);
            stream.Write(record);
        }
    }

    /// <summary>Reads a file of <paramref name="size"/>-byte records through <paramref name="read"/>.</summary>
    public static T[] Read<T>(string path, int size, RecordReader<T> read)
    {
        byte[] bytes = File.ReadAllBytes(path);
        if (bytes.Length % size != 0)
        {
            throw new InvalidDataException($"{path}: {bytes.Length} bytes is not a multiple of {size}");
        }
        var items = new T[bytes.Length / size];
        for (int i = 0; i < items.Length; i++)
        {
            items[i] = read(bytes.AsSpan(i * size, size), i);
        }
        return items;
    }
}
