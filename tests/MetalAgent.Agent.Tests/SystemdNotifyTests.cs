using System.Net.Sockets;
using System.Text;
using MetalAgent.Agent.Hosting;
using MetalAgent.Agent.Sync;
using MetalAgent.Backends;
using MetalAgent.Backends.Memory;

namespace MetalAgent.Agent.Tests;

/// <summary>The agent under a fake service manager: a Unix datagram socket the test binds as NOTIFY_SOCKET.</summary>
public sealed class SystemdNotifyTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "metalagent-notify-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);

    public SystemdNotifyTests()
    {
        Directory.CreateDirectory(_dir);
        _socket.Bind(new UnixDomainSocketEndPoint(NotifyPath));
    }

    private string NotifyPath => Path.Combine(_dir, "notify");

    public void Dispose()
    {
        _socket.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>The next message within <paramref name="timeout"/>, or null.</summary>
    private string? Receive(TimeSpan timeout) => Receive(_socket, timeout);

    internal static string? Receive(Socket socket, TimeSpan timeout)
    {
        if (!socket.Poll(timeout, SelectMode.SelectRead))
        {
            return null;
        }
        byte[] buffer = new byte[4096];
        int n = socket.Receive(buffer);
        return Encoding.UTF8.GetString(buffer, 0, n);
    }

    /// <summary>Messages until one contains <paramref name="assignment"/>; fails after 20 s.</summary>
    private List<string> ReceiveUntil(string assignment)
    {
        var seen = new List<string>();
        DateTime deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            string? message = Receive(TimeSpan.FromMilliseconds(200));
            if (message is null)
            {
                continue;
            }
            seen.Add(message);
            if (message.Split('\n').Contains(assignment))
            {
                return seen;
            }
        }
        Assert.Fail($"no {assignment} within 20 s; got: {string.Join(" | ", seen)}");
        return seen;
    }

    private static Func<string, string?> Environment(Dictionary<string, string> variables) =>
        name => variables.TryGetValue(name, out string? value) ? value : null;

    private AgentServiceOptions Options(TimeSpan stall) => new()
    {
        Notifier = SystemdNotifier.FromEnvironment(Environment(new() { ["NOTIFY_SOCKET"] = NotifyPath, ["WATCHDOG_USEC"] = "200000" })),
        HealthInterval = TimeSpan.FromMilliseconds(20),
        WorkerStallTimeout = stall,
    };

    [Fact]
    public async Task The_agent_sends_READY_once_its_state_is_live_then_WATCHDOG_repeatedly_then_STOPPING()
    {
        AgentServiceOptions options = Options(TimeSpan.FromSeconds(2));
        await using (OpsAgent agent = await OpsAgent.StartAsync(_ => options, workers: 2))
        {
            List<string> first = ReceiveUntil("READY=1");
            Assert.Contains(first[^1].Split('\n'), l => l.StartsWith("STATUS=forwarding state version", StringComparison.Ordinal));
            Assert.NotNull(agent.Host.Dataplane.Current);
            for (int i = 0; i < 3; i++)
            {
                ReceiveUntil("WATCHDOG=1");
            }
            await agent.Service.StopAsync();
            ReceiveUntil("STOPPING=1");
        }
        options.Notifier!.Dispose();
    }

    [Fact]
    public async Task Watchdog_pings_stop_while_a_worker_is_stuck_and_resume_when_it_moves_again()
    {
        using var gate = new ManualResetEventSlim(initialState: true);
        AgentServiceOptions options = Options(TimeSpan.FromMilliseconds(300));
        await using (OpsAgent agent = await OpsAgent.StartAsync(_ => options, workers: 2, wrap: memory => new GatedBackend(memory, "other-1", gate)))
        {
            try
            {
                ReceiveUntil("READY=1");
                ReceiveUntil("WATCHDOG=1");
                Assert.True(agent.Service.IsLive);

                gate.Reset(); // worker 0 blocks in the next receive on other-1's queue 0
                await OpsFrames.WaitUntil(() => !agent.Service.IsLive, "the stuck worker is noticed");
                Assert.Contains(agent.Service.Health.Workers(), w => w.Index == 0 && !w.Alive);
                Assert.Contains(agent.Service.Health.Workers(), w => w.Index == 1 && w.Alive);
                // Messages already in the socket may include pings sent before the stall was noticed.
                while (Receive(TimeSpan.Zero) is not null)
                {
                }
                // At least five ping periods (100 ms) pass without a ping.
                for (string? message = Receive(TimeSpan.FromMilliseconds(600)); message is not null; message = Receive(TimeSpan.FromMilliseconds(600)))
                {
                    Assert.DoesNotContain("WATCHDOG=1", message.Split('\n'));
                }
                Assert.False(agent.Service.IsLive);
            }
            finally
            {
                gate.Set();
            }
            ReceiveUntil("WATCHDOG=1");
            Assert.True(agent.Service.IsLive);
        }
        options.Notifier!.Dispose();
    }

    [Fact]
    public void The_notifier_follows_the_environment_and_reaches_abstract_sockets()
    {
        Assert.Null(SystemdNotifier.FromEnvironment(Environment([])));
        Assert.Null(SystemdNotifier.FromEnvironment(Environment(new() { ["NOTIFY_SOCKET"] = "relative/path" })));

        using SystemdNotifier? plain = SystemdNotifier.FromEnvironment(Environment(new() { ["NOTIFY_SOCKET"] = NotifyPath }));
        Assert.NotNull(plain);
        Assert.Null(plain.WatchdogTimeout);

        // WATCHDOG_PID names another process: the watchdog is not ours to feed.
        using SystemdNotifier? other = SystemdNotifier.FromEnvironment(Environment(new() { ["NOTIFY_SOCKET"] = NotifyPath, ["WATCHDOG_USEC"] = "5000000", ["WATCHDOG_PID"] = "1" }));
        Assert.Null(other!.WatchdogTimeout);
        using SystemdNotifier? ours = SystemdNotifier.FromEnvironment(Environment(new()
        {
            ["NOTIFY_SOCKET"] = NotifyPath, ["WATCHDOG_USEC"] = "5000000", ["WATCHDOG_PID"] = System.Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture),
        }));
        Assert.Equal(TimeSpan.FromSeconds(5), ours!.WatchdogTimeout);

        string name = "metalagent-test-" + Guid.NewGuid().ToString("N")[..12];
        using var abstractSocket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        abstractSocket.Bind(new UnixDomainSocketEndPoint("\0" + name));
        using SystemdNotifier? toAbstract = SystemdNotifier.FromEnvironment(Environment(new() { ["NOTIFY_SOCKET"] = "@" + name }));
        Assert.True(toAbstract!.Ready("up"));
        Assert.Equal("READY=1\nSTATUS=up", Receive(abstractSocket, TimeSpan.FromSeconds(5)));
        Assert.True(toAbstract.ExtendTimeout(TimeSpan.FromSeconds(20), "waiting\nfor state"));
        Assert.Equal("EXTEND_TIMEOUT_USEC=20000000\nSTATUS=waiting for state", Receive(abstractSocket, TimeSpan.FromSeconds(5)));

        // A service manager that went away is not an error for the agent.
        using var gone = new SystemdNotifier(Path.Combine(_dir, "nobody-listens"), null);
        Assert.False(gone.Watchdog());
    }

    /// <summary>Memory ports, except that queue 0 of one port blocks in Receive while the gate is closed:
    /// the worker that owns it is stuck.</summary>
    private sealed class GatedBackend(MemoryPortBackend memory, string gatedPort, ManualResetEventSlim gate) : IPortBackend
    {
        public string DeviceName(string portName, PortRole role) => memory.DeviceName(portName, role);

        public IPort Open(string portName, PortRole role, int queueCount)
        {
            IPort port = memory.Open(portName, role, queueCount);
            return portName == gatedPort ? new GatedPort(port, gate) : port;
        }

        public void Dispose() => memory.Dispose();
    }

    private sealed class GatedPort(IPort inner, ManualResetEventSlim gate) : IPort
    {
        public string Name => inner.Name;

        public PortRole Role => inner.Role;

        public ulong MacAddress => inner.MacAddress;

        public int QueueCount => inner.QueueCount;

        public IPortQueue Queue(int index) => index == 0 ? new GatedQueue(inner.Queue(0), gate) : inner.Queue(index);

        public void Dispose()
        {
        }
    }

    private sealed class GatedQueue(IPortQueue inner, ManualResetEventSlim gate) : IPortQueue
    {
        public int Receive(Span<PacketDescriptor> packets, PacketPool pool)
        {
            gate.Wait();
            return inner.Receive(packets, pool);
        }

        public int Transmit(ReadOnlySpan<PacketDescriptor> packets, PacketPool pool) => inner.Transmit(packets, pool);

        public void AttachWakeup(WorkerWakeup wakeup) => inner.AttachWakeup(wakeup);
    }
}
