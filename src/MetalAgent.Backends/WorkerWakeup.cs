namespace MetalAgent.Backends;

/// <summary>
/// What an idle worker blocks on instead of spinning. Ports signal it when frames arrive; the
/// worker re-checks its ports after every wakeup or timeout, so a lost signal only delays, never loses, a packet.
/// </summary>
public sealed class WorkerWakeup : IDisposable
{
    private readonly SemaphoreSlim _signal = new(0, 1);
    private int _pending;

    /// <summary>Signals the worker; cheap when already signalled.</summary>
    public void Set()
    {
        if (Interlocked.Exchange(ref _pending, 1) == 0)
        {
            try
            {
                _signal.Release();
            }
            catch (SemaphoreFullException)
            {
                // Already released: the worker will wake anyway.
            }
        }
    }

    /// <summary>Blocks until signalled or the timeout passes.</summary>
    public bool Wait(int millisecondsTimeout, CancellationToken cancellationToken)
    {
        try
        {
            bool signalled = _signal.Wait(millisecondsTimeout, cancellationToken);
            Volatile.Write(ref _pending, 0);
            return signalled;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public void Dispose() => _signal.Dispose();
}
