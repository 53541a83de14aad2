using System.Runtime.InteropServices;

namespace MetalAgent.Backends.Memory;

/// <summary>
/// A single-producer single-consumer ring of frames in preallocated slots: the producer copies a
/// frame in, the consumer copies it out. No locks and no allocation after construction.
/// </summary>
public sealed class FrameRing
{
    private readonly byte[] _slots;
    private readonly int[] _lengths;
    private readonly int _mask;
    private readonly int _slotSize;
    // Head and tail on separate cache lines so producer and consumer do not false-share.
    private PaddedLong _head; // next slot to read (consumer)
    private PaddedLong _tail; // next slot to write (producer)

    public FrameRing(int capacity, int slotSize)
    {
        if (capacity < 2 || (capacity & (capacity - 1)) != 0)
        {
            throw new ArgumentException("capacity must be a power of two >= 2", nameof(capacity));
        }
        _slotSize = slotSize;
        _mask = capacity - 1;
        _slots = GC.AllocateUninitializedArray<byte>(capacity * slotSize, pinned: true);
        _lengths = new int[capacity];
        Capacity = capacity;
    }

    public int Capacity { get; }

    public int SlotSize => _slotSize;

    public int Count => (int)(Volatile.Read(ref _tail.Value) - Volatile.Read(ref _head.Value));

    /// <summary>Producer: copies a frame in. False when full or the frame does not fit a slot.</summary>
    public bool TryWrite(ReadOnlySpan<byte> frame)
    {
        long tail = _tail.Value;
        if (frame.Length > _slotSize || tail - Volatile.Read(ref _head.Value) >= Capacity)
        {
            return false;
        }
        int slot = (int)(tail & _mask);
        frame.CopyTo(_slots.AsSpan(slot * _slotSize, _slotSize));
        _lengths[slot] = frame.Length;
        Volatile.Write(ref _tail.Value, tail + 1);
        return true;
    }

    /// <summary>Consumer: the next frame without removing it, or an empty span when the ring is empty.</summary>
    public bool TryPeek(out ReadOnlySpan<byte> frame)
    {
        long head = _head.Value;
        if (head == Volatile.Read(ref _tail.Value))
        {
            frame = default;
            return false;
        }
        int slot = (int)(head & _mask);
        frame = _slots.AsSpan(slot * _slotSize, _lengths[slot]);
        return true;
    }

    /// <summary>Consumer: releases the frame returned by <see cref="TryPeek"/>.</summary>
    public void Advance() => Volatile.Write(ref _head.Value, _head.Value + 1);

    /// <summary>Consumer: copies the next frame out (allocating); for tests and tools.</summary>
    public byte[]? TryReadCopy()
    {
        if (!TryPeek(out ReadOnlySpan<byte> frame))
        {
            return null;
        }
        byte[] copy = frame.ToArray();
        Advance();
        return copy;
    }

    [StructLayout(LayoutKind.Explicit, Size = 128)]
    private struct PaddedLong
    {
        [FieldOffset(64)]
        public long Value;
    }
}
