using System.Diagnostics;

namespace MetalAgent.Agent.Sync;

/// <summary>
/// How state applies went: counts of applied and refused states and a histogram of the time from a state's
/// arrival to its publish (validate, compile, open ports, swap, persist). Written by the applying thread,
/// read by metrics and status at any time.
/// </summary>
public sealed class ApplyStatistics
{
    /// <summary>Upper bounds (seconds) of the apply-duration histogram buckets (Prometheus "le").</summary>
    public static readonly double[] BucketBounds = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly Lock _lock = new();
    private readonly long[] _buckets = new long[BucketBounds.Length];
    private long _applied;
    private long _refused;
    private long _count;
    private double _sum;
    private double _last;
    private DateTimeOffset _lastAppliedAt;

    /// <summary>Records one apply attempt that took <paramref name="elapsed"/>.</summary>
    public void Record(TimeSpan elapsed, bool applied)
    {
        double seconds = elapsed.TotalSeconds;
        lock (_lock)
        {
            if (!applied)
            {
                _refused++;
                return;
            }
            _applied++;
            _count++;
            _sum += seconds;
            _last = seconds;
            _lastAppliedAt = DateTimeOffset.UtcNow;
            for (int i = 0; i < BucketBounds.Length; i++)
            {
                if (seconds <= BucketBounds[i])
                {
                    _buckets[i]++;
                    break;
                }
            }
        }
    }

    /// <summary>A consistent copy of the statistics.</summary>
    public ApplySnapshot Snapshot()
    {
        lock (_lock)
        {
            // Buckets are cumulative in the exposition format.
            long[] cumulative = new long[_buckets.Length];
            long running = 0;
            for (int i = 0; i < _buckets.Length; i++)
            {
                running += _buckets[i];
                cumulative[i] = running;
            }
            return new ApplySnapshot(_applied, _refused, _count, _sum, _last, _lastAppliedAt, cumulative);
        }
    }

    /// <summary>Starts timing an apply.</summary>
    public static long Start() => Stopwatch.GetTimestamp();

    public void Stop(long started, bool applied) => Record(Stopwatch.GetElapsedTime(started), applied);
}

/// <summary>A copy of <see cref="ApplyStatistics"/>; <see cref="CumulativeBuckets"/> pairs with
/// <see cref="ApplyStatistics.BucketBounds"/>.</summary>
public sealed record ApplySnapshot(long Applied, long Refused, long Count, double SumSeconds, double LastSeconds, DateTimeOffset LastAppliedAt, long[] CumulativeBuckets);
