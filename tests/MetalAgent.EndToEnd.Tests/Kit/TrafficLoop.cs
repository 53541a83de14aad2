using System.Net.Sockets;

namespace MetalAgent.EndToEnd.Tests.Kit;

/// <summary>Keeps established connections busy: every connection round-trips a line every 50 ms until
/// stopped, counting answers and misses, so a change applied meanwhile shows whether they were dropped.</summary>
internal sealed class TrafficLoop : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task[] _loops;
    private readonly int[] _answered;
    private readonly int[] _missed;

    public TrafficLoop(IReadOnlyList<Socket> connections)
    {
        _answered = new int[connections.Count];
        _missed = new int[connections.Count];
        _loops = [.. connections.Select((socket, i) => Loop(socket, i))];
    }

    public int Answered(int connection) => Volatile.Read(ref _answered[connection]);

    public int Missed(int connection) => Volatile.Read(ref _missed[connection]);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_loops);
        _stop.Dispose();
    }

    /// <summary>Stops the loops and returns (answered, missed) per connection.</summary>
    public async Task<(int Answered, int Missed)[]> StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_loops);
        return [.. _answered.Select((a, i) => (a, _missed[i]))];
    }

    private async Task Loop(Socket socket, int index)
    {
        int n = 0;
        while (!_stop.IsCancellationRequested)
        {
            // A generous per-line limit: a miss means the connection broke, not that a packet was slow.
            string? answer = await NamespaceSockets.RoundTripAsync(socket, $"line {n++}", TimeSpan.FromSeconds(5));
            if (answer is null)
            {
                Interlocked.Increment(ref _missed[index]);
                return;
            }
            Interlocked.Increment(ref _answered[index]);
            try
            {
                await Task.Delay(50, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
