using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace MetalAgent.Packets;

/// <summary>Conversions between text, bytes and the numeric forms the dataplane uses:
/// IPv4 as <see cref="uint"/> (host order), IPv6 as <see cref="UInt128"/> (host order), MACs as
/// the low 48 bits of a <see cref="ulong"/>. Parsing here is for configuration, not the packet path.</summary>
public static class Addresses
{
    public static uint ToUInt32(IPAddress address)
    {
        Span<byte> b = stackalloc byte[4];
        if (address.AddressFamily != AddressFamily.InterNetwork || !address.TryWriteBytes(b, out _))
        {
            throw new ArgumentException("not an IPv4 address", nameof(address));
        }
        return BinaryPrimitives.ReadUInt32BigEndian(b);
    }

    public static UInt128 ToUInt128(IPAddress address)
    {
        Span<byte> b = stackalloc byte[16];
        if (address.AddressFamily != AddressFamily.InterNetworkV6 || !address.TryWriteBytes(b, out _))
        {
            throw new ArgumentException("not an IPv6 address", nameof(address));
        }
        return BinaryPrimitives.ReadUInt128BigEndian(b);
    }

    public static IPAddress FromUInt32(uint v)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, v);
        return new IPAddress(b);
    }

    public static IPAddress FromUInt128(UInt128 v)
    {
        Span<byte> b = stackalloc byte[16];
        BinaryPrimitives.WriteUInt128BigEndian(b, v);
        return new IPAddress(b);
    }

    public static string FormatIPv4(uint v) => FromUInt32(v).ToString();

    public static string FormatIPv6(UInt128 v) => FromUInt128(v).ToString();

    /// <summary>Formats a <see cref="PacketHeaders"/> address of the given IP version.</summary>
    public static string FormatIp(byte ipVersion, UInt128 v) => ipVersion == 4 ? FormatIPv4((uint)v) : FormatIPv6(v);

    /// <summary>Parses "aa:bb:cc:dd:ee:ff" (or '-' separated).</summary>
    public static bool TryParseMac(string? text, out ulong mac)
    {
        mac = 0;
        if (text is null || text.Length != 17)
        {
            return false;
        }
        for (int i = 0; i < 6; i++)
        {
            if (i > 0 && text[(i * 3) - 1] != ':' && text[(i * 3) - 1] != '-')
            {
                return false;
            }
            if (!byte.TryParse(text.AsSpan(i * 3, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out byte octet))
            {
                return false;
            }
            mac = (mac << 8) | octet;
        }
        return true;
    }

    public static string FormatMac(ulong mac)
    {
        Span<char> s = stackalloc char[17];
        for (int i = 0; i < 6; i++)
        {
            byte octet = (byte)(mac >> (40 - (8 * i)));
            octet.TryFormat(s.Slice(i * 3, 2), out _, "x2", CultureInfo.InvariantCulture);
            if (i < 5)
            {
                s[(i * 3) + 2] = ':';
            }
        }
        return new string(s);
    }

    public static ulong ReadMac(ReadOnlySpan<byte> six) =>
        ((ulong)BinaryPrimitives.ReadUInt16BigEndian(six) << 32) | BinaryPrimitives.ReadUInt32BigEndian(six[2..]);

    public static void WriteMac(Span<byte> six, ulong mac)
    {
        BinaryPrimitives.WriteUInt16BigEndian(six, (ushort)(mac >> 32));
        BinaryPrimitives.WriteUInt32BigEndian(six[2..], (uint)mac);
    }

    /// <summary>Parses "a.b.c.d/len" or "x::/len" into family, network number and length. Returns false on
    /// syntax errors; <paramref name="hostBitsSet"/> tells whether bits beyond the length were set.</summary>
    public static bool TryParsePrefix(string? text, out byte ipVersion, out UInt128 network, out byte length, out bool hostBitsSet)
    {
        ipVersion = 0;
        network = 0;
        length = 0;
        hostBitsSet = false;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }
        int slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || !byte.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out length))
        {
            return false;
        }
        if (!IPAddress.TryParse(text.AsSpan(0, slash), out IPAddress? address))
        {
            return false;
        }
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            if (length > 32)
            {
                return false;
            }
            ipVersion = 4;
            uint v = ToUInt32(address);
            uint mask = length == 0 ? 0 : uint.MaxValue << (32 - length);
            hostBitsSet = (v & ~mask) != 0;
            network = v & mask;
            return true;
        }
        if (length > 128 || address.ScopeId != 0)
        {
            return false;
        }
        ipVersion = 6;
        UInt128 v6 = ToUInt128(address);
        UInt128 mask6 = length == 0 ? UInt128.Zero : UInt128.MaxValue << (128 - length);
        hostBitsSet = (v6 & ~mask6) != UInt128.Zero;
        network = v6 & mask6;
        return true;
    }

    /// <summary>Parses a plain IPv4 or IPv6 address (no prefix length, no scope).</summary>
    public static bool TryParseIp(string? text, out byte ipVersion, out UInt128 value)
    {
        ipVersion = 0;
        value = 0;
        if (string.IsNullOrEmpty(text) || text.Contains('/', StringComparison.Ordinal) || !IPAddress.TryParse(text, out IPAddress? address))
        {
            return false;
        }
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            // IPAddress accepts shorthand like "10.1"; require dotted quad.
            if (text.Split('.').Length != 4)
            {
                return false;
            }
            ipVersion = 4;
            value = ToUInt32(address);
            return true;
        }
        if (address.ScopeId != 0)
        {
            return false;
        }
        ipVersion = 6;
        value = ToUInt128(address);
        return true;
    }
}
