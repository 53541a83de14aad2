using MetalAgent.Tables.Exact;

namespace MetalAgent.Tables.Tests.Exact;

public class FlowHashTests
{
    [Fact]
    public void Hashes_are_fixed_across_processes()
    {
        // Golden values: these must never change, since hashes are compared between hosts and
        // steer flows; a change here is a wire/compatibility change.
        Assert.Equal(0xFC71058B244EF573UL, FlowHash.Hash(0UL));
        Assert.Equal(0xBB6D41A573CF3AA8UL, FlowHash.Hash(1UL, 2UL));
        Assert.Equal(0x45E08B51E784468CUL, FlowHash.Hash(1UL, 2UL, 3UL));
        Assert.Equal(0x7A061F813F421979UL, FlowHash.Hash(1UL, 2UL, 3UL, 4UL, 5UL));
        Assert.Equal(0xC7D2D8A572796AECUL, FlowHash.Hash((UInt128)0x20010db8u << 96));
        Assert.Equal(0x461859CC283E89ABUL, FlowHash.Hash("metalagent"u8));
        Assert.Equal(0xF5F8F667C14A79DBUL, FlowHash.HashFlow(0x0A000001, 0x0A000002, 1234, 80, 6, 42));
        Assert.Equal(0x547533F6F0BF4404UL, FlowHash.HashSeeded(7, 1UL, 2UL));
    }

    [Fact]
    public void Seeds_and_inputs_change_the_hash()
    {
        Assert.NotEqual(FlowHash.HashSeeded(1, 1UL, 2UL), FlowHash.HashSeeded(2, 1UL, 2UL));
        Assert.NotEqual(FlowHash.Hash(1UL, 2UL, 3UL), FlowHash.Hash(1UL, 2UL, 4UL));
        Assert.NotEqual(FlowHash.Hash(1UL, 2UL, 3UL), FlowHash.Hash(1UL, 1UL, 2UL));
        Assert.NotEqual(FlowHash.Hash(1UL, 2UL), FlowHash.Hash(2UL, 1UL));
        Assert.NotEqual(FlowHash.Hash(new byte[3]), FlowHash.Hash(new byte[4]));
        Assert.NotEqual(FlowHash.Hash(new byte[16]), FlowHash.Hash(new byte[17]));
        Assert.NotEqual(FlowHash.HashFlow(1, 2, 3, 4, 6, 0), FlowHash.HashFlow(1, 2, 3, 4, 17, 0));
        Assert.NotEqual(FlowHash.HashFlow(1, 2, 3, 4, 6, 0), FlowHash.HashFlow(2, 1, 4, 3, 6, 0));
    }

    [Fact]
    public void Symmetric_flow_hash_ignores_direction()
    {
        for (uint i = 0; i < 1000; i++)
        {
            UInt128 a = 0x0A000000u + i;
            UInt128 b = ((UInt128)0x20010db8u << 96) | (i * 7919);
            ushort pa = (ushort)(i * 31);
            ushort pb = (ushort)(i * 17 + 1);
            Assert.Equal(FlowHash.HashFlowSymmetric(a, b, pa, pb, 6, i), FlowHash.HashFlowSymmetric(b, a, pb, pa, 6, i));
            Assert.Equal(FlowHash.HashFlowSymmetric(a, a, pa, pb, 17, i), FlowHash.HashFlowSymmetric(a, a, pb, pa, 17, i));
        }
    }

    [Fact]
    public void Sequential_inputs_spread_evenly_over_low_and_high_bits()
    {
        // Chi-square over 256 buckets of 256K sequential keys (IPv4-like addresses in one /14).
        const int Buckets = 256;
        const int Keys = 1 << 18;
        var low = new int[Buckets];
        var high = new int[Buckets];
        for (uint i = 0; i < Keys; i++)
        {
            ulong h = FlowHash.Hash(0x0A000000UL + i, 0UL);
            low[h & (Buckets - 1)]++;
            high[h >> 56]++;
        }
        Assert.InRange(ChiSquare(low, Keys), 0, 350);
        Assert.InRange(ChiSquare(high, Keys), 0, 350);
    }

    private static double ChiSquare(int[] counts, int total)
    {
        double expected = (double)total / counts.Length;
        double sum = 0;
        foreach (int c in counts)
        {
            sum += (c - expected) * (c - expected) / expected;
        }
        return sum;
    }
}
