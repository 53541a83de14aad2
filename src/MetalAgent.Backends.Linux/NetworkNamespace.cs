using System.Runtime.ExceptionServices;
using MetalAgent.Backends.Linux.Interop;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace MetalAgent.Backends.Linux;

/// <summary>
/// Runs setup code inside another network namespace. Linux network namespaces are per thread, so
/// the code runs on a fresh dedicated thread that enters the namespace with setns(2) and returns to
/// the original one before it ends; no other thread of the agent ever changes namespace. File
/// descriptors and sockets opened there keep working from any thread afterwards (a TAP fd,
/// a packet socket and an ioctl socket stay bound to the namespace they were created in).
/// </summary>
public static class NetworkNamespace
{
    /// <summary>The directory where <c>ip netns add</c> mounts named namespaces.</summary>
    public const string NamedDirectory = "/var/run/netns";

    /// <summary>The path of a namespace given by name ("guest1" → /var/run/netns/guest1) or by path (kept as is).</summary>
    public static string PathOf(string nameOrPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(nameOrPath);
        return nameOrPath.Contains('/', StringComparison.Ordinal) ? nameOrPath : Path.Combine(NamedDirectory, nameOrPath);
    }

    /// <summary>Runs <paramref name="action"/> inside the namespace (a name or a path), or directly on
    /// the calling thread when <paramref name="nameOrPath"/> is null. Exceptions propagate.</summary>
    public static T Run<T>(string? nameOrPath, Func<T> action)
    {
        if (nameOrPath is null)
        {
            return action();
        }

        string path = PathOf(nameOrPath);
        T result = default!;
        ExceptionDispatchInfo? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                result = RunInside(path, action);
            }
            catch (Exception e)
            {
                failure = ExceptionDispatchInfo.Capture(e);
            }
        })
        {
            IsBackground = true,
            Name = "ma-netns",
        };
        thread.Start();
        thread.Join();
        failure?.Throw();
        return result;
    }

    /// <summary>Runs <paramref name="action"/> inside the namespace; see <see cref="Run{T}(string?, Func{T})"/>.</summary>
    public static void Run(string? nameOrPath, Action action) => Run<bool>(nameOrPath, () =>
    {
        action();
        return true;
    });

    private static unsafe T RunInside<T>(string path, Func<T> action)
    {
        int original = OpenReadOnly("/proc/thread-self/ns/net");
        if (original < 0)
        {
            throw Native.Error("network namespace: cannot open /proc/thread-self/ns/net", errno);
        }
        try
        {
            int target = OpenReadOnly(path);
            if (target < 0)
            {
                int e = errno;
                throw e == ENOENT
                    ? new IOException($"network namespace '{path}' does not exist")
                    : Native.Error($"network namespace '{path}'", e);
            }
            try
            {
                if (setns(target, CLONE_NEWNET) != 0)
                {
                    throw Native.Error($"network namespace '{path}': setns", errno);
                }
            }
            finally
            {
                _ = close(target);
            }
            try
            {
                return action();
            }
            finally
            {
                // The thread ends right after, so a failure here strands nothing; going back keeps the thread's
                // namespace right should it ever be reused.
                _ = setns(original, CLONE_NEWNET);
            }
        }
        finally
        {
            _ = close(original);
        }
    }

    internal static unsafe int OpenReadOnly(string path)
    {
        byte[] bytes = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* p = bytes)
        {
            return open(p, O_RDONLY | O_CLOEXEC, default(mode_t));
        }
    }
}
