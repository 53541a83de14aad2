using System.Runtime.InteropServices;

namespace MetalAgent.Backends.Linux.Interop;

/// <summary>
/// Constants Tmds.LibC lacks, named as in the C headers (&lt;linux/if_tun.h&gt;, &lt;linux/if.h&gt;,
/// &lt;linux/if_packet.h&gt;, &lt;linux/if_ether.h&gt;, &lt;linux/if_arp.h&gt;). Their values are checked
/// against the headers by a test that compiles a C probe.
/// </summary>
public static class Native
{
    public const int IFNAMSIZ = 16;

    // <linux/if_tun.h>: ioctls are _IOW('T', nr, int); all fit a positive int.
    public const int TUNSETIFF = 0x400454ca;
    public const int TUNSETPERSIST = 0x400454cb;
    public const int TUNSETQUEUE = 0x400454d9;

    // TUNSETIFF flags (ifr_flags).
    public const short IFF_TUN = 0x0001;
    public const short IFF_TAP = 0x0002;
    public const short IFF_MULTI_QUEUE = 0x0100;
    public const short IFF_ATTACH_QUEUE = 0x0200;
    public const short IFF_DETACH_QUEUE = 0x0400;
    public const short IFF_PERSIST = 0x0800;
    public const short IFF_NO_PI = 0x1000;
    /// <summary>Not used: the backends read and write plain Ethernet frames without a virtio-net header.</summary>
    public const short IFF_VNET_HDR = 0x4000;

    // <linux/if.h> interface flags (SIOCGIFFLAGS).
    public const int IFF_UP = 0x1;
    public const int IFF_RUNNING = 0x40;
    public const int IFF_LOWER_UP = 0x10000;

    // <linux/if_ether.h>, <linux/if_arp.h>.
    public const ushort ETH_P_ALL = 0x0003;
    public const ushort ETH_P_8021Q = 0x8100;
    public const ushort ETH_P_8021AD = 0x88A8;
    public const ushort ARPHRD_ETHER = 1;

    // <linux/if_packet.h>: enum tpacket_versions.
    public const int TPACKET_V3 = 2;
    public const int TPACKET_ALIGNMENT = 16;
    /// <summary>TPACKET_ALIGN(sizeof(struct tpacket3_hdr)) + sizeof(struct sockaddr_ll).</summary>
    public const int TPACKET3_HDRLEN = 68;

    // Frame/block status words.
    public const uint TP_STATUS_KERNEL = 0;
    public const uint TP_STATUS_USER = 1 << 0;
    public const uint TP_STATUS_COPY = 1 << 1;
    public const uint TP_STATUS_LOSING = 1 << 2;
    public const uint TP_STATUS_CSUMNOTREADY = 1 << 3;
    public const uint TP_STATUS_VLAN_VALID = 1 << 4;
    public const uint TP_STATUS_BLK_TMO = 1 << 5;
    public const uint TP_STATUS_VLAN_TPID_VALID = 1 << 6;
    public const uint TP_STATUS_AVAILABLE = 0;
    public const uint TP_STATUS_SEND_REQUEST = 1 << 0;
    public const uint TP_STATUS_SENDING = 1 << 1;
    public const uint TP_STATUS_WRONG_FORMAT = 1 << 2;

    // PACKET_FANOUT modes (low byte of the type) and flags.
    public const int PACKET_FANOUT_HASH = 0;
    public const int PACKET_FANOUT_LB = 1;
    public const int PACKET_FANOUT_CPU = 2;
    public const int PACKET_FANOUT_ROLLOVER = 3;
    public const int PACKET_FANOUT_RND = 4;
    public const int PACKET_FANOUT_QM = 5;
    public const int PACKET_FANOUT_FLAG_ROLLOVER = 0x1000;
    public const int PACKET_FANOUT_FLAG_UNIQUEID = 0x2000;
    public const int PACKET_FANOUT_FLAG_IGNORE_OUTGOING = 0x4000;
    public const int PACKET_FANOUT_FLAG_DEFRAG = 0x8000;

    /// <summary>The text of an errno value ("No such device").</summary>
    public static string ErrorText(int errno) => Marshal.GetPInvokeErrorMessage(errno);

    /// <summary>An IOException "<paramref name="what"/>: text (errno N)".</summary>
    public static IOException Error(string what, int errno) => new($"{what}: {ErrorText(errno)} (errno {errno})");

    /// <summary>Host to network byte order for 16 bits.</summary>
    public static ushort Htons(ushort value) => BitConverter.IsLittleEndian ? (ushort)((value >> 8) | (value << 8)) : value;
}
