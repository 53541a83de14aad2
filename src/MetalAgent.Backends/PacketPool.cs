using System.Runtime.CompilerServices;

namespace MetalAgent.Backends;

/// <summary>
/// Fixed-size packet buffers carved out of one pinned array, owned by one worker (not thread-safe
/// by design: no locks on the packet path). Each buffer has <see cref="Headroom"/> bytes in front
/// of the frame so that encapsulation can prepend headers without copying.
/// </summary>
public sealed class PacketPool
{
    /// <summary>Bytes reserved in front of every received frame (outer Ethernet + IPv6 + slack).</summary>
    public const int Headroom = 128;

    /// <summary>Size of one buffer: headroom plus a jumbo-ish frame.</summary>
    public const int BufferSize = 128 + 9216 + 64;

    private readonly byte[] _memory;
    private readonly int[] _free;
    private int _freeCount;

    public PacketPool(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
        _memory = GC.AllocateUninitializedArray<byte>(capacity * BufferSize, pinned: true);
        _free = new int[capacity];
        for (int i = 0; i < capacity; i++)
        {
            _free[i] = capacity - 1 - i;
        }
        _freeCount = capacity;
    }

    public int Capacity { get; }

    public int Available => _freeCount;

    /// <summary>Takes a buffer; returns -1 when the pool is empty (the caller drops and counts).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Rent() => _freeCount == 0 ? -1 : _free[--_freeCount];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Return(int buffer) => _free[_freeCount++] = buffer;

    /// <summary>The whole buffer, headroom included.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<byte> Buffer(int buffer) => _memory.AsSpan(buffer * BufferSize, BufferSize);

    /// <summary>The frame of a descriptor.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<byte> Frame(in PacketDescriptor packet) => _memory.AsSpan((packet.Buffer * BufferSize) + packet.Offset, packet.Length);
}

/// <summary>One packet of a burst: which pool buffer holds it and where the frame lies in it.</summary>
public struct PacketDescriptor
{
    public int Buffer;
    /// <summary>Offset of the first frame byte inside the buffer (Headroom on receive; less after encapsulation).</summary>
    public int Offset;
    public int Length;
    /// <summary>Port the packet came in on (rx) or goes out on (tx).</summary>
    public ushort Port;
}
