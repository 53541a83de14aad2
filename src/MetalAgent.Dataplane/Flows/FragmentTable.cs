using System.Runtime.InteropServices;

namespace MetalAgent.Dataplane.Flows;

/// <summary>
/// Fragments follow their first fragment: the first fragment (which carries the ports) is decided
/// like a whole packet, and its flow is recorded here under (zone, addresses, protocol, fragment id);
/// later fragments (no ports) find the flow here and get the same treatment. A later fragment that
/// finds nothing (it overtook the first, or its slot was reused) is dropped and counted.
/// <para>
/// Bounded state: a fixed direct-mapped array; a new datagram overwrites an older one in its slot,
/// and entries expire after a few seconds. Readers never block: each slot is a sequence lock
/// (writers take it with one compare-and-swap and skip when it is busy; readers retry never, they
/// just miss), so a torn entry is never used.
/// </para>
/// </summary>
public sealed class FragmentTable
{
    /// <summary>Seconds a fragment mapping stays valid.</summary>
    public const int Lifetime = 5;

    private readonly Slot[] _slots;
    private readonly int _mask;

    public FragmentTable(int capacity = 4096)
    {
        _slots = new Slot[(int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)capacity)];
        _mask = _slots.Length - 1;
    }

    /// <summary>Records the flow of a datagram's first fragment.</summary>
    public void Record(in FlowKey key, uint fragmentId, int flow, int direction, long now)
    {
        ref Slot slot = ref _slots[Index(in key, fragmentId)];
        int sequence = Volatile.Read(ref slot.Sequence);
        if ((sequence & 1) != 0 || Interlocked.CompareExchange(ref slot.Sequence, sequence + 1, sequence) != sequence)
        {
            return; // another writer is on this slot: its datagram wins
        }
        slot.Zone = key.Zone;
        slot.Version = key.IpVersion;
        slot.Protocol = key.Protocol;
        slot.Src = key.Src;
        slot.Dst = key.Dst;
        slot.FragmentId = fragmentId;
        slot.Flow = flow;
        slot.Direction = direction;
        slot.Expires = now + Lifetime;
        Volatile.Write(ref slot.Sequence, sequence + 2);
    }

    /// <summary>Finds the flow of a later fragment; -1 when unknown.</summary>
    public int Find(in FlowKey key, uint fragmentId, long now, out int direction)
    {
        ref Slot slot = ref _slots[Index(in key, fragmentId)];
        int before = Volatile.Read(ref slot.Sequence);
        direction = 0;
        if ((before & 1) != 0)
        {
            return -1;
        }
        bool match = slot.Zone == key.Zone && slot.Version == key.IpVersion && slot.Protocol == key.Protocol
            && slot.Src == key.Src && slot.Dst == key.Dst && slot.FragmentId == fragmentId && slot.Expires >= now;
        int flow = slot.Flow;
        int dir = slot.Direction;
        if (!match || Volatile.Read(ref slot.Sequence) != before)
        {
            return -1;
        }
        direction = dir;
        return flow;
    }

    private int Index(in FlowKey key, uint fragmentId) =>
        (int)Tables.Exact.FlowHash.HashFlow(key.Src, key.Dst, 0, 0, key.Protocol, key.Zone ^ fragmentId) & _mask;

    [StructLayout(LayoutKind.Sequential)]
    private struct Slot
    {
        public UInt128 Src;
        public UInt128 Dst;
        public long Expires;
        public uint Zone;
        public uint FragmentId;
        public int Flow;
        public int Direction;
        public int Sequence;
        public byte Version;
        public byte Protocol;
    }
}
