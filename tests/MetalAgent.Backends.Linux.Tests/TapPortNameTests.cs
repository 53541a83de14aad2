using CsCheck;

namespace MetalAgent.Backends.Linux.Tests;

/// <summary>Device naming of <see cref="TapPort"/> (no root needed).</summary>
public sealed class TapPortNameTests
{
    [Fact]
    public void DeviceName_is_ma_plus_12_hex_digits_of_sha256_of_the_id()
    {
        // Pinned: changing the scheme would orphan every persistent TAP on upgrade.
        Assert.Equal("ma" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("if-1"u8))[..12], TapPort.DeviceName("if-1"));
        Assert.Equal("mada828f406365", TapPort.DeviceName("if-1"));
    }

    [Fact]
    public void DeviceName_is_stable_short_and_distinct()
    {
        Gen.String[Gen.Char.AlphaNumeric, 1, 80].Sample(id =>
        {
            string name = TapPort.DeviceName(id);
            return name.Length == 14 && name.StartsWith("ma", StringComparison.Ordinal)
                && name.Skip(2).All(char.IsAsciiHexDigitLower) && name == TapPort.DeviceName(id)
                && name != TapPort.DeviceName(id + "x");
        }, iter: 2000);
    }

    [Fact]
    public void Invalid_device_names_are_rejected_before_touching_the_system()
    {
        Assert.Throws<ArgumentException>(() => new TapPort("vm", "a-name-of-16-chr"));
        Assert.Throws<ArgumentException>(() => new TapPort("vm", "bad/name"));
        Assert.Throws<ArgumentException>(() => new TapPort("vm", ""));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TapPort("vm", "matok", queueCount: 0));
    }
}
