using MetalAgent.Tables.Exact;

namespace MetalAgent.Agent.Router;

/// <summary>
/// One link's neighbor cache: IP (with its family) to MAC, with when it was last confirmed and when
/// it was last asked for. Fixed size (open addressing over a small probe window; a full window
/// evicts its least recently confirmed entry), so lookups and updates never allocate. Used by the
/// router's worker thread only.
/// </summary>
public sealed class NeighborState
{
    /// <summary>An entry older than this is still used, but asked for again.</summary>
    public const long RefreshAfter = 30;

    /// <summary>An entry not confirmed for this long is no longer used.</summary>
    public const long ExpireAfter = 90;

    private const int Capacity = 256;
    private const int Window = 8;
    private const long Never = long.MinValue / 4;

    private readonly Entry[] _entries = new Entry[Capacity];

    private struct Entry
    {
        public UInt128 Ip;
        public ulong Mac;
        public long Confirmed;
        public long Requested;
        public byte Version;
    }

    /// <summary>The MAC of a neighbor confirmed within <see cref="ExpireAfter"/> seconds.</summary>
    public bool TryGet(byte version, UInt128 ip, long now, out ulong mac, out bool stale)
    {
        int i = Find(version, ip);
        if (i >= 0 && _entries[i].Mac != 0 && now - _entries[i].Confirmed <= ExpireAfter)
        {
            mac = _entries[i].Mac;
            stale = now - _entries[i].Confirmed > RefreshAfter;
            return true;
        }
        mac = 0;
        stale = false;
        return false;
    }

    /// <summary>Records a neighbor's MAC (confirmed now).</summary>
    public void Learn(byte version, UInt128 ip, ulong mac, long now)
    {
        ref Entry e = ref Slot(version, ip);
        e.Mac = mac;
        e.Confirmed = now;
    }

    /// <summary>True (and noted) when the neighbor was not asked for during the last second: the caller
    /// sends an ARP request or a solicitation.</summary>
    public bool ShouldRequest(byte version, UInt128 ip, long now)
    {
        ref Entry e = ref Slot(version, ip);
        if (now - e.Requested < 1)
        {
            return false;
        }
        e.Requested = now;
        return true;
    }

    /// <summary>Seconds since the neighbor was last asked for (long.MaxValue / 2 when never).</summary>
    public long SinceRequested(byte version, UInt128 ip, long now)
    {
        int i = Find(version, ip);
        return i < 0 ? long.MaxValue / 2 : now - _entries[i].Requested;
    }

    private static int Home(byte version, UInt128 ip) => (int)(FlowHash.Hash(ip) ^ version) & (Capacity - 1);

    private int Find(byte version, UInt128 ip)
    {
        int home = Home(version, ip);
        for (int k = 0; k < Window; k++)
        {
            int i = (home + k) & (Capacity - 1);
            if (_entries[i].Version == version && _entries[i].Ip == ip)
            {
                return i;
            }
        }
        return -1;
    }

    private ref Entry Slot(byte version, UInt128 ip)
    {
        int found = Find(version, ip);
        if (found >= 0)
        {
            return ref _entries[found];
        }
        int home = Home(version, ip);
        int victim = home;
        for (int k = 0; k < Window; k++)
        {
            int i = (home + k) & (Capacity - 1);
            if (_entries[i].Version == 0)
            {
                victim = i;
                break;
            }
            if (Math.Max(_entries[i].Confirmed, _entries[i].Requested) < Math.Max(_entries[victim].Confirmed, _entries[victim].Requested))
            {
                victim = i;
            }
        }
        _entries[victim] = new Entry { Ip = ip, Version = version, Confirmed = Never, Requested = Never };
        return ref _entries[victim];
    }
}
