using System.Runtime.InteropServices;

namespace MetalAgent.Backends.Linux.Interop;

/// <summary><c>struct tpacket3_hdr</c>: the header of one frame in a TPACKET_V3 rx block or tx ring slot.</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct tpacket3_hdr
{
    public uint tp_next_offset;
    public uint tp_sec;
    public uint tp_nsec;
    public uint tp_snaplen;
    public uint tp_len;
    public uint tp_status;
    public ushort tp_mac;
    public ushort tp_net;
    /// <summary>The anonymous union's only member.</summary>
    public tpacket_hdr_variant1 hv1;
    public fixed byte tp_padding[8];
}

/// <summary><c>struct tpacket_hdr_variant1</c>: rx hash and the VLAN tag the kernel took out of the frame.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct tpacket_hdr_variant1
{
    public uint tp_rxhash;
    public uint tp_vlan_tci;
    public ushort tp_vlan_tpid;
    public ushort tp_padding;
}
