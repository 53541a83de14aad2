using System.Net;
using BenchmarkDotNet.Attributes;
using MetalAgent.Backends;
using MetalAgent.Backends.Memory;
using MetalAgent.Compiler;
using MetalAgent.Dataplane.Flows;
using MetalAgent.Model.V1;
using MetalAgent.Model.Validation;
using MetalAgent.Packets;
using MetalAgent.Tables.Snapshot;
using DataplaneRuntime = MetalAgent.Dataplane.Runtime.Dataplane;

namespace MetalAgent.Benchmarks;

/// <summary>
/// The whole in-memory pipeline on one worker, per packet: frames are injected into
/// <see cref="InMemoryPort"/> rx rings in bursts of 32, <see cref="DataplaneRuntime.Drain"/> runs the
/// worker (receive copy into the pool, parse, stages, tx copy into the out ring), and the out ring is
/// drained without copying. Ring copies are part of the figure. Paths:
/// established east-west flows with 1M flows in the table (local delivery, remote encapsulation);
/// new flows with egress policy and NAT; the load balancer from the uplink (IP-in-IPv6 to its /128),
/// established with 1M flows and new.
/// </summary>
[MemoryDiagnoser]
public class PipelineBenchmarks
{
    private const int Burst = 32;
    /// <summary>Packets per invocation of the established-flow benchmarks.</summary>
    private const int PacketsPerInvoke = 1 << 15;
    /// <summary>Flows of each established kind (local, remote); together 1M flows (1,048,576).</summary>
    private const int FlowsPerKind = 1 << 19;
    /// <summary>New flows per iteration (one invocation; the table is swept between iterations).</summary>
    private const int NewFlows = 1 << 16;
    private const int FrameStride = 128;

    private const ulong MacA = 0x5254_0000_000A;
    private const ulong MacN = 0x5254_0000_000E;

    private DataplaneRuntime _dataplane = null!;
    private Dictionary<string, InMemoryPort> _ports = new(StringComparer.Ordinal);
    private InMemoryPort _in = null!;
    private InMemoryPort[] _out = [];
    private byte[] _frames = [];
    private int _frameLength;
    private int _frameCount;
    private int _cursor;

    // ---- established east-west, 1M flows ----

    [GlobalSetup(Target = nameof(EstablishedLocal))]
    public void SetupEstablishedLocal() => SetupEstablished(isLocal: true, FlowsPerKind);

    [GlobalSetup(Target = nameof(EstablishedRemote))]
    public void SetupEstablishedRemote() => SetupEstablished(isLocal: false, FlowsPerKind);

    [GlobalSetup(Target = nameof(EstablishedRemote1KFlows))]
    public void SetupEstablishedRemoteFew() => SetupEstablished(isLocal: false, 512);

    private void SetupEstablished(bool isLocal, int flowsPerKind)
    {
        Create(capacity: 1 << 20);
        byte[] local = BuildVmUdp(flowsPerKind, MacA, Ip("10.0.0.1"), static i => Ip("10.0.0.2"), out int length);
        byte[] remote = BuildVmUdp(flowsPerKind, MacA, Ip("10.0.0.1"), static i => Ip("10.0.1.0") + (uint)(i & 0xFF), out _);
        // Interleave the first packets of both kinds, so neither kind's entries sit deeper in the
        // hash chains (new entries are linked at the chain head).
        byte[] both = new byte[2 * flowsPerKind * FrameStride];
        for (int i = 0; i < flowsPerKind; i++)
        {
            local.AsSpan(i * FrameStride, FrameStride).CopyTo(both.AsSpan(2 * i * FrameStride));
            remote.AsSpan(i * FrameStride, FrameStride).CopyTo(both.AsSpan(((2 * i) + 1) * FrameStride));
        }
        Prepopulate("vm-a", both, length, 2 * flowsPerKind);
        Check(_dataplane.Conntrack.Table.Count == 2L * flowsPerKind, "expected 2 x flowsPerKind flows");
        Use("vm-a", isLocal ? local : remote, length, flowsPerKind, isLocal ? "vm-b" : "uplink0");
    }

    /// <summary>vm-a to vm-b on this host (UDP), established, 1M flows in the table.</summary>
    [Benchmark(OperationsPerInvoke = PacketsPerInvoke)]
    public int EstablishedLocal() => Run(PacketsPerInvoke);

    /// <summary>vm-a to a remote interface (UDP), encapsulated to its host, established, 1M flows in the table.</summary>
    [Benchmark(OperationsPerInvoke = PacketsPerInvoke)]
    public int EstablishedRemote() => Run(PacketsPerInvoke);

    /// <summary>Like <see cref="EstablishedRemote"/> with only 1,024 flows in the table (all in cache):
    /// the per-packet work without the flow table's memory misses.</summary>
    [Benchmark(OperationsPerInvoke = PacketsPerInvoke)]
    public int EstablishedRemote1KFlows() => Run(PacketsPerInvoke);

    // ---- new flows: egress policy, NAT gateway ----

    [GlobalSetup(Target = nameof(NewFlowPolicyNat))]
    public void SetupNewFlow()
    {
        Create(capacity: 1 << 20);
        // Distinct internet destinations (198.18.0.0/15) and source ports: every packet is a new flow.
        byte[] frames = BuildVmUdp(NewFlows, MacN, Ip("10.0.0.5"), static i => Ip("198.18.0.0") + (uint)i, out int length);
        Use("vm-n", frames, length, NewFlows, "uplink0");
        Check(Run(NewFlows) == NewFlows, "every new NAT flow must be forwarded");
        Check(_dataplane.Conntrack.Table.Count == NewFlows, "expected one flow per packet");
    }

    [IterationSetup(Targets = [nameof(NewFlowPolicyNat), nameof(NewFlowLoadBalancer)])]
    public void ExpireFlows()
    {
        // Age every flow out and give the ids back, so each iteration creates its flows anew.
        _dataplane.Clock.Advance(10_000);
        _dataplane.SweepNow();
        Check(_dataplane.Conntrack.Table.Count == 0, "sweep left flows behind");
        _cursor = 0;
    }

    /// <summary>Each packet a new flow from vm-n to the internet: LPM, egress classifier over 65 rules,
    /// NAT port pick, flow insert with reply key, source rewrite, encapsulation.</summary>
    [Benchmark(OperationsPerInvoke = NewFlows)]
    public int NewFlowPolicyNat() => Run(NewFlows);

    // ---- load balancer from the uplink ----

    [GlobalSetup(Target = nameof(EstablishedLoadBalancer))]
    public void SetupLoadBalancerEstablished()
    {
        Create(capacity: 1 << 20);
        const int flows = 1 << 20;
        byte[] frames = BuildLbTcp(flows, out int length);
        Prepopulate("uplink0", frames, length, flows);
        Check(_dataplane.Conntrack.Table.Count == flows, "expected 1M LB flows");
        Use("uplink0", frames, length, flows, "uplink0", "vm-a");
    }

    /// <summary>TCP to the LB's VIP over IP-in-IPv6 to its /128, established (1M flows): half the flows
    /// go to the local target (decapsulated to vm-a), half re-encapsulated to the remote target.</summary>
    [Benchmark(OperationsPerInvoke = PacketsPerInvoke)]
    public int EstablishedLoadBalancer() => Run(PacketsPerInvoke);

    [GlobalSetup(Target = nameof(NewFlowLoadBalancer))]
    public void SetupLoadBalancerNew()
    {
        Create(capacity: 1 << 20);
        byte[] frames = BuildLbTcp(NewFlows, out int length);
        Use("uplink0", frames, length, NewFlows, "uplink0", "vm-a");
        Check(Run(NewFlows) == NewFlows, "every new LB flow must be forwarded");
    }

    /// <summary>Each packet a new LB flow from the uplink: Maglev pick, flow insert, forward.</summary>
    [Benchmark(OperationsPerInvoke = NewFlows)]
    public int NewFlowLoadBalancer() => Run(NewFlows);

    [GlobalCleanup]
    public void Cleanup()
    {
        _dataplane?.Dispose();
        _frames = [];
    }

    // ---- measured loop ----

    private int Run(int packets)
    {
        InMemoryPort input = _in;
        InMemoryPort[] outputs = _out;
        DataplaneRuntime dataplane = _dataplane;
        byte[] frames = _frames;
        int length = _frameLength;
        int count = _frameCount;
        int cursor = _cursor;
        int sent = 0;
        for (int done = 0; done < packets; done += Burst)
        {
            for (int i = 0; i < Burst; i++)
            {
                input.Inject(frames.AsSpan(cursor * FrameStride, length));
                cursor = cursor + 1 == count ? 0 : cursor + 1;
            }
            dataplane.Drain();
            foreach (InMemoryPort output in outputs)
            {
                sent += output.DiscardSent();
            }
        }
        _cursor = cursor;
        return sent;
    }

    // ---- setup helpers ----

    private void Create(int capacity)
    {
        HostSpec spec = Spec();
        IReadOnlyList<ValidationError> errors = HostSpecValidator.Validate(spec);
        Check(errors.Count == 0, string.Join("; ", errors));
        DataplaneSnapshot snapshot = HostCompiler.Compile(spec).Snapshot;
        _dataplane = new DataplaneRuntime(1, poolSizePerWorker: 1024, new ConntrackOptions { Capacity = capacity, MaxFlowsPerInterface = 1 << 24 });
        _dataplane.Clock.Set(1000);
        _ports = new Dictionary<string, InMemoryPort>(StringComparer.Ordinal);
        foreach (PortEntry p in snapshot.Ports)
        {
            if (p.Present)
            {
                var port = new InMemoryPort(p.Name, p.Kind == PortKind.Uplink ? PortRole.Uplink : PortRole.Vm, queueCount: 1, capacity: 512);
                _ports[p.Name] = port;
                _dataplane.AddPort(port);
            }
        }
        _dataplane.Publish(snapshot);
    }

    /// <summary>Sends the first packet of every flow, checking that each one is forwarded.</summary>
    private void Prepopulate(string port, byte[] frames, int length, int count)
    {
        Use(port, frames, length, count, [.. _ports.Keys]);
        Check(Run(count) == count, "a first packet was not forwarded");
    }

    private void Use(string input, byte[] frames, int length, int count, params string[] outputs)
    {
        _in = _ports[input];
        _out = new InMemoryPort[outputs.Length];
        for (int i = 0; i < outputs.Length; i++)
        {
            _out[i] = _ports[outputs[i]];
        }
        _frames = frames;
        _frameLength = length;
        _frameCount = count;
        _cursor = 0;
    }

    private static void Check(bool condition, string message)
    {
        if (!condition)
        {
            throw new InvalidOperationException(message);
        }
    }

    private static uint Ip(string text) => Addresses.ToUInt32(IPAddress.Parse(text));

    private static UInt128 Ip6(string text) => Addresses.ToUInt128(IPAddress.Parse(text));

    /// <summary>UDP frames from a VM (60 bytes), flow i: source port 1024 + i % 60000, destination
    /// port 5000 + i / 60000, destination from <paramref name="destination"/>.</summary>
    private static byte[] BuildVmUdp(int count, ulong srcMac, uint src, Func<int, uint> destination, out int length)
    {
        byte[] frames = new byte[count * FrameStride];
        const int payload = 18;
        length = PacketWriter.EthernetHeaderLength + PacketWriter.IPv4HeaderLength + PacketWriter.UdpHeaderLength + payload;
        for (int i = 0; i < count; i++)
        {
            Span<byte> f = frames.AsSpan(i * FrameStride, length);
            uint dst = destination(i);
            int off = PacketWriter.WriteEthernet(f, 0x0200_0000_0001, srcMac, EtherTypes.IPv4);
            off += PacketWriter.WriteIPv4(f[off..], src, dst, IpProtocols.Udp, PacketWriter.UdpHeaderLength + payload);
            PacketWriter.WriteUdp(f[off..], IpAddressPair.V4(src, dst), (ushort)(1024 + (i % 60000)), (ushort)(5000 + (i / 60000)), payload);
        }
        return frames;
    }

    /// <summary>IP-in-IPv6 frames from the underlay router to the LB's /128, inner TCP (ACK+PSH,
    /// 6 bytes payload) from client 100.64.0.0/10 to 203.0.113.20:80; flow i from client i / 60000.</summary>
    private static byte[] BuildLbTcp(int count, out int length)
    {
        byte[] frames = new byte[count * FrameStride];
        const int payload = 6;
        int inner = PacketWriter.IPv4HeaderLength + PacketWriter.TcpHeaderLength + payload;
        length = PacketWriter.IPinIPv6HeaderLength + inner;
        UInt128 router = Ip6(Router);
        UInt128 lb = Ip6("fc00:1:a::20");
        uint vip = Ip("203.0.113.20");
        for (int i = 0; i < count; i++)
        {
            Span<byte> f = frames.AsSpan(i * FrameStride, length);
            uint client = Ip("100.64.0.0") + (uint)(i / 60000);
            ushort sport = (ushort)(1024 + (i % 60000));
            int off = PacketWriter.WriteIPinIPv6(f, 0x0200_0000_0002, 0x0200_0000_FF01, router, lb, IpProtocols.IPv4InIp, inner, 1);
            off += PacketWriter.WriteIPv4(f[off..], client, vip, IpProtocols.Tcp, PacketWriter.TcpHeaderLength + payload);
            PacketWriter.WriteTcp(f[off..], IpAddressPair.V4(client, vip), sport, 80, 1, 1, 0x18, 1024, payload);
        }
        return frames;
    }

    private const string Router = "fc00:0:ff::1";

    /// <summary>
    /// host-a (underlay fc00:1:a::/64), VNI 100: vm-a 10.0.0.1 (LB target via alias 203.0.113.20/32),
    /// vm-b 10.0.0.2, vm-n 10.0.0.5 with a NAT slice (all ports of 203.0.113.30) and egress policy
    /// (64 deny rules that do not match, then allow UDP to 198.18.0.0/15); remote 10.0.1.0/24 on
    /// host-b; load balancer lb-1 203.0.113.20 TCP 80 over vm-a and a target on host-b.
    /// </summary>
    private static HostSpec Spec()
    {
        var spec = new HostSpec
        {
            SchemaVersion = 1,
            Version = 1,
            Host = new HostInfo
            {
                Name = "host-a",
                UnderlayPrefix = "fc00:1:a::/64",
                RouterUnderlayAddress = Router,
                Mtu = 1500,
                Uplinks = { new UplinkSpec { Name = "uplink0", GatewayAddress = "fe80::1", GatewayMac = "02:00:00:00:ff:01" } },
            },
            Networks = { new NetworkSpec { Vni = 100, Name = "net-100" } },
            Interfaces =
            {
                new InterfaceSpec
                {
                    Id = "vm-a", Vni = 100, Ipv4 = "10.0.0.1", UnderlayAddress = "fc00:1:a::1", Mac = "52:54:00:00:00:0a",
                    LbAliasPrefixes = { new RoutedPrefixSpec { Prefix = "203.0.113.20/32", UnderlayAddress = "fc00:1:a::21" } },
                },
                new InterfaceSpec { Id = "vm-b", Vni = 100, Ipv4 = "10.0.0.2", UnderlayAddress = "fc00:1:a::2", Mac = "52:54:00:00:00:0b" },
                new InterfaceSpec
                {
                    Id = "vm-n", Vni = 100, Ipv4 = "10.0.0.5", UnderlayAddress = "fc00:1:a::5", Mac = "52:54:00:00:00:0e",
                    NatIpv4 = new NatSliceSpec { PublicIp = "203.0.113.30", FirstPort = 1024, LastPort = 65535, UnderlayAddress = "fc00:1:a::30" },
                    EgressPolicy = true,
                },
            },
            Routes = { new RemoteRouteSpec { Vni = 100, Prefix = "10.0.1.0/24", NextHopUnderlay = "fc00:1:b::1" } },
            LoadBalancers =
            {
                new LoadBalancerSpec
                {
                    Id = "lb-1", Vni = 100, Type = LoadBalancerType.Public, Ips = { "203.0.113.20" }, UnderlayAddress = "fc00:1:a::20",
                    Ports = { new LoadBalancerPortSpec { Protocol = Protocol.Tcp, Port = 80 } },
                    Targets = { "fc00:1:a::21", "fc00:1:b::21" },
                },
            },
        };
        for (int r = 0; r < 64; r++)
        {
            spec.PolicyRules.Add(new PolicyRuleSpec
            {
                Id = $"deny-{r}", TargetInterfaces = { "vm-n" }, Direction = PolicyDirection.Egress, Action = PolicyAction.Deny, Priority = (uint)r,
                Peers = { new PolicyPeerSpec { Cidr = $"172.{16 + (r % 16)}.{r}.0/24" } },
                Ports = { new PolicyPortSpec { Protocol = Protocol.Tcp, FirstPort = (uint)(1000 + r), LastPort = (uint)(1000 + r) } },
            });
        }
        spec.PolicyRules.Add(new PolicyRuleSpec
        {
            Id = "allow-bench", TargetInterfaces = { "vm-n" }, Direction = PolicyDirection.Egress, Action = PolicyAction.Allow, Priority = 100,
            Peers = { new PolicyPeerSpec { Cidr = "198.18.0.0/15" } },
            Ports = { new PolicyPortSpec { Protocol = Protocol.Udp } },
        });
        return spec;
    }
}
