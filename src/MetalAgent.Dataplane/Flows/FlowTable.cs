using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace MetalAgent.Dataplane.Flows;

/// <summary>
/// The connection-tracking table shared by all workers, without locks.
/// <para>
/// Each flow is one entry with two keys: the originating direction and the expected reply (after
/// any translation), so both directions and both sides of a translation meet the same state.
/// Keys hang in hash chains of entry links. Concurrency rules:
/// </para>
/// <list type="bullet">
/// <item>Any worker inserts, only at a chain head, with a compare-and-swap; it never changes an
/// existing node. If two workers insert the same flow at once, the newer entry sees the older one
/// behind it in the chain, marks itself dead and uses the older.</item>
/// <item>Only the sweeper (one thread) unlinks entries and hands their ids back. An unlinked entry
/// keeps its links, so readers already on it continue; its id is reused only after every worker
/// has completed a round (see <see cref="Quiesced"/>).</item>
/// <item>Entry ids are partitioned between workers; each worker allocates from its own free list,
/// which the sweeper refills through a single-producer ring.</item>
/// </list>
/// <para>
/// Memory: entries and buckets live in <see cref="NativeRegion"/>s (64-byte aligned, transparent
/// huge pages on Linux), freed by their finalizers once the table is unreachable, so no reader can
/// ever touch freed memory. An entry starts with its links, state and last-seen time, then the forward
/// key, so a forward lookup reads one cache line; with <see cref="FlowState"/> an entry is exactly
/// three lines (192 bytes). There are four buckets per flow (two per key), so chains are short.
/// Workers look up a whole burst in three passes: <see cref="PrefetchBucket"/> for every packet,
/// then <see cref="PrefetchEntry"/>, then the lookups, so the memory misses of a burst overlap.
/// </para>
/// </summary>
public sealed unsafe class FlowTable<TValue> where TValue : unmanaged
{
    private const int Free = 0;
    private const int Live = 1;
    private const int Dead = 2;

    private readonly NativeRegion _entryMemory;
    private readonly NativeRegion _bucketMemory;
    private readonly Entry* _entries;
    private readonly int* _buckets;
    private readonly int _mask;
    private readonly WorkerIds[] _workers;
    private readonly int _idsPerWorker;
    private readonly List<int> _limboNew = [];
    private readonly List<int> _limboOld = [];
    private int _sweepCursor;
    private long _freed;

    public FlowTable(int capacity, int workers)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 16);
        ArgumentOutOfRangeException.ThrowIfLessThan(workers, 1);
        _idsPerWorker = capacity / workers;
        Capacity = _idsPerWorker * workers;
        _entryMemory = new NativeRegion((nuint)Capacity * (nuint)sizeof(Entry));
        _entries = (Entry*)_entryMemory.Pointer;
        int buckets = (int)BitOperations.RoundUpToPowerOf2((uint)Capacity * 4);
        _bucketMemory = new NativeRegion((nuint)buckets * sizeof(int));
        _buckets = (int*)_bucketMemory.Pointer;
        _mask = buckets - 1;
        _workers = new WorkerIds[workers];
        for (int w = 0; w < workers; w++)
        {
            _workers[w] = new WorkerIds(w * _idsPerWorker, _idsPerWorker);
        }
    }

    public int Capacity { get; }

    /// <summary>Bytes per entry (192 for <see cref="FlowState"/>: three cache lines).</summary>
    public int EntrySize => sizeof(Entry);

    /// <summary>How many workers the ids are partitioned over.</summary>
    public int Workers => _workers.Length;

    /// <summary>Live flows (created minus freed); approximate while workers run.</summary>
    public long Count
    {
        get
        {
            long created = 0;
            foreach (WorkerIds w in _workers)
            {
                created += Volatile.Read(ref w.Created);
            }
            return created - Volatile.Read(ref _freed);
        }
    }

    /// <summary>Flows created since start, over all workers.</summary>
    public long Created
    {
        get
        {
            long created = 0;
            foreach (WorkerIds w in _workers)
            {
                created += Volatile.Read(ref w.Created);
            }
            return created;
        }
    }

    /// <summary>Finds the live flow holding <paramref name="key"/> in either direction; -1 when none.
    /// <paramref name="direction"/> is 0 for the originating direction, 1 for the reply.</summary>
    public int Lookup(in FlowKey key, out int direction) => Lookup(in key, key.Hash(), out direction);

    /// <summary><see cref="Lookup(in FlowKey, out int)"/> with the key's hash already computed.</summary>
    public int Lookup(in FlowKey key, ulong hash, out int direction)
    {
        int link = Volatile.Read(ref _buckets[(int)hash & _mask]);
        while (link != 0)
        {
            int id = (link - 1) >> 1;
            int dir = (link - 1) & 1;
            ref Entry e = ref _entries[id];
            if (Volatile.Read(ref e.State) == Live && (dir == 0 ? ref e.Key0 : ref e.Key1).Equals(key))
            {
                direction = dir;
                return id;
            }
            link = Volatile.Read(ref dir == 0 ? ref e.Next0 : ref e.Next1);
        }
        direction = 0;
        return -1;
    }

    /// <summary>Prefetches the bucket of a key (for batched lookups).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Prefetch(in FlowKey key) => PrefetchBucket(key.Hash());

    /// <summary>First pass of a batched lookup: starts loading the key's bucket.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void PrefetchBucket(ulong hash)
    {
        if (Sse.IsSupported)
        {
            Sse.Prefetch0(_buckets + ((int)hash & _mask));
        }
    }

    /// <summary>Second pass of a batched lookup, once the bucket is loaded: starts loading the first
    /// entry of the key's chain (the lines its key, state and value sit on).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void PrefetchEntry(ulong hash)
    {
        int link = Volatile.Read(ref _buckets[(int)hash & _mask]);
        if (link != 0 && Sse.IsSupported)
        {
            byte* entry = (byte*)(_entries + ((link - 1) >> 1));
            Sse.Prefetch0(entry);
            Sse.Prefetch0(entry + 64);
            Sse.Prefetch0(entry + 128);
        }
    }

    /// <summary>
    /// Creates a flow, called by worker <paramref name="worker"/>. Returns the flow's id and
    /// <see cref="InsertOutcome.Created"/>; or -1 and <see cref="InsertOutcome.Full"/> when the worker's
    /// share of the table is full. When another worker created the same flow at the same time,
    /// returns that flow's id and <see cref="InsertOutcome.Raced"/>. When a live flow already holds
    /// the reply key (a NAT port another worker just took for the same remote endpoint), returns -1
    /// and <see cref="InsertOutcome.ReplyTaken"/>: the caller picks another port.
    /// </summary>
    public int Insert(int worker, in FlowKey forward, in FlowKey reply, in TValue value, long now, out InsertOutcome outcome)
    {
        WorkerIds ids = _workers[worker];
        int id = ids.Allocate();
        if (id < 0)
        {
            outcome = InsertOutcome.Full;
            return -1;
        }
        ref Entry e = ref _entries[id];
        e.Key0 = forward;
        e.Key1 = reply;
        e.Value = value;
        e.LastSeen = (int)now;
        Volatile.Write(ref e.State, Live);
        ids.Created++;
        int forwardLink = (id << 1) + 1;
        LinkHead(forwardLink, forward.Hash(), ref e.Next0);
        LinkHead(forwardLink + 1, reply.Hash(), ref e.Next1);

        // Lost a race? An older live entry holding one of our keys lies behind ours in that key's chain.
        int older = FindOlder(id, Volatile.Read(ref e.Next0), in forward, default);
        if (older >= 0)
        {
            Volatile.Write(ref e.State, Dead);
            outcome = InsertOutcome.Raced;
            return older;
        }
        // The reply key held by an older *different* flow (a NAT port taken for the same remote
        // endpoint). An older copy of this same flow is the forward check's business: the two
        // chains may order the racing copies differently, and deciding by both would let each
        // copy kill the other.
        if (FindOlder(id, Volatile.Read(ref e.Next1), in reply, in forward) >= 0)
        {
            Volatile.Write(ref e.State, Dead);
            outcome = InsertOutcome.ReplyTaken;
            return -1;
        }
        outcome = InsertOutcome.Created;
        return id;
    }

    private int FindOlder(int self, int link, in FlowKey key, in FlowKey sameFlow)
    {
        bool skipSameFlow = sameFlow.IpVersion != 0;
        while (link != 0)
        {
            int other = (link - 1) >> 1;
            int dir = (link - 1) & 1;
            ref Entry o = ref _entries[other];
            if (other != self && Volatile.Read(ref o.State) == Live && (dir == 0 ? ref o.Key0 : ref o.Key1).Equals(key)
                && !(skipSameFlow && o.Key0.Equals(sameFlow)))
            {
                return other;
            }
            link = Volatile.Read(ref dir == 0 ? ref o.Next0 : ref o.Next1);
        }
        return -1;
    }

    private void LinkHead(int link, ulong hash, ref int next)
    {
        ref int bucket = ref _buckets[(int)hash & _mask];
        while (true)
        {
            int head = Volatile.Read(ref bucket);
            Volatile.Write(ref next, head);
            if (Interlocked.CompareExchange(ref bucket, link, head) == head)
            {
                return;
            }
        }
    }

    public ref TValue Value(int id) => ref At(id).Value;

    public ref readonly FlowKey Key(int id, int direction) => ref direction == 0 ? ref At(id).Key0 : ref At(id).Key1;

    public long LastSeen(int id) => Volatile.Read(ref At(id).LastSeen);

    public bool IsLive(int id) => Volatile.Read(ref At(id).State) == Live;

    /// <summary>The entry of an id from outside the table (bounds-checked: the memory is unmanaged).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref Entry At(int id)
    {
        if ((uint)id >= (uint)Capacity)
        {
            ThrowBadId(id);
        }
        return ref _entries[id];
    }

    private static void ThrowBadId(int id) => throw new ArgumentOutOfRangeException(nameof(id), id, "no such flow id");

    /// <summary>Records activity; writes only when the coarse clock moved, so hot flows do not
    /// bounce a cache line between workers on every packet.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Touch(int id, long now)
    {
        ref int seen = ref At(id).LastSeen;
        if (seen != (int)now)
        {
            Volatile.Write(ref seen, (int)now);
        }
    }

    /// <summary>Marks a flow dead (any thread): lookups stop finding it at once; the sweeper unlinks it.</summary>
    public void Kill(int id) => Interlocked.CompareExchange(ref At(id).State, Dead, Live);

    /// <summary>
    /// Sweeper only: visits up to <paramref name="budget"/> entries from where the last sweep
    /// stopped, kills those <paramref name="expired"/> says are expired, and unlinks every dead one.
    /// Returns how many were unlinked.
    /// </summary>
    public int Sweep<TExpiry>(ref TExpiry expired, long now, int budget) where TExpiry : struct, IFlowExpiry<TValue>
    {
        int unlinked = 0;
        for (int n = 0; n < budget && n < Capacity; n++)
        {
            int id = _sweepCursor;
            _sweepCursor = _sweepCursor + 1 == Capacity ? 0 : _sweepCursor + 1;
            ref Entry e = ref _entries[id];
            int state = Volatile.Read(ref e.State);
            if (state == Live && expired.IsExpired(in e.Key0, ref e.Value, Volatile.Read(ref e.LastSeen), now))
            {
                Kill(id);
                state = Volatile.Read(ref e.State);
            }
            if (state == Dead)
            {
                expired.Removed(in e.Key0, ref e.Value);
                Unlink(id);
                unlinked++;
            }
        }
        return unlinked;
    }

    private void Unlink(int id)
    {
        ref Entry e = ref _entries[id];
        int forwardLink = (id << 1) + 1;
        UnlinkOne(forwardLink, e.Key0.Hash(), e.Next0);
        UnlinkOne(forwardLink + 1, e.Key1.Hash(), e.Next1);
        Volatile.Write(ref e.State, Free);
        _limboNew.Add(id);
    }

    private void UnlinkOne(int link, ulong hash, int next)
    {
        ref int bucket = ref _buckets[(int)hash & _mask];
        if (Interlocked.CompareExchange(ref bucket, next, link) == link)
        {
            return;
        }
        // Not at the head: find the predecessor. Only the sweeper changes links of published
        // nodes, so once found, the predecessor's link is ours to rewrite.
        int cursor = Volatile.Read(ref bucket);
        while (cursor != 0)
        {
            ref int cursorNext = ref NextOf(cursor);
            int after = Volatile.Read(ref cursorNext);
            if (after == link)
            {
                Volatile.Write(ref cursorNext, next);
                return;
            }
            cursor = after;
        }
    }

    private ref int NextOf(int link)
    {
        int id = (link - 1) >> 1;
        return ref ((link - 1) & 1) == 0 ? ref _entries[id].Next0 : ref _entries[id].Next1;
    }

    /// <summary>
    /// Sweeper only, called when every worker has completed at least one round since the previous
    /// call: ids unlinked before the previous call can no longer be in use and go back to their workers.
    /// </summary>
    public void Quiesced()
    {
        foreach (int id in _limboOld)
        {
            _workers[id / _idsPerWorker].Return(id);
        }
        Interlocked.Add(ref _freed, _limboOld.Count);
        _limboOld.Clear();
        _limboOld.AddRange(_limboNew);
        _limboNew.Clear();
    }

    /// <summary>Visits every live flow (any thread; a snapshot in motion, for CLI and flushes).</summary>
    public void ForEachLive<TVisitor>(ref TVisitor visitor) where TVisitor : struct, IFlowVisitor<TValue>
    {
        for (int id = 0; id < Capacity; id++)
        {
            ref Entry e = ref _entries[id];
            if (Volatile.Read(ref e.State) == Live)
            {
                visitor.Visit(id, in e.Key0, in e.Key1, ref e.Value);
            }
        }
    }

    // Field order is the memory layout: links, state and the coarse last-seen time (seconds) first, so
    // that with the forward key they fill the first cache line.
    private struct Entry
    {
        public int Next0;
        public int Next1;
        public int State;
        public int LastSeen;
        public FlowKey Key0;
        public FlowKey Key1;
        public TValue Value;
    }

    /// <summary>One worker's share of entry ids: a private stack, refilled by the sweeper through a ring.</summary>
    private sealed class WorkerIds
    {
        private readonly int[] _stack;
        private int _count;
        private readonly int[] _returned;
        private long _returnHead; // consumer (worker)
        private long _returnTail; // producer (sweeper)
        public long Created;

        public WorkerIds(int first, int count)
        {
            _stack = new int[count];
            for (int i = 0; i < count; i++)
            {
                _stack[i] = first + count - 1 - i;
            }
            _count = count;
            _returned = new int[(int)BitOperations.RoundUpToPowerOf2((uint)count)];
        }

        public int Allocate()
        {
            if (_count == 0)
            {
                long tail = Volatile.Read(ref _returnTail);
                int mask = _returned.Length - 1;
                while (_returnHead < tail && _count < _stack.Length)
                {
                    _stack[_count++] = _returned[(int)(_returnHead & mask)];
                    _returnHead++;
                }
                Volatile.Write(ref _returnHead, _returnHead);
                if (_count == 0)
                {
                    return -1;
                }
            }
            return _stack[--_count];
        }

        /// <summary>Sweeper side. The ring holds every id of the worker, so it never overflows.</summary>
        public void Return(int id)
        {
            long tail = _returnTail;
            _returned[(int)(tail & (_returned.Length - 1))] = id;
            Volatile.Write(ref _returnTail, tail + 1);
        }
    }
}

/// <summary>What <see cref="FlowTable{TValue}.Insert"/> did.</summary>
public enum InsertOutcome : byte
{
    Created = 0,
    /// <summary>Another worker created the same flow first; its id is returned.</summary>
    Raced,
    /// <summary>A live flow already holds the reply key.</summary>
    ReplyTaken,
    /// <summary>No free entry in this worker's share.</summary>
    Full,
}

/// <summary>Decides expiry during a sweep (a struct, so the sweep loop has no virtual calls).</summary>
public interface IFlowExpiry<TValue> where TValue : struct
{
    bool IsExpired(in FlowKey forward, ref TValue value, long lastSeen, long now);

    /// <summary>Called once for every entry the sweep unlinks (expired, killed, or the loser of a race).</summary>
    void Removed(in FlowKey forward, ref TValue value);
}

/// <summary>Visits live flows.</summary>
public interface IFlowVisitor<TValue> where TValue : struct
{
    void Visit(int id, in FlowKey forward, in FlowKey reverse, ref TValue value);
}
