using System.Numerics;
using MetalAgent.Backends.Linux.Interop;

namespace MetalAgent.Backends.Linux;

/// <summary>The sizes of one queue's TPACKET_V3 rx and tx rings, derived from the role, MTU and options.</summary>
internal readonly record struct RingGeometry(
    int RxBlockSize,
    int RxBlockCount,
    int RxFrameSize,
    int RetireTimeoutMs,
    int TxFrameSize,
    int TxFrameCount,
    int TxBlockSize)
{
    /// <summary>TPACKET_ALIGN(sizeof(struct tpacket3_hdr)): where the sockaddr_ll of an rx frame and the data of a tx slot start.</summary>
    public const int HeaderSize = Native.TPACKET3_HDRLEN - 20; // minus sizeof(struct sockaddr_ll)

    public int RxRingSize => RxBlockSize * RxBlockCount;

    public int TxRingSize => TxFrameSize * TxFrameCount;

    /// <summary>The largest frame one tx slot holds.</summary>
    public int MaxTxFrame => TxFrameSize - HeaderSize;

    public static RingGeometry For(PortRole role, int mtu, PacketRingOptions options)
    {
        int page = Environment.SystemPageSize;
        // Ethernet header plus up to two VLAN tags on top of the MTU.
        int maxFrame = mtu + 14 + 8;
        // Block descriptor, frame header + sockaddr_ll, alignment.
        int perFrame = maxFrame + Native.TPACKET3_HDRLEN + Native.TPACKET_ALIGNMENT;
        int minBlock = (int)BitOperations.RoundUpToPowerOf2((uint)(perFrame + 64));

        int rxBlock = options.RxBlockSize ?? Math.Max(Math.Max(role == PortRole.Uplink ? 128 << 10 : 32 << 10, page),
            (int)BitOperations.RoundUpToPowerOf2((uint)(4 * perFrame)));
        if (!BitOperations.IsPow2(rxBlock) || rxBlock % page != 0 || rxBlock < minBlock)
        {
            throw new ArgumentException($"rx block size {rxBlock} must be a power of two, a multiple of the page size ({page}) and at least {minBlock} for MTU {mtu}");
        }
        // At low rates every block is handed over after the retire timeout with few frames in it, so the
        // block count (not the bytes) bounds how long a stalled worker can be away without kernel drops.
        int rxBlocks = options.RxBlockCount ?? (role == PortRole.Uplink ? 32 : 8);
        ArgumentOutOfRangeException.ThrowIfLessThan(rxBlocks, 2, nameof(options.RxBlockCount));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.RxRetireTimeoutMs, 1, nameof(options.RxRetireTimeoutMs));

        int txFrame = Math.Max(2048, (int)BitOperations.RoundUpToPowerOf2((uint)(HeaderSize + maxFrame)));
        int txBlock = Math.Max(page, txFrame);
        int perBlock = txBlock / txFrame;
        int txFrames = options.TxFrameCount ?? (role == PortRole.Uplink ? 256 : 64);
        ArgumentOutOfRangeException.ThrowIfLessThan(txFrames, 1, nameof(options.TxFrameCount));
        txFrames = (txFrames + perBlock - 1) / perBlock * perBlock;
        return new RingGeometry(rxBlock, rxBlocks, 2048, options.RxRetireTimeoutMs, txFrame, txFrames, txBlock);
    }
}
