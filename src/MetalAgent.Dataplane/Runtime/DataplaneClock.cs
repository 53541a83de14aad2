namespace MetalAgent.Dataplane.Runtime;

/// <summary>Coarse time for flow aging, in seconds: monotonic by default, settable for tests and replay.</summary>
public sealed class DataplaneClock
{
    private long _manual = -1;

    /// <summary>The current time in seconds.</summary>
    public long Now
    {
        get
        {
            long manual = Volatile.Read(ref _manual);
            return manual >= 0 ? manual : Environment.TickCount64 / 1000;
        }
    }

    /// <summary>Stops the clock at <paramref name="seconds"/> (tests and replay).</summary>
    public void Set(long seconds) => Volatile.Write(ref _manual, seconds);

    public void Advance(long seconds) => Volatile.Write(ref _manual, Now + seconds);
}
