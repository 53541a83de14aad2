using System.Text;
using MetalAgent.Tables.Snapshot;

namespace MetalAgent.Dataplane.Flows;

/// <summary>
/// Connection tracking saved across a graceful restart: every live flow (keys, translation, NAT port,
/// LB target, TCP progress, age) written when the agent stops and read back once the persisted host
/// state is published again, so established and translated connections survive the restart.
/// </summary>
/// <remarks>
/// Compiled ids (interface, VNI, load balancer) may differ between two compiles, so the file names
/// them by what the spec calls them: interface and load balancer ids, VNI numbers. A flow whose
/// interface, network or load balancer no longer exists is skipped; the rest go through the same
/// revalidation as after a publish, so nothing the current state forbids comes back. Time is
/// stored as each flow's age plus the wall-clock time of the save: the downtime counts towards expiry.
/// Format: "MAFS", format version, host name, save time, flow count, then one record per flow.
/// </remarks>
public static class FlowStateFile
{
    /// <summary>Bumped when the record layout changes; other versions are refused, never misread.</summary>
    public const int FormatVersion = 1;

    private const uint Magic = 0x5346_414D; // "MAFS" little-endian

    /// <summary>Writes every live flow to <paramref name="path"/> (atomically: a temporary file, then a
    /// rename). Call with the workers stopped. Returns how many flows were written.</summary>
    public static int Save(string path, ConntrackState conntrack, DataplaneSnapshot snapshot, long now, DateTimeOffset wallClock)
    {
        var collector = new Collector(conntrack.Table);
        conntrack.Table.ForEachLive(ref collector);
        string temporary = path + ".tmp";
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write))
        using (var writer = new BinaryWriter(stream, Encoding.UTF8))
        {
            writer.Write(Magic);
            writer.Write(FormatVersion);
            writer.Write(snapshot.Host.Name);
            writer.Write(wallClock.ToUnixTimeSeconds());
            writer.Write(collector.Flows.Count);
            foreach ((FlowKey forward, FlowKey reply, FlowState state, long lastSeen) in collector.Flows)
            {
                WriteKey(writer, in forward, snapshot);
                WriteKey(writer, in reply, snapshot);
                writer.Write(Math.Max(0, now - lastSeen));
                writer.Write((byte)state.Kind);
                writer.Write((byte)state.Tcp);
                writer.Write(state.NatPort);
                writer.Write(InterfaceName(snapshot, state.Interface));
                writer.Write(InterfaceName(snapshot, state.PeerInterface));
                writer.Write(state.LoadBalancer >= 0 && state.LoadBalancer < snapshot.LoadBalancers.Length ? snapshot.LoadBalancers[state.LoadBalancer].Id : string.Empty);
                WriteUInt128(writer, state.PrivateIp);
                WriteUInt128(writer, state.PublicIp);
                WriteUInt128(writer, state.Target);
                writer.Write(state.PrivatePort);
                writer.Write(state.PublicPort);
            }
        }
        File.Move(temporary, path, overwrite: true);
        return collector.Flows.Count;
    }

    /// <summary>
    /// Reads a file written by <see cref="Save"/> into an empty connection table (as at start) bound to
    /// <paramref name="snapshot"/>. Call before the workers start. A file of another host or format
    /// version restores nothing (<see cref="FlowRestoreResult.Refused"/> says why); a truncated file
    /// restores the flows before the damage.
    /// </summary>
    public static FlowRestoreResult Restore(string path, ConntrackState conntrack, DataplaneSnapshot snapshot, long now, DateTimeOffset wallClock)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read);
        using var reader = new BinaryReader(stream, Encoding.UTF8);
        int restored = 0, skipped = 0;
        try
        {
            if (reader.ReadUInt32() != Magic)
            {
                return FlowRestoreResult.Refusal("not a flow state file");
            }
            int version = reader.ReadInt32();
            if (version != FormatVersion)
            {
                return FlowRestoreResult.Refusal($"format version {version}, this agent reads {FormatVersion}");
            }
            string host = reader.ReadString();
            if (host != snapshot.Host.Name)
            {
                return FlowRestoreResult.Refusal($"saved by host '{host}', this is '{snapshot.Host.Name}'");
            }
            long downtime = Math.Max(0, wallClock.ToUnixTimeSeconds() - reader.ReadInt64());
            int count = reader.ReadInt32();
            int workers = conntrack.Table.Workers;
            for (int i = 0; i < count; i++)
            {
                bool keysKnown = TryReadKey(reader, snapshot, out FlowKey forward) & TryReadKey(reader, snapshot, out FlowKey reply);
                long age = reader.ReadInt64();
                var state = new FlowState
                {
                    Kind = (FlowKind)reader.ReadByte(),
                    Tcp = (TcpProgress)reader.ReadByte(),
                    NatPort = reader.ReadBoolean(),
                };
                bool idsKnown = TryInterface(snapshot, reader.ReadString(), out state.Interface)
                    & TryInterface(snapshot, reader.ReadString(), out state.PeerInterface)
                    & TryLoadBalancer(snapshot, reader.ReadString(), out state.LoadBalancer);
                state.PrivateIp = ReadUInt128(reader);
                state.PublicIp = ReadUInt128(reader);
                state.Target = ReadUInt128(reader);
                state.PrivatePort = reader.ReadUInt16();
                state.PublicPort = reader.ReadUInt16();
                long lastSeen = now - age - downtime;
                if (!keysKnown || !idsKnown || now - lastSeen >= conntrack.TimeoutOf(in forward, in state)
                    || !conntrack.TryReserve(state.Interface, state.PeerInterface))
                {
                    skipped++;
                    continue;
                }
                conntrack.Table.Insert(i % workers, in forward, in reply, in state, lastSeen, out InsertOutcome outcome);
                if (outcome == InsertOutcome.Created)
                {
                    restored++;
                    if (state.NatPort && state.Interface >= 0)
                    {
                        conntrack.NatPortRestored(state.Interface);
                    }
                }
                else
                {
                    conntrack.Release(state.Interface, state.PeerInterface);
                    skipped++;
                }
            }
        }
        catch (EndOfStreamException)
        {
            skipped++;
        }
        int killed = FlowRevalidator.Revalidate(conntrack, snapshot);
        return new FlowRestoreResult(restored - killed, skipped + killed, null);
    }

    // A zone is a tenant VNI (compiled VNI id + 1) or 0 for the public side; saved as the VNI number + 1.
    private static void WriteKey(BinaryWriter writer, in FlowKey key, DataplaneSnapshot snapshot)
    {
        writer.Write(key.Zone == 0 ? 0L
            : key.Zone <= snapshot.Vnis.Length && snapshot.Vnis[key.Zone - 1] is { } vni ? vni.Vni + 1L
            : -1L); // a network gone from the snapshot: skipped when read
        writer.Write(key.IpVersion);
        writer.Write(key.Protocol);
        WriteUInt128(writer, key.Src);
        WriteUInt128(writer, key.Dst);
        writer.Write(key.SrcPort);
        writer.Write(key.DstPort);
    }

    private static bool TryReadKey(BinaryReader reader, DataplaneSnapshot snapshot, out FlowKey key)
    {
        long vniPlusOne = reader.ReadInt64();
        byte ipVersion = reader.ReadByte();
        byte protocol = reader.ReadByte();
        UInt128 src = ReadUInt128(reader);
        UInt128 dst = ReadUInt128(reader);
        ushort srcPort = reader.ReadUInt16();
        ushort dstPort = reader.ReadUInt16();
        uint zone = 0;
        bool known = true;
        if (vniPlusOne != 0)
        {
            known = false;
            for (int v = 0; v < snapshot.Vnis.Length; v++)
            {
                if (snapshot.Vnis[v] is { } vni && vni.Vni + 1L == vniPlusOne)
                {
                    zone = (uint)v + 1;
                    known = true;
                    break;
                }
            }
        }
        key = new FlowKey(zone, ipVersion, protocol, src, srcPort, dst, dstPort);
        return known;
    }

    private static string InterfaceName(DataplaneSnapshot snapshot, int id) =>
        id >= 0 && id < snapshot.Interfaces.Length && snapshot.Interfaces[id].Present ? snapshot.Interfaces[id].Id : string.Empty;

    private static bool TryInterface(DataplaneSnapshot snapshot, string name, out int id)
    {
        id = name.Length == 0 ? -1 : snapshot.FindInterface(name);
        return name.Length == 0 || id >= 0;
    }

    private static bool TryLoadBalancer(DataplaneSnapshot snapshot, string name, out int id)
    {
        id = -1;
        if (name.Length == 0)
        {
            return true;
        }
        for (int i = 0; i < snapshot.LoadBalancers.Length; i++)
        {
            if (snapshot.LoadBalancers[i] is { } lb && lb.Id == name)
            {
                id = i;
                return true;
            }
        }
        return false;
    }

    private static void WriteUInt128(BinaryWriter writer, UInt128 value)
    {
        writer.Write((ulong)(value >> 64));
        writer.Write((ulong)value);
    }

    private static UInt128 ReadUInt128(BinaryReader reader)
    {
        ulong upper = reader.ReadUInt64();
        return new UInt128(upper, reader.ReadUInt64());
    }

    private struct Collector : IFlowVisitor<FlowState>
    {
        private readonly FlowTable<FlowState> _table;

        public Collector(FlowTable<FlowState> table)
        {
            _table = table;
            Flows = [];
        }

        public List<(FlowKey Forward, FlowKey Reply, FlowState State, long LastSeen)> Flows { get; }

        public readonly void Visit(int id, in FlowKey forward, in FlowKey reverse, ref FlowState value) =>
            Flows.Add((forward, reverse, value, _table.LastSeen(id)));
    }
}

/// <summary>What <see cref="FlowStateFile.Restore"/> did: flows restored, flows skipped (their interface,
/// network or load balancer is gone, they expired meanwhile, or the current state forbids them), or
/// why the whole file was refused.</summary>
public readonly record struct FlowRestoreResult(int Restored, int Skipped, string? Refused)
{
    internal static FlowRestoreResult Refusal(string reason) => new(0, 0, reason);
}
