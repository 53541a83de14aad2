using MetalAgent.Backends;
using MetalAgent.Dataplane.Stages;
using MetalAgent.Tables.Snapshot;

namespace MetalAgent.Dataplane.Runtime;

/// <summary>
/// Resolves the MAC of the uplink's next-hop gateway by neighbor discovery, on worker 0's timer:
/// while the MAC is unknown a multicast solicitation goes out every <see cref="RetryInterval"/>
/// seconds, once it is known every <see cref="RefreshInterval"/> seconds (so a gateway that changed
/// its MAC is followed; a gateway that stops answering keeps its last MAC: fail static). Nothing is
/// sent when the host configuration pins the MAC, names no gateway, or the uplink is not bound.
/// The answers are taken by <see cref="UplinkNeighborStage"/>. Used by one worker thread only.
/// </summary>
internal sealed class GatewayResolver
{
    /// <summary>Seconds between solicitations while the MAC is unknown (RFC 4861 RetransTimer).</summary>
    public const long RetryInterval = 1;

    /// <summary>Seconds between re-resolutions of a known MAC.</summary>
    public const long RefreshInterval = 30;

    private const long Never = long.MinValue / 2;

    private long _lastSent = Never;
    private UInt128 _gateway;
    private int _uplink = -1;

    /// <summary>A snapshot with another gateway or uplink starts over: a solicitation is due at once.</summary>
    public void Attach(BoundSnapshot bound)
    {
        HostTable host = bound.Tables.Host;
        if (host.GatewayAddress != _gateway || host.UplinkPort != _uplink)
        {
            _gateway = host.GatewayAddress;
            _uplink = host.UplinkPort;
            _lastSent = Never;
        }
    }

    /// <summary>True when a solicitation should go out now: a few field reads, called once per round.</summary>
    public bool IsDue(BoundSnapshot bound, long now)
    {
        HostTable host = bound.Tables.Host;
        if (host.GatewayMac != 0 || host.GatewayAddress == UInt128.Zero || host.UplinkPort < 0
            || bound.Ports[host.UplinkPort] is null || UplinkNeighborStage.HostAddress(host) == UInt128.Zero)
        {
            return false;
        }
        long interval = bound.Interfaces.GatewayMac == 0 ? RetryInterval : RefreshInterval;
        return now - _lastSent >= interval;
    }

    /// <summary>Writes one solicitation into a buffer rented from <paramref name="pool"/> (none when
    /// <paramref name="packets"/> is empty or the pool is). Returns how many descriptors it filled.</summary>
    public int Build(BoundSnapshot bound, PacketPool pool, WorkerCounters counters, long now, Span<PacketDescriptor> packets)
    {
        if (packets.IsEmpty)
        {
            return 0;
        }
        _lastSent = now;
        int buffer = pool.Rent();
        if (buffer < 0)
        {
            counters.Drop(DropReason.NoBuffer);
            return 0;
        }
        HostTable host = bound.Tables.Host;
        int length = UplinkNeighborStage.WriteGatewaySolicitation(pool.Buffer(buffer)[PacketPool.Headroom..], host, bound.UplinkMac);
        packets[0] = new PacketDescriptor { Buffer = buffer, Offset = PacketPool.Headroom, Length = length, Port = (ushort)host.UplinkPort };
        counters.GatewaySolicitationSent();
        return 1;
    }
}
