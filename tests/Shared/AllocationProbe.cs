namespace MetalAgent.Tests.Shared;

/// <summary>
/// Proves that a loop does not allocate, robustly against the runtime's own one-time work (tiered
/// compilation, first calls of rare paths) that may land on the test thread at a moment that depends
/// on timing: after a warm-up, <c>round</c> runs in windows until one window allocates nothing (at most
/// 8). An allocation per call shows in every window, so the assertion stays as strict as one window.
/// Linked into each test project that checks allocation.
/// </summary>
internal static class AllocationProbe
{
    public static void AssertNone(Action round, int roundsPerWindow, int warmUp = 40)
    {
        for (int i = 0; i < warmUp; i++)
        {
            round();
        }
        var perWindow = new List<long>();
        for (int w = 0; w < 8 && (perWindow.Count < 2 || perWindow[^1] != 0); w++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < roundsPerWindow; i++)
            {
                round();
            }
            perWindow.Add(GC.GetAllocatedBytesForCurrentThread() - before);
        }
        Assert.True(perWindow[^1] == 0, $"bytes allocated per window of {roundsPerWindow} rounds: {string.Join(", ", perWindow)}");
    }
}
