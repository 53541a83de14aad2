using System.Runtime.InteropServices;

namespace MetalAgent.Backends.Linux.Interop;

/// <summary><c>struct tpacket_block_desc</c>: the header of one TPACKET_V3 rx block.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct tpacket_block_desc
{
    public uint version;
    public uint offset_to_priv;
    public tpacket_bd_header_u hdr;
}

/// <summary><c>union tpacket_bd_header_u</c> (its only member is <c>bh1</c>).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct tpacket_bd_header_u
{
    public tpacket_hdr_v1 bh1;
}

/// <summary><c>struct tpacket_hdr_v1</c>: block status (TP_STATUS_KERNEL / TP_STATUS_USER), packet count, first packet.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct tpacket_hdr_v1
{
    public uint block_status;
    public uint num_pkts;
    public uint offset_to_first_pkt;
    public uint blk_len;
    /// <summary><c>aligned_u64 seq_num</c> (offset 16 is already 8-aligned).</summary>
    public ulong seq_num;
    public tpacket_bd_ts ts_first_pkt;
    public tpacket_bd_ts ts_last_pkt;
}

/// <summary><c>struct tpacket_bd_ts</c> (<c>ts_usec</c> shares its slot with <c>ts_nsec</c>).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct tpacket_bd_ts
{
    public uint ts_sec;
    public uint ts_nsec;
}
