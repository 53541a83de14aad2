using System.Diagnostics;

namespace MetalAgent.EndToEnd.Tests.Kit;

/// <summary>Waits for a condition by polling it until a deadline (never a fixed sleep): convergence in a
/// distributed system is awaited, and the failure says what was awaited and what was last seen.</summary>
internal static class Eventually
{
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>Polls <paramref name="probe"/> until it returns (true, _) or the deadline passes; then throws
    /// with <paramref name="what"/> and the last detail the probe gave.</summary>
    public static async Task AssertAsync(string what, TimeSpan within, Func<Task<(bool Ok, string Detail)>> probe, TimeSpan? interval = null)
    {
        var clock = Stopwatch.StartNew();
        string last = "never probed";
        while (true)
        {
            (bool ok, string detail) = await probe();
            if (ok)
            {
                return;
            }
            last = detail;
            if (clock.Elapsed >= within)
            {
                throw new TimeoutException($"{what}: not true within {within.TotalSeconds:0.#} s; last: {last}");
            }
            await Task.Delay(interval ?? DefaultInterval);
        }
    }

    public static Task AssertAsync(string what, TimeSpan within, Func<Task<bool>> probe, TimeSpan? interval = null) =>
        AssertAsync(what, within, async () => (await probe(), "false"), interval);

    public static Task AssertAsync(string what, TimeSpan within, Func<bool> probe, TimeSpan? interval = null) =>
        AssertAsync(what, within, () => Task.FromResult((probe(), "false")), interval);
}
