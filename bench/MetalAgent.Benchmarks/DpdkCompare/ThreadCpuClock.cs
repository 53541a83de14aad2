using System.Runtime.InteropServices;

namespace MetalAgent.Benchmarks.DpdkCompare;

/// <summary>This thread's on-CPU time from clock_gettime(CLOCK_THREAD_CPUTIME_ID), the clock the DPDK
/// harness reads too: nanosecond resolution, and it leaves out time when other processes ran.</summary>
internal static partial class ThreadCpuClock
{
    private const int ClockThreadCpuTimeId = 3;

    /// <summary>On-CPU nanoseconds of the calling thread.</summary>
    public static double NowNs()
    {
        if (ClockGetTime(ClockThreadCpuTimeId, out Timespec time) != 0)
        {
            throw new InvalidOperationException("clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
        }
        return (time.Seconds * 1e9) + time.Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out Timespec time);

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}
