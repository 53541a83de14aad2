using MetalAgent.Agent.Local.V1;
using MetalAgent.Backends;
using MetalAgent.Dataplane;
using MetalAgent.Dataplane.Flows;
using MetalAgent.Dataplane.Runtime;
using MetalAgent.Packets;
using MetalAgent.Tables.Snapshot;

namespace MetalAgent.Agent.Local;

/// <summary>
/// Runs frames through the pipeline with the live tables without forwarding them and without touching
/// live state: the compiled snapshot is shared (it is immutable), the mutable parts are private copies
/// (learned MACs copied, a scratch flow table, scratch counters and buffers), and nothing is sent. Frames
/// of one trace see each other's flows, like a replay. Each frame is also looked up, read-only, in the
/// live flow table, so a reply or a later packet of an existing connection shows the flow that carries it.
/// </summary>
public static class LiveTracer
{
    public const int MaxFrames = 10_000;

    /// <summary>Traces <paramref name="frames"/> entering <paramref name="portName"/> (<paramref name="offline"/>: against a
    /// state file, where no port is bound and there are no live flows). Throws
    /// <see cref="ArgumentException"/> for an unknown port or too many frames.</summary>
    public static TraceReply Trace(BoundSnapshot live, FlowTable<FlowState>? liveFlows, ConntrackOptions options, long now, string portName, IReadOnlyList<byte[]> frames, IReadOnlyList<string>? buildNotes = null, bool offline = false)
    {
        DataplaneSnapshot tables = live.Tables;
        int port = tables.FindPort(portName);
        if (port < 0)
        {
            throw new ArgumentException($"no port named '{portName}' in the live state (ports: {string.Join(", ", PortNames(tables))})");
        }
        if (frames.Count > MaxFrames)
        {
            throw new ArgumentException($"at most {MaxFrames} frames per trace");
        }
        var scratch = new BoundSnapshot(tables, live.Ports, new InterfaceState(tables.Interfaces.Length, live.Interfaces));
        var conntrack = new ConntrackState(options with { Capacity = Math.Max(1024, frames.Count * 4) }, workers: 1);
        var counters = new WorkerCounters();
        counters.EnsurePorts(tables.Ports.Length);
        counters.EnsureInterfaces(tables.Interfaces.Length);
        counters.EnsureLoadBalancers(tables.LoadBalancers);
        var context = new WorkerContext(0, counters, conntrack) { Now = now };
        var pool = new PacketPool(2);
        long[] drops = new long[DropReasons.Count];

        var reply = new TraceReply { StateVersion = tables.Version };
        for (int i = 0; i < frames.Count; i++)
        {
            var result = new TraceResult { Index = i, InPort = portName, Input = FrameSummary.Describe(frames[i]) };
            if (i == 0 && buildNotes is not null)
            {
                result.Notes.AddRange(buildNotes);
            }
            if (frames[i].Length > PacketPool.BufferSize - PacketPool.Headroom)
            {
                result.Verdict = "drop";
                result.DropReason = DropReasons.Name(DropReason.FrameTooLarge);
                result.Notes.Add("the frame is larger than a packet buffer: a port would not have received it");
                reply.Results.Add(result);
                continue;
            }
            Snapshot(counters, drops);
            long created = counters.FlowsCreated;
            FlowKey[] candidates = Candidates(tables, port, frames[i]);

            int buffer = pool.Rent();
            frames[i].CopyTo(pool.Buffer(buffer)[PacketPool.Headroom..]);
            var packet = new PacketDescriptor { Buffer = buffer, Offset = PacketPool.Headroom, Length = frames[i].Length, Port = (ushort)port };
            Verdict verdict = Pipeline.Process(scratch, pool, ref packet, context);
            if (verdict.Kind == VerdictKind.Forward)
            {
                result.Verdict = "forward";
                result.OutPort = (uint)verdict.Port < (uint)tables.Ports.Length ? tables.Ports[verdict.Port].Name : $"#{verdict.Port}";
                result.Output = FrameSummary.Describe(pool.Frame(packet));
                if (!offline && ((uint)verdict.Port >= (uint)live.Ports.Length || live.Ports[verdict.Port] is null))
                {
                    result.Notes.Add($"port {result.OutPort} is not bound on this host: a worker would drop the frame (unknown_port)");
                }
                else if (verdict.Port == port)
                {
                    result.Notes.Add("answered on the port it came from (gateway service, ICMP error or echo reply)");
                }
            }
            else
            {
                result.Verdict = "drop";
                result.DropReason = DropReasons.Name(verdict.Kind == VerdictKind.Drop ? verdict.Reason : DropReason.NotForwarded);
            }
            pool.Return(buffer);
            for (int r = 0; r < drops.Length; r++)
            {
                long delta = counters.Drops((DropReason)r) - drops[r];
                if (delta > 0 && !(verdict.Kind == VerdictKind.Drop && (DropReason)r == verdict.Reason))
                {
                    result.Notes.Add("counted as " + DropReasons.Name((DropReason)r));
                }
            }
            result.Flow = FlowText(conntrack.Table, tables, candidates, now, counters.FlowsCreated > created ? "new" : "follows");
            if (liveFlows is not null)
            {
                result.LiveFlow = FlowText(liveFlows, tables, candidates, now, "live");
                if (result.LiveFlow.Length > 0 && result.Verdict == "drop" && result.Flow.Length == 0)
                {
                    result.Notes.Add("the live agent has a flow for this packet (see live flow): traced alone it is dropped, on the live path it follows that flow");
                }
            }
            reply.Results.Add(result);
        }
        return reply;
    }

    private static IEnumerable<string> PortNames(DataplaneSnapshot tables)
    {
        foreach (PortEntry p in tables.Ports)
        {
            if (p.Present)
            {
                yield return p.Name;
            }
        }
    }

    private static void Snapshot(WorkerCounters counters, long[] drops)
    {
        for (int r = 0; r < drops.Length; r++)
        {
            drops[r] = counters.Drops((DropReason)r);
        }
    }

    /// <summary>The flow keys the packet may have in a flow table: its 5-tuple in the sending interface's
    /// zone (VM port), then in the public zone and in every VNI's zone (uplink, after decapsulation).</summary>
    private static FlowKey[] Candidates(DataplaneSnapshot tables, int port, byte[] frame)
    {
        var h = default(PacketHeaders);
        if (PacketParser.ParseEthernet(frame, ref h) != ParseError.None || h.IpVersion == 0)
        {
            return [];
        }
        int zone = -1;
        if (tables.Ports[port].Kind == PortKind.Uplink)
        {
            if (h.IpVersion != 6 || h.Protocol is not (IpProtocols.IPv4InIp or IpProtocols.IPv6InIp))
            {
                return [];
            }
            var inner = default(PacketHeaders);
            if (PacketParser.ParseIp(frame.AsSpan(0, h.L3End), h.L4Offset, ref inner) != ParseError.None)
            {
                return [];
            }
            h = inner;
        }
        else
        {
            int iface = tables.Ports[port].Interface;
            zone = iface >= 0 && iface < tables.Interfaces.Length ? tables.Interfaces[iface].VniId + 1 : -1;
        }
        var keys = new List<FlowKey>();
        if (zone >= 0)
        {
            keys.Add(new FlowKey((uint)zone, h.IpVersion, h.Protocol, h.SrcIp, h.SrcPort, h.DstIp, h.DstPort));
        }
        keys.Add(new FlowKey(0, h.IpVersion, h.Protocol, h.SrcIp, h.SrcPort, h.DstIp, h.DstPort));
        for (int v = 0; v < tables.Vnis.Length; v++)
        {
            if (v + 1 != zone)
            {
                keys.Add(new FlowKey((uint)v + 1, h.IpVersion, h.Protocol, h.SrcIp, h.SrcPort, h.DstIp, h.DstPort));
            }
        }
        return [.. keys];
    }

    private static string FlowText(FlowTable<FlowState> table, DataplaneSnapshot tables, FlowKey[] candidates, long now, string label)
    {
        foreach (FlowKey key in candidates)
        {
            int id = table.Lookup(key, out int direction);
            if (id < 0)
            {
                continue;
            }
            FlowState state = table.Value(id);
            Flow flow = FlowFormat.Describe(tables, id, table.Key(id, 0), table.Key(id, 1), in state, Math.Max(0, now - table.LastSeen(id)));
            return $"{label} {FlowFormat.OneLine(flow)}, {(direction == 0 ? "original" : "reply")} direction";
        }
        return string.Empty;
    }
}
