namespace MetalAgent.Backends.Linux;

/// <summary>
/// Sizes of the TPACKET_V3 rings of a <see cref="PacketSocketPort"/> queue. Null values take
/// defaults from the port role and the device MTU (see <see cref="PacketSocketPort"/>).
/// </summary>
public sealed record PacketRingOptions
{
    /// <summary>Rx block size in bytes, a power of two and a multiple of the page size; must hold one largest frame.</summary>
    public int? RxBlockSize { get; init; }

    /// <summary>Number of rx blocks.</summary>
    public int? RxBlockCount { get; init; }

    /// <summary>How long the kernel keeps a partly filled rx block before handing it over (milliseconds):
    /// the added latency at low rates.</summary>
    public int RxRetireTimeoutMs { get; init; } = 1;

    /// <summary>Number of tx slots (each holds one frame of up to MTU + 18 bytes).</summary>
    public int? TxFrameCount { get; init; }
}
