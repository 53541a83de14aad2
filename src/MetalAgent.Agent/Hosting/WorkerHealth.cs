using DataplaneRuntime = MetalAgent.Dataplane.Runtime.Dataplane;

namespace MetalAgent.Agent.Hosting;

/// <summary>One worker's liveness as last sampled.</summary>
public readonly record struct WorkerLiveness(int Index, long Rounds, bool Alive, TimeSpan SinceProgress);

/// <summary>
/// Whether the packet workers are alive, from their round counters: every worker completes a round at
/// least every 50 ms while it has a snapshot (idle workers wake up on a timeout), so a worker whose
/// counter has not moved for <see cref="StallTimeout"/> is stuck (or its thread died). Before the first
/// snapshot workers have nothing to prove and count as alive. <see cref="Sample"/> is called
/// periodically by one thread; the answers are read by anyone.
/// </summary>
public sealed class WorkerHealth
{
    private readonly DataplaneRuntime _dataplane;
    private readonly TimeProvider _time;
    private readonly long[] _rounds;
    private readonly long[] _progressAt;
    private readonly Lock _lock = new();
    private bool _running;

    public WorkerHealth(DataplaneRuntime dataplane, TimeSpan stallTimeout, TimeProvider? time = null)
    {
        _dataplane = dataplane;
        StallTimeout = stallTimeout;
        _time = time ?? TimeProvider.System;
        _rounds = new long[dataplane.Workers.Count];
        _progressAt = new long[dataplane.Workers.Count];
    }

    public TimeSpan StallTimeout { get; }

    /// <summary>Marks the worker threads started (true) or stopped (false).</summary>
    public void SetRunning(bool running)
    {
        lock (_lock)
        {
            _running = running;
            long now = _time.GetTimestamp();
            Array.Fill(_progressAt, now);
        }
    }

    /// <summary>Reads every worker's round counter and records when it last moved.</summary>
    public void Sample()
    {
        lock (_lock)
        {
            long now = _time.GetTimestamp();
            bool attached = _dataplane.Current is not null;
            for (int i = 0; i < _rounds.Length; i++)
            {
                long rounds = _dataplane.Workers[i].Rounds;
                if (!attached || rounds != _rounds[i])
                {
                    _rounds[i] = rounds;
                    _progressAt[i] = now;
                }
            }
        }
    }

    /// <summary>True when the workers run and each made progress within <see cref="StallTimeout"/> of the last sample.</summary>
    public bool AllAlive
    {
        get
        {
            foreach (WorkerLiveness worker in Workers())
            {
                if (!worker.Alive)
                {
                    return false;
                }
            }
            return true;
        }
    }

    public WorkerLiveness[] Workers()
    {
        lock (_lock)
        {
            var result = new WorkerLiveness[_rounds.Length];
            for (int i = 0; i < result.Length; i++)
            {
                TimeSpan since = _time.GetElapsedTime(_progressAt[i]);
                result[i] = new WorkerLiveness(i, _rounds[i], _running && since <= StallTimeout, since);
            }
            return result;
        }
    }
}
