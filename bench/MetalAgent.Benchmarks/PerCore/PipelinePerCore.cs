using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using MetalAgent.Backends;
using MetalAgent.Backends.Memory;
using MetalAgent.Benchmarks.DpdkCompare;
using MetalAgent.Compiler;
using MetalAgent.Dataplane.Flows;
using MetalAgent.Dataplane.Runtime;
using MetalAgent.Model.V1;
using MetalAgent.Model.Validation;
using MetalAgent.Packets;
using MetalAgent.Tables.Snapshot;
using DataplaneRuntime = MetalAgent.Dataplane.Runtime.Dataplane;

namespace MetalAgent.Benchmarks.PerCore;

/// <summary>
/// <c>-- pipeline-percore [workers] [cpus] [paths]</c>, e.g. <c>-- pipeline-percore 1,2 1,0</c>: the paths
/// of <see cref="PipelineBenchmarks"/> (the same host spec and frames, taken from that class) with 1 and
/// with 2 workers, each worker driven by its own thread pinned to its own CPU. Per-core cost is each
/// thread's on-CPU time per packet it pushed through its worker.
/// <para>
/// Each driver thread injects bursts of 32 frames into its worker's queue of the input port, runs
/// the worker's round until it finds no packet (as <see cref="DataplaneRuntime.Drain"/> does), and
/// discards what was sent. The tx rings have one consumer, so the discard takes a lock that the other
/// thread also takes. Worker w gets frames w, w + n, w + 2n, and so on, so with 2 workers each one creates half of
/// the flows in its own id range and looks up flows in the shared table. This covers the ring copies
/// of the single-worker benchmark plus one uncontended lock per burst.
/// </para>
/// </summary>
internal static class PipelinePerCore
{
    private const int Burst = 32;
    private const int FlowsPerKind = 1 << 19;
    private const int NewFlows = 1 << 16;
    private const int EstablishedPacketsPerWorker = 1 << 18;
    private const int WarmupRounds = 2;
    private const int MeasuredRounds = 5;

    private static readonly Type s_benchmark = typeof(PipelineBenchmarks);
    private static readonly int s_frameStride = Constant<int>("FrameStride");
    private static readonly ulong s_macA = Constant<ulong>("MacA");
    private static readonly ulong s_macN = Constant<ulong>("MacN");

    private static readonly string[] s_paths =
        ["EstablishedLocal", "EstablishedRemote", "EstablishedRemote1KFlows", "EstablishedLoadBalancer", "NewFlowPolicyNat", "NewFlowLoadBalancer"];

    public static void Run(string[] args)
    {
        int[] workerCounts = args.Length > 0 ? ParseList(args[0]) : [1, 2];
        int[] cpus = args.Length > 1 ? ParseList(args[1]) : [1, 0];
        string[] paths = args.Length > 2 ? args[2].Split(',') : s_paths;
        Console.WriteLine($"tiered compilation: {Environment.GetEnvironmentVariable("DOTNET_TieredCompilation") ?? "default"}, GC latency mode {System.Runtime.GCSettings.LatencyMode}, worker CPUs {string.Join(',', cpus)}");
        Console.WriteLine("| path | workers | on-CPU ns/packet per core | Mpps per core | Mpps, all cores (on-CPU) | Mpps, wall | packets per worker per round |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (int workers in workerCounts)
        {
            foreach (string path in paths)
            {
                using Scenario scenario = Setup(path, workers);
                Measure(scenario, cpus);
                GC.Collect();
            }
        }
    }

    private static void Measure(Scenario s, int[] cpus)
    {
        int workers = s.Workers;
        int packets = s.NewFlows ? NewFlows / workers : EstablishedPacketsPerWorker;
        double bestCpu = double.MaxValue, bestWall = double.MaxValue;
        for (int round = 0; round < WarmupRounds + MeasuredRounds; round++)
        {
            if (s.NewFlows)
            {
                // As PipelineBenchmarks.ExpireFlows: age every flow out, so each round creates them anew.
                s.Dataplane.Clock.Advance(10_000);
                s.Dataplane.SweepNow();
                Check(s.Dataplane.Conntrack.Table.Count == 0, "sweep left flows behind");
                Array.Clear(s.Cursors);
            }
            var cpu = new double[workers];
            var wall = new double[workers];
            var sent = new int[workers];
            using var barrier = new Barrier(workers);
            var threads = new Thread[workers];
            for (int w = 0; w < workers; w++)
            {
                int worker = w;
                threads[w] = new Thread(() =>
                {
                    Check(ThreadAffinity.PinCurrentThread(cpus[worker % cpus.Length]), $"cannot pin worker {worker} to CPU {cpus[worker % cpus.Length]}");
                    barrier.SignalAndWait();
                    double c0 = ThreadCpuClock.NowNs();
                    long t0 = Stopwatch.GetTimestamp();
                    sent[worker] = Drive(s, worker, packets);
                    wall[worker] = Stopwatch.GetElapsedTime(t0).TotalNanoseconds;
                    cpu[worker] = ThreadCpuClock.NowNs() - c0;
                })
                { IsBackground = true, Name = $"percore-{w}" };
                threads[w].Start();
            }
            foreach (Thread t in threads)
            {
                t.Join();
            }
            int total = Discard(s);
            foreach (int n in sent)
            {
                total += n;
            }
            Check(total == packets * workers, $"{s.Path}: {total} of {packets * workers} packets forwarded");
            if (round >= WarmupRounds)
            {
                bestCpu = Math.Min(bestCpu, cpu.Average() / packets);
                bestWall = Math.Min(bestWall, wall.Max());
            }
        }
        double perCoreMpps = 1e3 / bestCpu;
        double wallMpps = packets * workers / bestWall * 1e3;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {s.Path} | {workers} | {bestCpu:F0} | {perCoreMpps:F2} | {perCoreMpps * workers:F2} | {wallMpps:F2} | {packets} |"));
    }

    /// <summary>Pushes <paramref name="packets"/> frames of worker <paramref name="w"/>'s share through it,
    /// from its cursor on; returns how many frames it discarded from the output rings.</summary>
    private static int Drive(Scenario s, int w, int packets)
    {
        Worker worker = s.Dataplane.Workers[w];
        InMemoryPort input = s.Input;
        byte[] frames = s.Frames;
        int length = s.Length;
        int workers = s.Workers;
        int share = s.Count / workers;
        int k = s.Cursors[w];
        int sent = 0;
        for (int done = 0; done < packets; done += Burst)
        {
            for (int i = 0; i < Burst; i++)
            {
                input.Inject(frames.AsSpan((w + (k * workers)) * s_frameStride, length), w);
                k = k + 1 == share ? 0 : k + 1;
            }
            while (worker.PollOnce() > 0)
            {
            }
            sent += Discard(s);
        }
        s.Cursors[w] = k;
        return sent;
    }

    private static int Discard(Scenario s)
    {
        int n = 0;
        lock (s.SinkLock)
        {
            foreach (InMemoryPort output in s.Outputs)
            {
                n += output.DiscardSent();
            }
        }
        return n;
    }

    // ---- the scenarios of PipelineBenchmarks, with n workers ----

    private static Scenario Setup(string path, int workers)
    {
        var s = new Scenario(path, workers);
        switch (path)
        {
            case "EstablishedLocal":
            case "EstablishedRemote":
            case "EstablishedRemote1KFlows":
                {
                    bool local = path == "EstablishedLocal";
                    int flowsPerKind = path == "EstablishedRemote1KFlows" ? 512 : FlowsPerKind;
                    byte[] localFrames = BuildVmUdp(flowsPerKind, s_macA, Ip("10.0.0.1"), static i => Ip("10.0.0.2"), out int length);
                    byte[] remoteFrames = BuildVmUdp(flowsPerKind, s_macA, Ip("10.0.0.1"), static i => Ip("10.0.1.0") + (uint)(i & 0xFF), out _);
                    byte[] both = new byte[2 * flowsPerKind * s_frameStride];
                    for (int i = 0; i < flowsPerKind; i++)
                    {
                        localFrames.AsSpan(i * s_frameStride, s_frameStride).CopyTo(both.AsSpan(2 * i * s_frameStride));
                        remoteFrames.AsSpan(i * s_frameStride, s_frameStride).CopyTo(both.AsSpan(((2 * i) + 1) * s_frameStride));
                    }
                    s.Prepopulate("vm-a", both, length, 2 * flowsPerKind);
                    Check(s.Dataplane.Conntrack.Table.Count == 2L * flowsPerKind, "expected 2 x flowsPerKind flows");
                    s.Use("vm-a", local ? localFrames : remoteFrames, length, flowsPerKind, local ? "vm-b" : "uplink0");
                    break;
                }
            case "EstablishedLoadBalancer":
                {
                    const int flows = 1 << 20;
                    byte[] frames = BuildLbTcp(flows, out int length);
                    s.Prepopulate("uplink0", frames, length, flows);
                    Check(s.Dataplane.Conntrack.Table.Count == flows, "expected 1M LB flows");
                    s.Use("uplink0", frames, length, flows, "uplink0", "vm-a");
                    break;
                }
            case "NewFlowPolicyNat":
                {
                    byte[] frames = BuildVmUdp(NewFlows, s_macN, Ip("10.0.0.5"), static i => Ip("198.18.0.0") + (uint)i, out int length);
                    s.Use("vm-n", frames, length, NewFlows, "uplink0");
                    s.NewFlows = true;
                    break;
                }
            case "NewFlowLoadBalancer":
                {
                    byte[] frames = BuildLbTcp(NewFlows, out int length);
                    s.Use("uplink0", frames, length, NewFlows, "uplink0", "vm-a");
                    s.NewFlows = true;
                    break;
                }
            default:
                throw new ArgumentException($"unknown path {path}; one of {string.Join(", ", s_paths)}");
        }
        return s;
    }

    private static uint Ip(string text) => Addresses.ToUInt32(System.Net.IPAddress.Parse(text));

    private static byte[] BuildVmUdp(int count, ulong srcMac, uint src, Func<int, uint> destination, out int length)
    {
        object?[] args = [count, srcMac, src, destination, 0];
        var frames = (byte[])Method("BuildVmUdp").Invoke(null, args)!;
        length = (int)args[4]!;
        return frames;
    }

    private static byte[] BuildLbTcp(int count, out int length)
    {
        object?[] args = [count, 0];
        var frames = (byte[])Method("BuildLbTcp").Invoke(null, args)!;
        length = (int)args[1]!;
        return frames;
    }

    private static MethodInfo Method(string name) =>
        s_benchmark.GetMethod(name, BindingFlags.NonPublic | BindingFlags.Static)
        ?? throw new InvalidOperationException($"PipelineBenchmarks has no static method {name}: update {nameof(PipelinePerCore)}");

    private static T Constant<T>(string name) =>
        (T)(s_benchmark.GetField(name, BindingFlags.NonPublic | BindingFlags.Static)?.GetRawConstantValue()
            ?? throw new InvalidOperationException($"PipelineBenchmarks has no constant {name}: update {nameof(PipelinePerCore)}"));

    private static int[] ParseList(string text) => [.. text.Split(',').Select(t => int.Parse(t, CultureInfo.InvariantCulture))];

    private static void Check(bool condition, string message)
    {
        if (!condition)
        {
            throw new InvalidOperationException(message);
        }
    }

    /// <summary>One path's dataplane with n workers, its ports (one queue per worker) and its frames.</summary>
    private sealed class Scenario : IDisposable
    {
        private readonly Dictionary<string, InMemoryPort> _ports = new(StringComparer.Ordinal);

        public Scenario(string path, int workers)
        {
            Path = path;
            Workers = workers;
            Cursors = new int[workers];
            HostSpec spec = (HostSpec)Method("Spec").Invoke(null, null)!;
            IReadOnlyList<ValidationError> errors = HostSpecValidator.Validate(spec);
            Check(errors.Count == 0, string.Join("; ", errors));
            DataplaneSnapshot snapshot = HostCompiler.Compile(spec).Snapshot;
            Dataplane = new DataplaneRuntime(workers, poolSizePerWorker: 1024, new ConntrackOptions { Capacity = 1 << 20, MaxFlowsPerInterface = 1 << 24 });
            Dataplane.Clock.Set(1000);
            foreach (PortEntry p in snapshot.Ports)
            {
                if (p.Present)
                {
                    var port = new InMemoryPort(p.Name, p.Kind == PortKind.Uplink ? PortRole.Uplink : PortRole.Vm, queueCount: workers, capacity: 512);
                    _ports[p.Name] = port;
                    Dataplane.AddPort(port);
                }
            }
            Dataplane.Publish(snapshot);
        }

        public string Path { get; }

        public int Workers { get; }

        public DataplaneRuntime Dataplane { get; }

        public int[] Cursors { get; }

        public object SinkLock { get; } = new();

        public bool NewFlows { get; set; }

        public InMemoryPort Input { get; private set; } = null!;

        public InMemoryPort[] Outputs { get; private set; } = [];

        public byte[] Frames { get; private set; } = [];

        public int Length { get; private set; }

        public int Count { get; private set; }

        public void Use(string input, byte[] frames, int length, int count, params string[] outputs)
        {
            Input = _ports[input];
            Outputs = [.. outputs.Select(o => _ports[o])];
            Frames = frames;
            Length = length;
            Count = count;
            Array.Clear(Cursors);
        }

        /// <summary>Sends the first packet of every flow, each through the worker whose share it is in.</summary>
        public void Prepopulate(string port, byte[] frames, int length, int count)
        {
            Use(port, frames, length, count, [.. _ports.Keys]);
            int sent = 0;
            for (int w = 0; w < Workers; w++)
            {
                sent += Drive(this, w, count / Workers);
            }
            sent += Discard(this);
            Check(sent == count, $"{Path}: {sent} of {count} first packets forwarded");
        }

        public void Dispose() => Dataplane.Dispose();
    }
}
