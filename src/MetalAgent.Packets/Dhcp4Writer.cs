using System.Buffers.Binary;

namespace MetalAgent.Packets;

/// <summary>
/// Allocation-free builder of a DHCPv4 message (the UDP payload) in a caller's buffer:
/// <see cref="WriteHeader"/>, then options, then <see cref="Finish"/> which appends the end option
/// and pads. Throws ArgumentException for options over 255 bytes and ArgumentOutOfRangeException
/// when the buffer is too small.
/// </summary>
public ref struct Dhcp4Writer
{
    /// <summary>BOOTP minimum message size (RFC 1542 section 2.1) some clients insist on.</summary>
    public const int MinimumMessageLength = 300;

    private readonly Span<byte> _buffer;
    private int _length;
    private int _openOption;

    public Dhcp4Writer(Span<byte> buffer)
    {
        _buffer = buffer;
        _length = 0;
        _openOption = -1;
    }

    /// <summary>Bytes written so far.</summary>
    public readonly int Length => _length;

    /// <summary>BOOTP header (sname and file zeroed), Ethernet chaddr and magic cookie.</summary>
    public void WriteHeader(
        byte op,
        uint transactionId,
        ulong clientMac,
        uint clientIp = 0,
        uint yourIp = 0,
        uint serverIp = 0,
        uint relayIp = 0,
        ushort flags = 0,
        ushort seconds = 0)
    {
        Span<byte> h = _buffer[..Dhcp4Message.OptionsOffset];
        h.Clear();
        h[0] = op;
        h[1] = 1; // Ethernet
        h[2] = 6;
        BinaryPrimitives.WriteUInt32BigEndian(h[4..], transactionId);
        BinaryPrimitives.WriteUInt16BigEndian(h[8..], seconds);
        BinaryPrimitives.WriteUInt16BigEndian(h[10..], flags);
        BinaryPrimitives.WriteUInt32BigEndian(h[12..], clientIp);
        BinaryPrimitives.WriteUInt32BigEndian(h[16..], yourIp);
        BinaryPrimitives.WriteUInt32BigEndian(h[20..], serverIp);
        BinaryPrimitives.WriteUInt32BigEndian(h[24..], relayIp);
        Addresses.WriteMac(h[28..], clientMac);
        BinaryPrimitives.WriteUInt32BigEndian(h[Dhcp4Message.FixedHeaderLength..], Dhcp4Message.MagicCookie);
        _length = Dhcp4Message.OptionsOffset;
    }

    public void AddOption(byte code, scoped ReadOnlySpan<byte> value)
    {
        BeginOption(code);
        Append(value);
        EndOption();
    }

    public void AddMessageType(Dhcp4MessageType type) => AddByte(Dhcp4Options.MessageType, (byte)type);

    public void AddByte(byte code, byte value) => AddOption(code, [value]);

    public void AddUInt16(byte code, ushort value)
    {
        Span<byte> v = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(v, value);
        AddOption(code, v);
    }

    /// <summary>A 4-byte option: an address (1, 3, 28, 50, 54) or a time in seconds (51, 58, 59).</summary>
    public void AddUInt32(byte code, uint value)
    {
        Span<byte> v = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(v, value);
        AddOption(code, v);
    }

    /// <summary>A list of IPv4 addresses (routers 3, DNS servers 6).</summary>
    public void AddAddresses(byte code, scoped ReadOnlySpan<uint> addresses)
    {
        BeginOption(code);
        Span<byte> v = stackalloc byte[4];
        foreach (uint address in addresses)
        {
            BinaryPrimitives.WriteUInt32BigEndian(v, address);
            Append(v);
        }
        EndOption();
    }

    /// <summary>Starts an option whose value is then written with <see cref="Append"/> and the
    /// <c>Append*</c> helpers and closed by <see cref="EndOption"/>.</summary>
    public void BeginOption(byte code)
    {
        if (_openOption >= 0)
        {
            throw new InvalidOperationException("an option is already open");
        }
        if (code is Dhcp4Options.Pad or Dhcp4Options.End)
        {
            throw new ArgumentOutOfRangeException(nameof(code), "pad and end have no length");
        }
        _buffer[_length] = code;
        _buffer[_length + 1] = 0;
        _openOption = _length;
        _length += 2;
    }

    public void Append(scoped ReadOnlySpan<byte> value)
    {
        if (_openOption < 0)
        {
            throw new InvalidOperationException("no option is open");
        }
        if (_length + value.Length - _openOption - 2 > 255)
        {
            throw new ArgumentException("DHCPv4 option longer than 255 bytes", nameof(value));
        }
        value.CopyTo(_buffer[_length..]);
        _length += value.Length;
    }

    /// <summary>Appends one route of option 121 (RFC 3442): prefix length, significant octets of
    /// the network, router (0.0.0.0 for an on-link route).</summary>
    public void AppendClasslessRoute(uint network, byte prefixLength, uint router)
    {
        if (prefixLength > 32)
        {
            throw new ArgumentOutOfRangeException(nameof(prefixLength));
        }
        network &= prefixLength == 0 ? 0 : uint.MaxValue << (32 - prefixLength);
        Span<byte> v = stackalloc byte[9];
        int significant = (prefixLength + 7) / 8;
        v[0] = prefixLength;
        for (int i = 0; i < significant; i++)
        {
            v[1 + i] = (byte)(network >> (24 - (8 * i)));
        }
        BinaryPrimitives.WriteUInt32BigEndian(v[(1 + significant)..], router);
        Append(v[..(5 + significant)]);
    }

    public void EndOption()
    {
        if (_openOption < 0)
        {
            throw new InvalidOperationException("no option is open");
        }
        _buffer[_openOption + 1] = (byte)(_length - _openOption - 2);
        _openOption = -1;
    }

    /// <summary>Appends the end option, zero-pads to <paramref name="minimumLength"/> and returns the
    /// message length.</summary>
    public int Finish(int minimumLength = MinimumMessageLength)
    {
        if (_openOption >= 0)
        {
            throw new InvalidOperationException("an option is still open");
        }
        _buffer[_length++] = Dhcp4Options.End;
        if (_length < minimumLength)
        {
            _buffer[_length..minimumLength].Clear();
            _length = minimumLength;
        }
        return _length;
    }
}
