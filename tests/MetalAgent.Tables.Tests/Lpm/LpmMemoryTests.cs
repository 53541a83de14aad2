using System.Diagnostics;
using MetalAgent.Tables.Lpm;
using Xunit.Abstractions;

namespace MetalAgent.Tables.Tests.Lpm;

public class LpmMemoryTests(ITestOutputHelper output)
{
    private const long MiB = 1024 * 1024;

    [Fact]
    public void Million_bgp_like_ipv4_routes_fit_in_128_MiB()
    {
        var watch = Stopwatch.StartNew();
        Lpm4Route[] routes = RouteSetGenerator.Ipv4BgpLike(1_000_000, seed: 2024);
        long generated = watch.ElapsedMilliseconds;
        Lpm4Table table = Lpm4Table.Build(routes);
        output.WriteLine($"generate {generated} ms, build {watch.ElapsedMilliseconds - generated} ms, {table.MemoryBytes / (double)MiB:F1} MiB, " +
            $"directory {table.DirectoryArray.Length}, nodes {table.NodeArray.Length}, leaves {table.LeafArray.Length}");
        Assert.Equal(1_000_000, table.RouteCount);
        Assert.True(table.MemoryBytes <= 128 * MiB, $"{table.MemoryBytes} bytes");

        var reference = new Lpm4TableTests.HashReference(routes);
        uint[] addresses = RouteSetGenerator.Ipv4Addresses(routes, 10_000, seed: 5, hitFraction: 0.9);
        var batched = new uint[addresses.Length];
        table.Lookup(addresses, batched);
        for (int i = 0; i < addresses.Length; i++)
        {
            uint expected = reference.Lookup(addresses[i]);
            Assert.Equal(expected, table.Lookup(addresses[i]));
            Assert.Equal(expected, batched[i]);
        }
    }

    [Fact]
    public void Thousand_tables_of_1K_ipv4_routes_fit_in_256_MiB()
    {
        var watch = Stopwatch.StartNew();
        long total = 0;
        for (int vni = 0; vni < 1000; vni++)
        {
            Lpm4Table table = Lpm4Table.Build(RouteSetGenerator.Ipv4BgpLike(1000, seed: 10_000 + (ulong)vni));
            Assert.Equal(1000, table.RouteCount);
            total += table.MemoryBytes;
        }
        output.WriteLine($"1000 x 1K routes: {total / (double)MiB:F1} MiB, {watch.ElapsedMilliseconds} ms");
        Assert.True(total <= 256 * MiB, $"{total} bytes");
    }

    [Fact]
    public void Hundred_thousand_ipv6_routes_stay_compact()
    {
        var watch = Stopwatch.StartNew();
        Lpm6Route[] routes = RouteSetGenerator.Ipv6Like(100_000, seed: 2024);
        Lpm6Table table = Lpm6Table.Build(routes);
        output.WriteLine($"100K IPv6: {table.MemoryBytes / (double)MiB:F1} MiB, {watch.ElapsedMilliseconds} ms, " +
            $"nodes {table.NodeArray.Length}, leaves {table.LeafArray.Length}");
        Assert.True(table.MemoryBytes <= 64 * MiB, $"{table.MemoryBytes} bytes");
    }
}
