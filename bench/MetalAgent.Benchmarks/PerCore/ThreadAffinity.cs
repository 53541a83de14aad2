using System.Runtime.InteropServices;

namespace MetalAgent.Benchmarks.PerCore;

/// <summary>Pins the calling thread to one CPU (Linux sched_setaffinity on the calling thread), as a
/// dataplane worker would be, so each worker of a multi-worker run keeps its own core.</summary>
internal static partial class ThreadAffinity
{
    /// <summary>Pins the calling thread to <paramref name="cpu"/>; false when the kernel refuses
    /// (e.g. the CPU is outside the process's taskset).</summary>
    public static bool PinCurrentThread(int cpu)
    {
        Span<ulong> mask = stackalloc ulong[16];
        mask.Clear();
        mask[cpu / 64] = 1UL << (cpu % 64);
        return SchedSetAffinity(0, (nuint)(mask.Length * sizeof(ulong)), ref MemoryMarshal.GetReference(mask)) == 0;
    }

    [LibraryImport("libc", EntryPoint = "sched_setaffinity")]
    private static partial int SchedSetAffinity(int pid, nuint size, ref ulong mask);
}
