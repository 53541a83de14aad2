using MetalAgent.Backends.Linux.Interop;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace MetalAgent.Backends.Linux.Tests;

/// <summary>
/// The "outside" of a port under test: a plain AF_PACKET socket (no rings) bound to one device in a
/// test namespace, sending raw frames and receiving what arrives there (its own and other outgoing
/// frames ignored).
/// </summary>
internal sealed unsafe class RawSocket : IDisposable
{
    private readonly int _fd;
    private readonly byte[] _buffer = new byte[65536];

    private RawSocket(int fd) => _fd = fd;

    public static RawSocket Open(string? networkNamespace, string device) => NetworkNamespace.Run(networkNamespace, () =>
    {
        int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
        Check(fd, "socket");
        try
        {
            int one = 1;
            Check(setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(int)), "PACKET_IGNORE_OUTGOING");
            int size = 8 << 20;
            Check(setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(int)), "SO_RCVBUFFORCE");
            Check(setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(int)), "SO_SNDBUFFORCE");
            ifreq req = ifreq.ForName(device);
            Check(ioctl(fd, SIOCGIFINDEX, &req), "SIOCGIFINDEX " + device);
            sockaddr_ll address = default;
            address.sll_family = (ushort)AF_PACKET;
            address.sll_protocol = Native.Htons(Native.ETH_P_ALL);
            address.sll_ifindex = req.ifr_ifindex;
            Check(bind(fd, (sockaddr*)&address, (uint)sizeof(sockaddr_ll)), "bind");
            return new RawSocket(fd);
        }
        catch
        {
            _ = close(fd);
            throw;
        }
    });

    public void Send(ReadOnlySpan<byte> frame)
    {
        fixed (byte* p = frame)
        {
            long r = send(_fd, p, frame.Length, 0);
            if (r != frame.Length)
            {
                throw Native.Error($"raw send of {frame.Length} bytes returned {r}", errno);
            }
        }
    }

    /// <summary>Receives until <paramref name="count"/> test frames arrived or the deadline passed.</summary>
    public List<byte[]> Receive(int count, TimeSpan wait)
    {
        var frames = new List<byte[]>();
        DateTime deadline = DateTime.UtcNow + wait;
        while (frames.Count < count)
        {
            int left = (int)(deadline - DateTime.UtcNow).TotalMilliseconds;
            if (left <= 0)
            {
                break;
            }
            pollfd pfd = default;
            pfd.fd = _fd;
            pfd.events = POLLIN;
            if (poll(&pfd, 1, Math.Min(left, 200)) <= 0)
            {
                continue;
            }
            fixed (byte* p = _buffer)
            {
                long r = recv(_fd, p, _buffer.Length, MSG_DONTWAIT);
                if (r > 0 && TestFrames.IsTestFrame(_buffer.AsSpan(0, (int)r)))
                {
                    frames.Add(_buffer.AsSpan(0, (int)r).ToArray());
                }
            }
        }
        return frames;
    }

    public void Dispose() => _ = close(_fd);

    private static void Check(int result, string what)
    {
        if (result < 0)
        {
            throw Native.Error(what, errno);
        }
    }
}
