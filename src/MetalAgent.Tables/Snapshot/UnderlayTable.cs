using MetalAgent.Tables.Exact;

namespace MetalAgent.Tables.Snapshot;

/// <summary>This host's underlay /128s to the objects that receive traffic for them.</summary>
public sealed class UnderlayTable
{
    private readonly ExactTable<Underlay128Key, UnderlayTarget> _table;

    private UnderlayTable(ExactTable<Underlay128Key, UnderlayTarget> table) => _table = table;

    public int Count => _table.Count;

    public static UnderlayTable Build(IEnumerable<KeyValuePair<UInt128, UnderlayTarget>> entries)
    {
        var list = new List<KeyValuePair<Underlay128Key, UnderlayTarget>>();
        foreach ((UInt128 address, UnderlayTarget target) in entries)
        {
            list.Add(new(new Underlay128Key(address), target));
        }
        return new UnderlayTable(ExactTable<Underlay128Key, UnderlayTarget>.Build(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(list)));
    }

    public bool TryGetValue(UInt128 address, out UnderlayTarget target) => _table.TryGetValue(new Underlay128Key(address), out target);

    /// <summary>All entries sorted by address (for dumps and tools).</summary>
    public List<KeyValuePair<UInt128, UnderlayTarget>> Entries()
    {
        var raw = new List<KeyValuePair<Underlay128Key, UnderlayTarget>>();
        _table.CopyEntries(raw);
        var list = new List<KeyValuePair<UInt128, UnderlayTarget>>(raw.Count);
        foreach ((Underlay128Key key, UnderlayTarget target) in raw)
        {
            list.Add(new(key.Address, target));
        }
        list.Sort(static (a, b) => a.Key.CompareTo(b.Key));
        return list;
    }
}

/// <summary>VNI numbers to VNI ids (indexes into <see cref="DataplaneSnapshot.Vnis"/>).</summary>
public sealed class VniIndexTable
{
    private readonly ExactTable<Underlay128Key, int> _table;

    private VniIndexTable(ExactTable<Underlay128Key, int> table) => _table = table;

    public static VniIndexTable Build(IEnumerable<KeyValuePair<uint, int>> entries)
    {
        var list = new List<KeyValuePair<Underlay128Key, int>>();
        foreach ((uint vni, int id) in entries)
        {
            list.Add(new(new Underlay128Key(vni), id));
        }
        return new VniIndexTable(ExactTable<Underlay128Key, int>.Build(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(list)));
    }

    /// <summary>The VNI id of a VNI number, -1 when this host does not carry it.</summary>
    public int Find(uint vni) => _table.TryGetValue(new Underlay128Key(vni), out int id) ? id : -1;
}
