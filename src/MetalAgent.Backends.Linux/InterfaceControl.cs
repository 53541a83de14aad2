using MetalAgent.Backends.Linux.Interop;
using static Tmds.Linux.LibC;

namespace MetalAgent.Backends.Linux;

/// <summary>
/// Interface ioctls (index, flags, MTU, hardware address) through a datagram socket. The socket is
/// created in the namespace of the creating thread and keeps addressing that namespace afterwards,
/// so a port whose device lives in another namespace keeps one of these for its whole life.
/// </summary>
internal sealed unsafe class InterfaceControl : IDisposable
{
    private int _fd;

    /// <summary>Opens the control socket in the calling thread's network namespace.</summary>
    public InterfaceControl()
    {
        _fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (_fd < 0)
        {
            throw Native.Error("interface control socket", errno);
        }
    }

    /// <summary>The interface index, or 0 when no interface has that name.</summary>
    public int IndexOf(string name)
    {
        ifreq req = ifreq.ForName(name);
        if (ioctl(_fd, SIOCGIFINDEX, &req) != 0)
        {
            int e = errno;
            return e == ENODEV ? 0 : throw Native.Error($"interface '{name}': SIOCGIFINDEX", e);
        }
        return req.ifr_ifindex;
    }

    /// <summary>The interface flags (IFF_UP, IFF_RUNNING, ...); throws ENODEV as an IOException.</summary>
    public int Flags(string name)
    {
        ifreq req = ifreq.ForName(name);
        if (ioctl(_fd, SIOCGIFFLAGS, &req) != 0)
        {
            throw Native.Error($"interface '{name}': SIOCGIFFLAGS", errno);
        }
        return (ushort)req.ifr_flags;
    }

    /// <summary>The flags, or null when the interface no longer exists.</summary>
    public int? TryFlags(string name)
    {
        ifreq req = ifreq.ForName(name);
        return ioctl(_fd, SIOCGIFFLAGS, &req) == 0 ? (ushort)req.ifr_flags : null;
    }

    /// <summary>Sets IFF_UP (what <c>ip link set NAME up</c> does).</summary>
    public void BringUp(string name)
    {
        ifreq req = ifreq.ForName(name);
        if (ioctl(_fd, SIOCGIFFLAGS, &req) != 0)
        {
            throw Native.Error($"interface '{name}': SIOCGIFFLAGS", errno);
        }
        if ((req.ifr_flags & Native.IFF_UP) != 0)
        {
            return;
        }
        req.ifr_flags |= Native.IFF_UP;
        if (ioctl(_fd, SIOCSIFFLAGS, &req) != 0)
        {
            throw Native.Error($"interface '{name}': SIOCSIFFLAGS (up)", errno);
        }
    }

    public int Mtu(string name)
    {
        ifreq req = ifreq.ForName(name);
        if (ioctl(_fd, SIOCGIFMTU, &req) != 0)
        {
            throw Native.Error($"interface '{name}': SIOCGIFMTU", errno);
        }
        return req.ifr_mtu;
    }

    public void SetMtu(string name, int mtu)
    {
        ifreq req = ifreq.ForName(name);
        req.ifr_mtu = mtu;
        if (ioctl(_fd, SIOCSIFMTU, &req) != 0)
        {
            throw Native.Error($"interface '{name}': SIOCSIFMTU {mtu}", errno);
        }
    }

    /// <summary>The Ethernet address as the low 48 bits (first octet most significant).</summary>
    public ulong HardwareAddress(string name)
    {
        ifreq req = ifreq.ForName(name);
        if (ioctl(_fd, SIOCGIFHWADDR, &req) != 0)
        {
            throw Native.Error($"interface '{name}': SIOCGIFHWADDR", errno);
        }
        if (req.ifr_hwaddr_sa_family != Native.ARPHRD_ETHER)
        {
            throw new IOException($"interface '{name}' is not an Ethernet device (ARPHRD {req.ifr_hwaddr_sa_family})");
        }
        ulong mac = 0;
        for (int i = 0; i < 6; i++)
        {
            mac = (mac << 8) | req.ifr_hwaddr_sa_data[i];
        }
        return mac;
    }

    public void Dispose()
    {
        int fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0)
        {
            _ = close(fd);
        }
    }
}
