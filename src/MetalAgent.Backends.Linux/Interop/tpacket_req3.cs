using System.Runtime.InteropServices;

namespace MetalAgent.Backends.Linux.Interop;

/// <summary><c>struct tpacket_req3</c> from &lt;linux/if_packet.h&gt;: the PACKET_RX_RING / PACKET_TX_RING request for TPACKET_V3.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct tpacket_req3
{
    public uint tp_block_size;
    public uint tp_block_nr;
    public uint tp_frame_size;
    public uint tp_frame_nr;
    public uint tp_retire_blk_tov;
    public uint tp_sizeof_priv;
    public uint tp_feature_req_word;
}
