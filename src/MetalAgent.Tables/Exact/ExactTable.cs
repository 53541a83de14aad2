using System.Diagnostics.CodeAnalysis;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace MetalAgent.Tables.Exact;

/// <summary>An immutable exact-match hash table: flat open addressing with linear probing in
/// Robin Hood order, power-of-two capacity, load factor at most 0.75.</summary>
/// <remarks>
/// Each slot holds the key, the value and a 32-bit tag (the high half of the key's 64-bit hash,
/// with bit 0 forced to 1 so that 0 marks an empty slot). The home slot is the top bits of the
/// tag, so the probe distance of any resident is computable and a miss stops as soon as it meets
/// a resident closer to its home than the probe is (Robin Hood invariant): misses are as cheap as
/// hits. Entries are inserted in hash order, so the layout depends only on the set of entries,
/// not on their input order. Lookups never allocate and never dispatch virtually.
/// </remarks>
public sealed class ExactTable<TKey, TValue>
    where TKey : unmanaged, IExactKey<TKey>
{
    private const int MinCapacity = 8;
    private const int MaxCapacity = 1 << 30;
    private const int BatchChunk = 32;

    private readonly Slot[] _slots;
    private readonly int _shift;
    private readonly int _mask;

    private ExactTable(Slot[] slots, int count)
    {
        _slots = slots;
        _mask = slots.Length - 1;
        _shift = 32 - BitOperations.Log2((uint)slots.Length);
        Count = count;
    }

    /// <summary>An empty table.</summary>
    [SuppressMessage("Design", "CA1000", Justification = "Factory members of an immutable generic table.")]
    public static ExactTable<TKey, TValue> Empty { get; } = Build([]);

    /// <summary>Number of entries.</summary>
    public int Count { get; }

    /// <summary>Number of slots (a power of two).</summary>
    public int Capacity => _slots.Length;

    /// <summary>Bytes held by the slot array (slots times slot size).</summary>
    public long MemoryBytes => (long)_slots.Length * Unsafe.SizeOf<Slot>();

    /// <summary>Builds a table. Throws <see cref="ArgumentException"/> when a key occurs twice.</summary>
    [SuppressMessage("Design", "CA1000", Justification = "Factory members of an immutable generic table.")]
    public static ExactTable<TKey, TValue> Build(ReadOnlySpan<KeyValuePair<TKey, TValue>> entries)
    {
        long wanted = Math.Max(MinCapacity, ((long)entries.Length * 4 + 2) / 3);
        if (wanted > MaxCapacity)
        {
            throw new ArgumentException($"too many entries ({entries.Length}) for an exact-match table", nameof(entries));
        }
        int capacity = (int)BitOperations.RoundUpToPowerOf2((uint)wanted);
        var slots = new Slot[capacity];
        int mask = capacity - 1;
        int shift = 32 - BitOperations.Log2((uint)capacity);

        // Insert in hash order so the layout does not depend on the input order.
        var hashes = new ulong[entries.Length];
        var order = new int[entries.Length];
        for (int i = 0; i < entries.Length; i++)
        {
            TKey key = entries[i].Key;
            hashes[i] = TKey.Hash(key);
            order[i] = i;
        }
        Array.Sort(hashes, order);

        for (int n = 0; n < order.Length; n++)
        {
            KeyValuePair<TKey, TValue> entry = entries[order[n]];
            var carried = new Slot { Key = entry.Key, Value = entry.Value, Tag = TagOf(hashes[n]) };
            bool original = true;
            int index = (int)(carried.Tag >> shift);
            int distance = 0;
            while (true)
            {
                ref Slot slot = ref slots[index];
                if (slot.Tag == 0)
                {
                    slot = carried;
                    break;
                }
                if (original && slot.Tag == carried.Tag && slot.Key.Equals(carried.Key))
                {
                    throw new ArgumentException($"duplicate key in exact-match table: {carried.Key}", nameof(entries));
                }
                int residentDistance = (index - (int)(slot.Tag >> shift)) & mask;
                if (residentDistance < distance)
                {
                    // Robin Hood: the poorer entry takes the slot, the richer one moves on.
                    (slot, carried) = (carried, slot);
                    distance = residentDistance;
                    original = false;
                }
                index = (index + 1) & mask;
                distance++;
            }
        }
        return new ExactTable<TKey, TValue>(slots, entries.Length);
    }

    /// <summary>Looks up one key.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryGetValue(in TKey key, [MaybeNullWhen(false)] out TValue value) =>
        Probe(key, TagOf(TKey.Hash(key)), out value);

    /// <summary>Looks up many keys: hashes a group of keys, prefetches their home slots, then probes,
    /// so the cache misses of a group overlap. Writes <paramref name="values"/>[i] (default when
    /// absent) and <paramref name="found"/>[i] for each key; returns the number of keys found.</summary>
    public int LookupBatch(ReadOnlySpan<TKey> keys, Span<TValue> values, Span<bool> found)
    {
        if (values.Length < keys.Length || found.Length < keys.Length)
        {
            ThrowOutputTooShort();
        }
        Span<uint> tags = stackalloc uint[BatchChunk];
        int hits = 0;
        for (int start = 0; start < keys.Length; start += BatchChunk)
        {
            int count = Math.Min(BatchChunk, keys.Length - start);
            ReadOnlySpan<TKey> chunk = keys.Slice(start, count);
            for (int i = 0; i < chunk.Length; i++)
            {
                uint tag = TagOf(TKey.Hash(chunk[i]));
                tags[i] = tag;
                Prefetch(tag);
            }
            for (int i = 0; i < chunk.Length; i++)
            {
                bool hit = Probe(chunk[i], tags[i], out TValue? value);
                values[start + i] = value!;
                found[start + i] = hit;
                hits += hit ? 1 : 0;
            }
        }
        return hits;
    }

    /// <summary>Appends all entries in slot order (deterministic for a given set of entries).</summary>
    public void CopyEntries(List<KeyValuePair<TKey, TValue>> destination)
    {
        foreach (ref readonly Slot slot in _slots.AsSpan())
        {
            if (slot.Tag != 0)
            {
                destination.Add(new KeyValuePair<TKey, TValue>(slot.Key, slot.Value));
            }
        }
    }

    /// <summary>The longest probe sequence a present key needs (diagnostics and tests).</summary>
    public int MaxProbeDistance()
    {
        int max = 0;
        for (int i = 0; i < _slots.Length; i++)
        {
            if (_slots[i].Tag != 0)
            {
                max = Math.Max(max, (i - (int)(_slots[i].Tag >> _shift)) & _mask);
            }
        }
        return max;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint TagOf(ulong hash) => (uint)(hash >> 32) | 1;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool Probe(in TKey key, uint tag, [MaybeNullWhen(false)] out TValue value)
    {
        Slot[] slots = _slots;
        int shift = _shift;
        int mask = _mask;
        int index = (int)(tag >> shift);
        for (int distance = 0; ; distance++)
        {
            ref readonly Slot slot = ref slots[index];
            if (slot.Tag == tag && slot.Key.Equals(key))
            {
                value = slot.Value;
                return true;
            }
            // Empty (tag 0, distance computes as anything) or a resident closer to home: key absent.
            if (slot.Tag == 0 || ((index - (int)(slot.Tag >> shift)) & mask) < distance)
            {
                value = default;
                return false;
            }
            index = (index + 1) & mask;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private unsafe void Prefetch(uint tag)
    {
        if (Sse.IsSupported)
        {
            // A prefetch never faults, so an address that a GC moved meanwhile is harmless. The
            // array is not cache-line aligned, so a slot may straddle two lines: fetch both ends.
            byte* slot = (byte*)Unsafe.AsPointer(ref _slots[(int)(tag >> _shift)]);
            Sse.Prefetch0(slot);
            Sse.Prefetch0(slot + Unsafe.SizeOf<Slot>() - 1);
        }
    }

    [DoesNotReturn]
    private static void ThrowOutputTooShort() =>
        throw new ArgumentException("values and found must be at least as long as keys");

    private struct Slot
    {
        public TKey Key;
        public TValue Value;
        public uint Tag;
    }
}
