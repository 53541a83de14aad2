using System.Runtime.InteropServices;

namespace MetalAgent.Dataplane.Flows;

/// <summary>
/// A zeroed, 64-byte aligned block of unmanaged memory for the large flow-table arrays. On Linux it
/// is an anonymous mapping aligned to 2 MiB and advised as a transparent huge page region, so a
/// table of hundreds of megabytes needs a few hundred TLB entries instead of tens of thousands;
/// pages are committed only when first touched. Freed by the finalizer only: the owner's readers hold
/// the owner, so the memory cannot go away under them.
/// </summary>
internal sealed unsafe partial class NativeRegion
{
    private const int ProtRead = 1, ProtWrite = 2, MapPrivate = 2, MapAnonymous = 0x20, MadvHugePage = 14;
    private const nuint HugePage = 2 << 20;

    private void* _mapping;
    private nuint _mappedLength;
    private readonly bool _mapped;

    public NativeRegion(nuint length)
    {
        Length = length;
        if (OperatingSystem.IsLinux() && length >= HugePage)
        {
            // Over-allocate by one huge page so the usable start can be aligned to one.
            nuint total = length + HugePage;
            void* p = mmap(null, total, ProtRead | ProtWrite, MapPrivate | MapAnonymous, -1, 0);
            if (p != (void*)-1)
            {
                _mapping = p;
                _mappedLength = total;
                _mapped = true;
                nuint start = ((nuint)p + HugePage - 1) & ~(HugePage - 1);
                Pointer = (byte*)start;
                // Advice only: without huge pages the region still works, with more TLB misses.
                _ = madvise(Pointer, length, MadvHugePage);
                return;
            }
        }
        _mapping = NativeMemory.AlignedAlloc(Math.Max(length, 64), 64);
        NativeMemory.Clear(_mapping, length);
        Pointer = (byte*)_mapping;
    }

    /// <summary>The first byte (64-byte aligned; 2 MiB aligned when mapped).</summary>
    public byte* Pointer { get; private set; }

    public nuint Length { get; }

    ~NativeRegion()
    {
        void* mapping = _mapping;
        if (mapping == null)
        {
            return;
        }
        _mapping = null;
        Pointer = null;
        if (_mapped)
        {
            _ = munmap(mapping, _mappedLength);
        }
        else
        {
            NativeMemory.AlignedFree(mapping);
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial void* mmap(void* addr, nuint length, int prot, int flags, int fd, nint offset);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int munmap(void* addr, nuint length);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int madvise(void* addr, nuint length, int advice);
}
