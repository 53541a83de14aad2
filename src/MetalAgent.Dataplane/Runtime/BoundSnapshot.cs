using MetalAgent.Backends;
using MetalAgent.Tables.Snapshot;

namespace MetalAgent.Dataplane.Runtime;

/// <summary>
/// A compiled snapshot bound to this process's ports and mutable per-interface state: what the
/// workers read, published as one reference. Port ids index <see cref="Ports"/> directly.
/// </summary>
public sealed class BoundSnapshot
{
    public BoundSnapshot(DataplaneSnapshot tables, IPort?[] ports, InterfaceState interfaces)
    {
        Tables = tables;
        Ports = ports;
        Interfaces = interfaces;
        int uplink = tables.Host.UplinkPort;
        UplinkMac = uplink >= 0 && ports[uplink] is { } port ? port.MacAddress : 0;
    }

    /// <summary>The uplink's own MAC, the source of every frame sent to the underlay.</summary>
    public ulong UplinkMac { get; }

    public DataplaneSnapshot Tables { get; }

    /// <summary>Port objects by port id; null when the snapshot names a port this host has not bound.</summary>
    public IPort?[] Ports { get; }

    public InterfaceState Interfaces { get; }
}

/// <summary>
/// Mutable per-interface state shared by all workers: the learned VM MAC (0 = not yet known) and
/// the resolved MAC of the uplink gateway. Single 64-bit writes, so no locks; a lost race only
/// means a MAC is learned again from the next packet.
/// </summary>
public sealed class InterfaceState
{
    private readonly long[] _vmMacs;

    public InterfaceState(int interfaces, InterfaceState? previous)
    {
        _vmMacs = new long[Math.Max(interfaces, 1)];
        if (previous is not null)
        {
            Array.Copy(previous._vmMacs, _vmMacs, Math.Min(previous._vmMacs.Length, _vmMacs.Length));
            GatewayMac = previous.GatewayMac;
        }
    }

    public int Capacity => _vmMacs.Length;

    public ulong VmMac(int iface) => (ulong)Volatile.Read(ref _vmMacs[iface]);

    public void LearnVmMac(int iface, ulong mac)
    {
        if ((ulong)_vmMacs[iface] != mac)
        {
            Volatile.Write(ref _vmMacs[iface], (long)mac);
        }
    }

    /// <summary>Clears a slot whose interface was removed or re-created.</summary>
    public void Forget(int iface) => Volatile.Write(ref _vmMacs[iface], 0);

    private long _gatewayMac;

    /// <summary>Resolved MAC of the uplink's next-hop gateway, 0 until resolved (or pinned in the spec).</summary>
    public ulong GatewayMac
    {
        get => (ulong)Volatile.Read(ref _gatewayMac);
        set => Volatile.Write(ref _gatewayMac, (long)value);
    }
}
