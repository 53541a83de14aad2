using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace MetalAgent.Packets;

/// <summary>CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) as SCTP and iSCSI use it:
/// SSE4.2 / ARMv8 CRC instructions when present, slicing-by-8 tables otherwise.</summary>
public static class Crc32C
{
    private const uint ReflectedPolynomial = 0x82F63B78;

    // Eight 256-entry tables, flat: table k at [k * 256].
    private static readonly uint[] s_table = BuildTable();

    /// <summary>CRC-32C of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => Append(0, data);

    /// <summary>CRC-32C of the concatenation of what produced <paramref name="crc"/> and
    /// <paramref name="data"/>; <c>Append(Compute(a), b) == Compute(a ++ b)</c>.</summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data) => ~Update(~crc, data);

    private static uint Update(uint state, ReadOnlySpan<byte> data)
    {
        if (Sse42.X64.IsSupported)
        {
            return UpdateSse42(state, data);
        }
        if (Crc32.Arm64.IsSupported)
        {
            return UpdateArm64(state, data);
        }
        return UpdateSoftware(state, data);
    }

    internal static uint UpdateSse42(uint state, ReadOnlySpan<byte> data)
    {
        ReadOnlySpan<ulong> words = MemoryMarshal.Cast<byte, ulong>(data);
        ulong crc = state;
        foreach (ulong word in words)
        {
            crc = Sse42.X64.Crc32(crc, word); // x86 is little-endian: word holds the bytes in memory order
        }
        uint crc32 = (uint)crc;
        foreach (byte b in data[(words.Length * 8)..])
        {
            crc32 = Sse42.Crc32(crc32, b);
        }
        return crc32;
    }

    internal static uint UpdateArm64(uint state, ReadOnlySpan<byte> data)
    {
        ReadOnlySpan<ulong> words = MemoryMarshal.Cast<byte, ulong>(data);
        uint crc = state;
        foreach (ulong word in words)
        {
            crc = Crc32.Arm64.ComputeCrc32C(crc, word);
        }
        foreach (byte b in data[(words.Length * 8)..])
        {
            crc = Crc32.ComputeCrc32C(crc, b);
        }
        return crc;
    }

    /// <summary>Slicing-by-8 over the raw (non-inverted) CRC state.</summary>
    internal static uint UpdateSoftware(uint state, ReadOnlySpan<byte> data)
    {
        uint[] t = s_table;
        uint crc = state;
        while (data.Length >= 8)
        {
            uint one = BinaryPrimitives.ReadUInt32LittleEndian(data) ^ crc;
            uint two = BinaryPrimitives.ReadUInt32LittleEndian(data[4..]);
            crc = t[(7 * 256) + (one & 0xFF)]
                ^ t[(6 * 256) + ((one >> 8) & 0xFF)]
                ^ t[(5 * 256) + ((one >> 16) & 0xFF)]
                ^ t[(4 * 256) + (one >> 24)]
                ^ t[(3 * 256) + (two & 0xFF)]
                ^ t[(2 * 256) + ((two >> 8) & 0xFF)]
                ^ t[256 + ((two >> 16) & 0xFF)]
                ^ t[two >> 24];
            data = data[8..];
        }
        foreach (byte b in data)
        {
            crc = t[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }
        return crc;
    }

    private static uint[] BuildTable()
    {
        var table = new uint[8 * 256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i;
            for (int bit = 0; bit < 8; bit++)
            {
                c = (c & 1) != 0 ? (c >> 1) ^ ReflectedPolynomial : c >> 1;
            }
            table[i] = c;
        }
        for (int k = 1; k < 8; k++)
        {
            for (int i = 0; i < 256; i++)
            {
                uint previous = table[((k - 1) * 256) + i];
                table[(k * 256) + i] = (previous >> 8) ^ table[previous & 0xFF];
            }
        }
        return table;
    }
}
