using MetalAgent.Backends.Linux.Interop;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace MetalAgent.Backends.Linux;

/// <summary>A queue whose file descriptor the <see cref="QueuePoller"/> watches.</summary>
internal interface IPolledQueue
{
    int Fd { get; }

    /// <summary>Called on the poll thread when the fd reported <paramref name="events"/> (EPOLLIN, EPOLLERR...).</summary>
    void OnReady(int events);
}

/// <summary>
/// One background thread per fd-based port that turns "fd readable" into <see cref="WorkerWakeup.Set"/>
/// for the worker owning that queue, so idle workers block instead of spinning. It waits in
/// epoll_wait with no timeout (edge-triggered: one event per arrival notification, not per pending
/// frame, so it never spins while a worker is still draining) and stops through an eventfd.
/// A lost edge cannot lose a frame: workers re-check their queues after every wakeup or timeout.
/// </summary>
internal sealed unsafe class QueuePoller : IDisposable
{
    private const uint StopToken = uint.MaxValue;

    private readonly IPolledQueue[] _queues;
    private readonly int _epoll;
    private readonly int _stop;
    private readonly Thread _thread;
    private int _disposed;

    public QueuePoller(string portName, IPolledQueue[] queues)
    {
        _queues = queues;
        _epoll = epoll_create1(EPOLL_CLOEXEC);
        if (_epoll < 0)
        {
            throw Native.Error($"port '{portName}': epoll_create1", errno);
        }
        _stop = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (_stop < 0)
        {
            int e = errno;
            _ = close(_epoll);
            throw Native.Error($"port '{portName}': eventfd", e);
        }
        try
        {
            Add(_stop, EPOLLIN, StopToken, portName);
            for (int i = 0; i < queues.Length; i++)
            {
                Add(queues[i].Fd, EPOLLIN | EPOLLET, (uint)i, portName);
            }
        }
        catch
        {
            _ = close(_stop);
            _ = close(_epoll);
            throw;
        }
        _thread = new Thread(Loop)
        {
            IsBackground = true,
            Name = $"ma-poll-{portName}",
        };
        _thread.Start();
    }

    private void Add(int fd, int events, uint token, string portName)
    {
        epoll_event ev = default;
        ev.events = events;
        ev.data.u32 = token;
        if (epoll_ctl(_epoll, EPOLL_CTL_ADD, fd, &ev) != 0)
        {
            throw Native.Error($"port '{portName}': epoll_ctl", errno);
        }
    }

    private void Loop()
    {
        const int max = 16;
        epoll_event* events = stackalloc epoll_event[max];
        while (true)
        {
            int n = epoll_wait(_epoll, events, max, -1);
            if (n < 0)
            {
                if (errno == EINTR)
                {
                    continue;
                }
                return;
            }
            for (int i = 0; i < n; i++)
            {
                uint token = events[i].data.u32;
                if (token == StopToken)
                {
                    return;
                }
                try
                {
                    _queues[token].OnReady(events[i].events);
                }
                catch (ObjectDisposedException)
                {
                    // The worker disposed its wakeup before the port: nobody is left to wake.
                }
            }
        }
    }

    /// <summary>Stops and joins the thread; the queue fds stay open (their owner closes them afterwards).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        ulong one = 1;
        _ = write(_stop, &one, sizeof(ulong));
        _thread.Join();
        _ = close(_stop);
        _ = close(_epoll);
    }
}
