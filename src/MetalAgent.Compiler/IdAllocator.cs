namespace MetalAgent.Compiler;

/// <summary>
/// Stable small-integer ids for named objects across compiles: a name keeps its id while it
/// exists; a removed name leaves a hole that a later new name may take (lowest first). New names
/// are placed in ordinal order, so a from-scratch compile is independent of spec order.
/// </summary>
internal sealed class IdAllocator
{
    private readonly Dictionary<string, int> _ids;
    private readonly List<string?> _slots;

    public IdAllocator()
    {
        _ids = new Dictionary<string, int>(StringComparer.Ordinal);
        _slots = [];
    }

    private IdAllocator(Dictionary<string, int> ids, List<string?> slots)
    {
        _ids = ids;
        _slots = slots;
    }

    /// <summary>Number of slots (highest id + 1), holes included.</summary>
    public int Count => _slots.Count;

    public int this[string name] => _ids[name];

    public bool TryGet(string name, out int id) => _ids.TryGetValue(name, out id);

    /// <summary>The name holding an id, or null for a hole.</summary>
    public string? NameOf(int id) => _slots[id];

    /// <summary>Returns a new allocator holding exactly <paramref name="names"/>, keeping the ids this one gave.</summary>
    public IdAllocator Next(IEnumerable<string> names)
    {
        var wanted = new SortedSet<string>(names, StringComparer.Ordinal);
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        var slots = new List<string?>(_slots.Count);
        for (int i = 0; i < _slots.Count; i++)
        {
            string? name = _slots[i];
            slots.Add(name is not null && wanted.Contains(name) ? name : null);
            if (slots[i] is { } kept)
            {
                ids[kept] = i;
            }
        }
        int hole = 0;
        foreach (string name in wanted)
        {
            if (ids.ContainsKey(name))
            {
                continue;
            }
            while (hole < slots.Count && slots[hole] is not null)
            {
                hole++;
            }
            if (hole == slots.Count)
            {
                slots.Add(null);
            }
            slots[hole] = name;
            ids[name] = hole;
        }
        // Trailing holes carry no information: drop them so a spec shrinking to a prefix of ids
        // compiles like it would from scratch.
        while (slots.Count > 0 && slots[^1] is null)
        {
            slots.RemoveAt(slots.Count - 1);
        }
        return new IdAllocator(ids, slots);
    }
}
