using System.Runtime.InteropServices;

namespace MetalAgent.Backends.Linux.Interop;

/// <summary><c>struct tpacket_stats_v3</c>: PACKET_STATISTICS of a TPACKET_V3 socket (reset by reading).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct tpacket_stats_v3
{
    public uint tp_packets;
    public uint tp_drops;
    public uint tp_freeze_q_cnt;
}
