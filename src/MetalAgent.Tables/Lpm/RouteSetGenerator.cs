namespace MetalAgent.Tables.Lpm;

/// <summary>Synthetic route sets and lookup addresses for tests and benchmarks (not for production
/// use). Everything is a pure function of the arguments: the same seed gives the same routes on
/// every machine and .NET version (a private SplitMix64 generator, not <see cref="Random"/>).</summary>
public static class RouteSetGenerator
{
    // Cumulative per-mille of IPv4 prefix lengths, roughly shaped like a public BGP table:
    // mostly /24, then /22-/23, /16-/21, a few shorter and a few longer prefixes.
    private static readonly (int Length, int CumulativePerMille)[] s_ipv4Lengths =
    [
        (8, 1), (10, 2), (12, 4), (13, 6), (14, 9), (15, 13), (16, 30), (17, 40), (18, 56),
        (19, 88), (20, 130), (21, 180), (22, 290), (23, 390), (24, 995), (25, 996), (26, 997),
        (27, 998), (28, 998), (29, 999), (30, 999), (31, 999), (32, 1000),
    ];

    /// <summary><paramref name="count"/> distinct IPv4 routes distributed like a public BGP table,
    /// spread over 1.0.0.0-223.255.255.255, with values in [0, <paramref name="nextHops"/>).</summary>
    public static Lpm4Route[] Ipv4BgpLike(int count, ulong seed, uint nextHops = 1024)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfZero(nextHops);
        var random = new SplitMix64(seed);
        var seen = new HashSet<ulong>(count);
        var routes = new Lpm4Route[count];
        int made = 0;
        while (made < count)
        {
            int perMille = random.NextInt(1000);
            int length = 32;
            foreach ((int l, int cumulative) in s_ipv4Lengths)
            {
                if (perMille < cumulative)
                {
                    length = l;
                    break;
                }
            }
            // First octet 1..223 (unicast), the rest uniform.
            uint address = ((uint)(1 + random.NextInt(223)) << 24) | (uint)random.NextInt(1 << 24);
            uint prefix = address & (uint.MaxValue << (32 - length));
            if (seen.Add(((ulong)prefix << 8) | (uint)length))
            {
                routes[made++] = new Lpm4Route(prefix, (byte)length, (uint)random.NextLong(nextHops));
            }
        }
        return routes;
    }

    /// <summary><paramref name="count"/> distinct IPv6 routes clustered like a provider's table:
    /// /32 allocations in 2000::/3, mostly /48 (about 45%) and /64 (about 40%) inside them, some
    /// /128 hosts (about 10%) and a few /36-/56 aggregates; values in [0, <paramref name="nextHops"/>).</summary>
    public static Lpm6Route[] Ipv6Like(int count, ulong seed, uint nextHops = 1024)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfZero(nextHops);
        var random = new SplitMix64(seed);
        int allocations = Math.Max(1, count / 200);
        var blocks = new UInt128[allocations];
        for (int i = 0; i < blocks.Length; i++)
        {
            // 2000::/3 then 29 random bits: a /32.
            ulong top = (0b001UL << 29) | (ulong)random.NextInt(1 << 29);
            blocks[i] = (UInt128)top << 96;
        }
        var seen = new HashSet<(UInt128, int)>(count);
        var made48 = new List<UInt128>();
        var made64 = new List<UInt128>();
        var routes = new Lpm6Route[count];
        int made = 0;
        while (made < count)
        {
            int roll = random.NextInt(100);
            UInt128 prefix;
            int length;
            if (roll < 45 || made48.Count == 0)
            {
                length = 48;
                prefix = blocks[random.NextInt(blocks.Length)] | ((UInt128)random.NextInt(1 << 16) << 80);
            }
            else if (roll < 85 || made64.Count == 0)
            {
                length = 64;
                prefix = made48[random.NextInt(made48.Count)] | ((UInt128)random.NextInt(1 << 16) << 64);
            }
            else if (roll < 95)
            {
                length = 128;
                prefix = made64[random.NextInt(made64.Count)] | random.NextULong();
            }
            else
            {
                length = 36 + (4 * random.NextInt(6));
                UInt128 block = blocks[random.NextInt(blocks.Length)] | ((UInt128)random.NextULong() << 32);
                prefix = block & (UInt128.MaxValue << (128 - length));
            }
            if (seen.Add((prefix, length)))
            {
                if (length == 48)
                {
                    made48.Add(prefix);
                }
                else if (length == 64)
                {
                    made64.Add(prefix);
                }
                routes[made++] = new Lpm6Route(prefix, (byte)length, (uint)random.NextLong(nextHops));
            }
        }
        return routes;
    }

    /// <summary>Lookup addresses: a fraction <paramref name="hitFraction"/> drawn inside random routes
    /// (random host bits), the rest uniformly random.</summary>
    public static uint[] Ipv4Addresses(ReadOnlySpan<Lpm4Route> routes, int count, ulong seed, double hitFraction = 0.95)
    {
        var random = new SplitMix64(seed);
        var addresses = new uint[count];
        for (int i = 0; i < count; i++)
        {
            uint any = (uint)random.NextULong();
            if (routes.Length > 0 && random.NextDouble() < hitFraction)
            {
                Lpm4Route route = routes[random.NextInt(routes.Length)];
                uint mask = route.Length == 0 ? 0 : uint.MaxValue << (32 - route.Length);
                addresses[i] = route.Prefix | (any & ~mask);
            }
            else
            {
                addresses[i] = any;
            }
        }
        return addresses;
    }

    /// <summary>IPv6 lookup addresses, like <see cref="Ipv4Addresses"/>.</summary>
    public static UInt128[] Ipv6Addresses(ReadOnlySpan<Lpm6Route> routes, int count, ulong seed, double hitFraction = 0.95)
    {
        var random = new SplitMix64(seed);
        var addresses = new UInt128[count];
        for (int i = 0; i < count; i++)
        {
            UInt128 any = new(random.NextULong(), random.NextULong());
            if (routes.Length > 0 && random.NextDouble() < hitFraction)
            {
                Lpm6Route route = routes[random.NextInt(routes.Length)];
                UInt128 mask = route.Length == 0 ? UInt128.Zero : UInt128.MaxValue << (128 - route.Length);
                addresses[i] = route.Prefix | (any & ~mask);
            }
            else
            {
                addresses[i] = any;
            }
        }
        return addresses;
    }

    /// <summary>SplitMix64 (Steele, Lea and Flood): tiny, fast and fully specified.</summary>
    private struct SplitMix64(ulong seed)
    {
        private ulong _state = seed;

        public ulong NextULong()
        {
            ulong z = _state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }

        /// <summary>Uniform in [0, bound) by multiply-shift (bias below 2^-32, irrelevant here).</summary>
        public int NextInt(int bound) => (int)(((NextULong() >> 32) * (ulong)(uint)bound) >> 32);

        public long NextLong(uint bound) => (long)(((NextULong() >> 32) * bound) >> 32);

        public double NextDouble() => (NextULong() >> 11) * (1.0 / (1UL << 53));
    }
}
