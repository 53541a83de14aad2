using System.Buffers.Binary;
using System.Text;

namespace MetalAgent.Packets;

/// <summary>
/// Allocation-free builder of a DHCPv6 message (the UDP payload) in a caller's buffer:
/// <see cref="WriteHeader"/>, then options; an IA_NA is opened with <see cref="BeginIaNa"/>,
/// filled with <see cref="AddIaAddress"/> / <see cref="AddStatusCode"/> and closed with
/// <see cref="EndIaNa"/>. <see cref="Length"/> is the message length.
/// </summary>
public ref struct Dhcp6Writer
{
    private readonly Span<byte> _buffer;
    private int _length;
    private int _openIaNa;

    public Dhcp6Writer(Span<byte> buffer)
    {
        _buffer = buffer;
        _length = 0;
        _openIaNa = -1;
    }

    /// <summary>Bytes written so far; the message length once any IA_NA is closed.</summary>
    public readonly int Length => _length;

    public void WriteHeader(Dhcp6MessageType type, uint transactionId)
    {
        if (transactionId > 0xFF_FFFF)
        {
            throw new ArgumentOutOfRangeException(nameof(transactionId), "24 bits");
        }
        BinaryPrimitives.WriteUInt32BigEndian(_buffer[..4], ((uint)type << 24) | transactionId);
        _length = Dhcp6Message.HeaderLength;
    }

    public void AddOption(ushort code, scoped ReadOnlySpan<byte> value)
    {
        Span<byte> o = Reserve(code, value.Length);
        value.CopyTo(o);
    }

    /// <summary>Rapid commit (14) and other empty options.</summary>
    public void AddEmptyOption(ushort code) => Reserve(code, 0);

    public void AddUInt16Option(ushort code, ushort value) => BinaryPrimitives.WriteUInt16BigEndian(Reserve(code, 2), value);

    /// <summary>A DUID-LL (type 3, hardware type 1) for an Ethernet MAC, e.g. the server id (2).</summary>
    public void AddDuidLinkLayer(ushort code, ulong mac)
    {
        Span<byte> o = Reserve(code, 10);
        BinaryPrimitives.WriteUInt16BigEndian(o, 3);
        BinaryPrimitives.WriteUInt16BigEndian(o[2..], 1);
        Addresses.WriteMac(o[4..], mac);
    }

    /// <summary>A list of IPv6 addresses (DNS servers 23).</summary>
    public void AddAddresses(ushort code, scoped ReadOnlySpan<UInt128> addresses)
    {
        Span<byte> o = Reserve(code, 16 * addresses.Length);
        for (int i = 0; i < addresses.Length; i++)
        {
            BinaryPrimitives.WriteUInt128BigEndian(o[(16 * i)..], addresses[i]);
        }
    }

    /// <summary>Status code option (13); valid at top level and inside an IA_NA.</summary>
    public void AddStatusCode(ushort status, scoped ReadOnlySpan<char> message)
    {
        Span<byte> o = Reserve(Dhcp6Options.StatusCode, 2 + Encoding.UTF8.GetByteCount(message));
        BinaryPrimitives.WriteUInt16BigEndian(o, status);
        Encoding.UTF8.GetBytes(message, o[2..]);
    }

    public void BeginIaNa(uint iaid, uint t1, uint t2)
    {
        if (_openIaNa >= 0)
        {
            throw new InvalidOperationException("an IA_NA is already open");
        }
        int start = _length;
        Span<byte> o = Reserve(Dhcp6Options.IaNa, 12);
        BinaryPrimitives.WriteUInt32BigEndian(o, iaid);
        BinaryPrimitives.WriteUInt32BigEndian(o[4..], t1);
        BinaryPrimitives.WriteUInt32BigEndian(o[8..], t2);
        _openIaNa = start;
    }

    /// <summary>IA address sub-option (5) of the open IA_NA.</summary>
    public void AddIaAddress(UInt128 address, uint preferredLifetime, uint validLifetime)
    {
        if (_openIaNa < 0)
        {
            throw new InvalidOperationException("no IA_NA is open");
        }
        Span<byte> o = Reserve(Dhcp6Options.IaAddress, 24);
        BinaryPrimitives.WriteUInt128BigEndian(o, address);
        BinaryPrimitives.WriteUInt32BigEndian(o[16..], preferredLifetime);
        BinaryPrimitives.WriteUInt32BigEndian(o[20..], validLifetime);
    }

    public void EndIaNa()
    {
        if (_openIaNa < 0)
        {
            throw new InvalidOperationException("no IA_NA is open");
        }
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[(_openIaNa + 2)..], (ushort)(_length - _openIaNa - 4));
        _openIaNa = -1;
    }

    private Span<byte> Reserve(ushort code, int length)
    {
        if (length > ushort.MaxValue)
        {
            throw new ArgumentException("DHCPv6 option longer than 65535 bytes", nameof(length));
        }
        Span<byte> o = _buffer.Slice(_length, 4 + length);
        BinaryPrimitives.WriteUInt16BigEndian(o, code);
        BinaryPrimitives.WriteUInt16BigEndian(o[2..], (ushort)length);
        _length += 4 + length;
        return o[4..];
    }
}
