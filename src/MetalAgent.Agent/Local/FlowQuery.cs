using MetalAgent.Agent.Local.V1;
using MetalAgent.Dataplane.Flows;
using MetalAgent.Packets;
using MetalAgent.Tables.Snapshot;

namespace MetalAgent.Agent.Local;

/// <summary>
/// Lists live flows matching filters, at most a limit of them, by one pass over the flow table (read only,
/// while the workers run: a snapshot in motion). Filters are checked against both keys, so an address
/// or port matches before and after translation.
/// </summary>
public static class FlowQuery
{
    public const uint DefaultLimit = 100;
    public const uint MaxLimit = 10_000;

    /// <summary>Runs the query; throws <see cref="ArgumentException"/> for a bad filter.</summary>
    public static FlowsReply Run(FlowTable<FlowState> table, DataplaneSnapshot tables, long now, FlowsRequest request)
    {
        var filter = new Filter(tables, request);
        var visitor = new Visitor(table, tables, filter, now, request.Limit == 0 ? DefaultLimit : Math.Min(request.Limit, MaxLimit));
        table.ForEachLive(ref visitor);
        var reply = new FlowsReply { Live = visitor.Live, Matched = visitor.Matched, Truncated = visitor.Matched > visitor.Flows.Count };
        reply.Flows.AddRange(visitor.Flows);
        return reply;
    }

    private sealed class Filter
    {
        private readonly int _interface = -1;
        private readonly byte _version;
        private readonly UInt128 _address;
        private readonly int _protocol = -1;
        private readonly uint _port;
        private readonly FlowKind? _kind;

        public Filter(DataplaneSnapshot tables, FlowsRequest request)
        {
            if (request.Interface.Length > 0)
            {
                _interface = tables.FindInterface(request.Interface);
                if (_interface < 0)
                {
                    throw new ArgumentException($"no interface '{request.Interface}' in the live state");
                }
            }
            if (request.Address.Length > 0 && !Addresses.TryParseIp(request.Address, out _version, out _address))
            {
                throw new ArgumentException($"'{request.Address}' is not an IP address");
            }
            if (request.Protocol.Length > 0)
            {
                _protocol = FlowFormat.ParseProtocol(request.Protocol);
                if (_protocol < 0)
                {
                    throw new ArgumentException($"unknown protocol '{request.Protocol}' (tcp, udp, icmp, icmpv6, sctp or a number)");
                }
            }
            if (request.Port > ushort.MaxValue)
            {
                throw new ArgumentException($"port {request.Port} is out of range");
            }
            _port = request.Port;
            if (request.Kind.Length > 0)
            {
                _kind = request.Kind switch
                {
                    "routed" => FlowKind.Routed,
                    "snat" => FlowKind.SourceNat,
                    "dnat" => FlowKind.DestinationNat,
                    "lb" => FlowKind.LoadBalanced,
                    "nat64" => FlowKind.Nat64,
                    _ => throw new ArgumentException($"unknown flow kind '{request.Kind}' (routed, snat, dnat, lb, nat64)"),
                };
            }
        }

        public bool Matches(in FlowKey forward, in FlowKey reply, in FlowState state)
        {
            if (_interface >= 0 && state.Interface != _interface && state.PeerInterface != _interface)
            {
                return false;
            }
            if (_protocol >= 0 && forward.Protocol != _protocol)
            {
                return false;
            }
            if (_kind is { } kind && state.Kind != kind)
            {
                return false;
            }
            if (_port != 0 && forward.SrcPort != _port && forward.DstPort != _port && reply.SrcPort != _port && reply.DstPort != _port)
            {
                return false;
            }
            if (_version != 0 && !Has(forward, _version, _address) && !Has(reply, _version, _address))
            {
                return false;
            }
            return true;
        }

        private static bool Has(in FlowKey key, byte version, UInt128 address) =>
            key.IpVersion == version && (key.Src == address || key.Dst == address);
    }

    private struct Visitor : IFlowVisitor<FlowState>
    {
        private readonly FlowTable<FlowState> _table;
        private readonly DataplaneSnapshot _tables;
        private readonly Filter _filter;
        private readonly long _now;
        private readonly uint _limit;

        public Visitor(FlowTable<FlowState> table, DataplaneSnapshot tables, Filter filter, long now, uint limit)
        {
            _table = table;
            _tables = tables;
            _filter = filter;
            _now = now;
            _limit = limit;
            Flows = [];
            Live = 0;
            Matched = 0;
        }

        public List<Flow> Flows { get; }

        public long Live { get; private set; }

        public long Matched { get; private set; }

        public void Visit(int id, in FlowKey forward, in FlowKey reverse, ref FlowState value)
        {
            Live++;
            if (!_filter.Matches(in forward, in reverse, in value))
            {
                return;
            }
            Matched++;
            if (Flows.Count < _limit)
            {
                Flows.Add(FlowFormat.Describe(_tables, id, in forward, in reverse, in value, Math.Max(0, _now - _table.LastSeen(id))));
            }
        }
    }
}
