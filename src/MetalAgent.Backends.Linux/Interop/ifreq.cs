using System.Runtime.InteropServices;

#pragma warning disable CS8981 // named as in C

namespace MetalAgent.Backends.Linux.Interop;

/// <summary><c>struct ifreq</c> from &lt;net/if.h&gt; (x86-64/arm64 layout: 16-byte name, 24-byte union),
/// with the union members the backends use: flags, index, MTU and hardware address.</summary>
[StructLayout(LayoutKind.Explicit, Size = 40)]
public unsafe struct ifreq
{
    [FieldOffset(0)]
    public fixed byte ifr_name[Native.IFNAMSIZ];

    /// <summary>SIOCGIFFLAGS / SIOCSIFFLAGS, and the tun flags of TUNSETIFF.</summary>
    [FieldOffset(16)]
    public short ifr_flags;

    [FieldOffset(16)]
    public int ifr_ifindex;

    [FieldOffset(16)]
    public int ifr_mtu;

    /// <summary><c>ifr_hwaddr.sa_family</c> (ARPHRD_ETHER for Ethernet).</summary>
    [FieldOffset(16)]
    public ushort ifr_hwaddr_sa_family;

    /// <summary><c>ifr_hwaddr.sa_data</c>: the MAC is its first 6 bytes.</summary>
    [FieldOffset(18)]
    public fixed byte ifr_hwaddr_sa_data[14];

    /// <summary>An ifreq naming <paramref name="name"/>; throws when it does not fit IFNAMSIZ - 1 ASCII chars.</summary>
    public static ifreq ForName(string name)
    {
        ValidateName(name);
        var req = default(ifreq);
        for (int i = 0; i < name.Length; i++)
        {
            req.ifr_name[i] = (byte)name[i];
        }
        return req;
    }

    /// <summary>Throws unless <paramref name="name"/> is a valid Linux interface name (1-15 printable ASCII, no '/', ':' or spaces).</summary>
    public static void ValidateName(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (name.Length >= Native.IFNAMSIZ)
        {
            throw new ArgumentException($"interface name '{name}' is longer than {Native.IFNAMSIZ - 1} characters", nameof(name));
        }
        foreach (char c in name)
        {
            if (c <= ' ' || c > '~' || c == '/' || c == ':')
            {
                throw new ArgumentException($"interface name '{name}' contains '{c}'", nameof(name));
            }
        }
    }
}
