using System.Buffers.Binary;

namespace MetalAgent.Packets;

/// <summary>Why a UDP payload is not a usable DHCPv6 client/server message.</summary>
public enum Dhcp6Error : byte
{
    None = 0,
    /// <summary>Shorter than the 4-byte msg-type + transaction-id header.</summary>
    Truncated,
    /// <summary>msg-type 0.</summary>
    BadMessageType,
    /// <summary>Relay-forward / relay-reply (12, 13): the gateway talks to clients directly.</summary>
    RelayMessageNotSupported,
    /// <summary>An option (or an IA_NA sub-option) running past its container.</summary>
    TruncatedOption,
    /// <summary>A known option with a length its definition forbids (client/server id &lt; 2 or
    /// &gt; 130, IA_NA &lt; 12, ORO odd, elapsed time not 2, rapid commit not 0, IA address &lt; 24).</summary>
    BadOptionLength,
}

/// <summary>DHCPv6 message types (RFC 8415).</summary>
public enum Dhcp6MessageType : byte
{
    Solicit = 1,
    Advertise = 2,
    Request = 3,
    Confirm = 4,
    Renew = 5,
    Rebind = 6,
    Reply = 7,
    Release = 8,
    Decline = 9,
    Reconfigure = 10,
    InformationRequest = 11,
    RelayForward = 12,
    RelayReply = 13,
}

/// <summary>DHCPv6 option codes the gateway uses.</summary>
public static class Dhcp6Options
{
    public const ushort ClientId = 1;
    public const ushort ServerId = 2;
    public const ushort IaNa = 3;
    public const ushort IaAddress = 5;
    public const ushort OptionRequest = 6;
    public const ushort Preference = 7;
    public const ushort ElapsedTime = 8;
    public const ushort StatusCode = 13;
    public const ushort RapidCommit = 14;
    public const ushort DnsServers = 23;
    public const ushort DomainList = 24;
}

/// <summary>One DHCPv6 option: code and value bytes.</summary>
public readonly ref struct Dhcp6Option
{
    public Dhcp6Option(ushort code, ReadOnlySpan<byte> data)
    {
        Code = code;
        Data = data;
    }

    public ushort Code { get; }

    public ReadOnlySpan<byte> Data { get; }
}

/// <summary>Walks DHCPv6 options (top level or inside an IA_NA); only constructed over options
/// <see cref="Dhcp6Message.TryParse"/> validated.</summary>
public ref struct Dhcp6OptionEnumerator
{
    private ReadOnlySpan<byte> _rest;

    internal Dhcp6OptionEnumerator(ReadOnlySpan<byte> options)
    {
        _rest = options;
        Current = default;
    }

    public Dhcp6Option Current { get; private set; }

    public readonly Dhcp6OptionEnumerator GetEnumerator() => this;

    public bool MoveNext()
    {
        if (_rest.Length < 4)
        {
            return false;
        }
        int length = BinaryPrimitives.ReadUInt16BigEndian(_rest[2..]);
        if (4 + length > _rest.Length)
        {
            return false;
        }
        Current = new Dhcp6Option(BinaryPrimitives.ReadUInt16BigEndian(_rest), _rest.Slice(4, length));
        _rest = _rest[(4 + length)..];
        return true;
    }
}

/// <summary>An IA_NA option (RFC 8415 section 21.4): IAID, T1, T2 and its sub-options (IA addresses,
/// status code).</summary>
public readonly ref struct Dhcp6IaNa
{
    private readonly ReadOnlySpan<byte> _data;

    internal Dhcp6IaNa(ReadOnlySpan<byte> data) => _data = data;

    public uint Iaid => BinaryPrimitives.ReadUInt32BigEndian(_data);

    public uint T1 => BinaryPrimitives.ReadUInt32BigEndian(_data[4..]);

    public uint T2 => BinaryPrimitives.ReadUInt32BigEndian(_data[8..]);

    public ReadOnlySpan<byte> Options => _data[12..];

    public Dhcp6OptionEnumerator GetOptions() => new(Options);

    /// <summary>The first IA address sub-option (5): address and lifetimes.</summary>
    public bool TryGetAddress(out UInt128 address, out uint preferredLifetime, out uint validLifetime)
    {
        foreach (Dhcp6Option option in GetOptions())
        {
            if (option.Code == Dhcp6Options.IaAddress)
            {
                address = BinaryPrimitives.ReadUInt128BigEndian(option.Data);
                preferredLifetime = BinaryPrimitives.ReadUInt32BigEndian(option.Data[16..]);
                validLifetime = BinaryPrimitives.ReadUInt32BigEndian(option.Data[20..]);
                return true;
            }
        }
        address = 0;
        preferredLifetime = 0;
        validLifetime = 0;
        return false;
    }
}

/// <summary>
/// Zero-allocation reader of a DHCPv6 client/server message over a UDP payload.
/// <see cref="TryParse"/> validates every option (and IA_NA sub-options), so the accessors cannot fail.
/// </summary>
public readonly ref struct Dhcp6Message
{
    public const int HeaderLength = 4;
    public const ushort ClientPort = 546;
    public const ushort ServerPort = 547;

    private readonly ReadOnlySpan<byte> _message;

    private Dhcp6Message(ReadOnlySpan<byte> message) => _message = message;

    public Dhcp6MessageType MessageType => (Dhcp6MessageType)_message[0];

    /// <summary>24-bit transaction id.</summary>
    public uint TransactionId => BinaryPrimitives.ReadUInt32BigEndian(_message) & 0xFF_FFFF;

    public ReadOnlySpan<byte> Options => _message[HeaderLength..];

    /// <summary>Option 1 (the client's DUID), empty when absent.</summary>
    public ReadOnlySpan<byte> ClientId => GetOptionOrEmpty(Dhcp6Options.ClientId);

    /// <summary>Option 2 (the server's DUID), empty when absent.</summary>
    public ReadOnlySpan<byte> ServerId => GetOptionOrEmpty(Dhcp6Options.ServerId);

    /// <summary>Option 6 as raw big-endian option codes, empty when absent.</summary>
    public ReadOnlySpan<byte> OptionRequest => GetOptionOrEmpty(Dhcp6Options.OptionRequest);

    /// <summary>Option 14 present.</summary>
    public bool RapidCommit => TryGetOption(Dhcp6Options.RapidCommit, out _);

    /// <summary>Reads and validates a DHCPv6 message (the UDP payload).</summary>
    public static Dhcp6Error TryParse(ReadOnlySpan<byte> udpPayload, out Dhcp6Message message)
    {
        message = default;
        if (udpPayload.Length < HeaderLength)
        {
            return Dhcp6Error.Truncated;
        }
        byte type = udpPayload[0];
        if (type == 0)
        {
            return Dhcp6Error.BadMessageType;
        }
        if (type is (byte)Dhcp6MessageType.RelayForward or (byte)Dhcp6MessageType.RelayReply)
        {
            return Dhcp6Error.RelayMessageNotSupported;
        }
        Dhcp6Error error = ValidateOptions(udpPayload[HeaderLength..], nested: false);
        if (error != Dhcp6Error.None)
        {
            return error;
        }
        message = new Dhcp6Message(udpPayload);
        return Dhcp6Error.None;
    }

    public Dhcp6OptionEnumerator GetOptions() => new(Options);

    /// <summary>Value of the first top-level option with <paramref name="code"/>.</summary>
    public bool TryGetOption(ushort code, out ReadOnlySpan<byte> data)
    {
        foreach (Dhcp6Option option in GetOptions())
        {
            if (option.Code == code)
            {
                data = option.Data;
                return true;
            }
        }
        data = default;
        return false;
    }

    /// <summary>The first IA_NA option (3).</summary>
    public bool TryGetIaNa(out Dhcp6IaNa iaNa)
    {
        bool found = TryGetOption(Dhcp6Options.IaNa, out ReadOnlySpan<byte> data);
        iaNa = new Dhcp6IaNa(found ? data : default);
        return found;
    }

    /// <summary>Whether the option request option lists <paramref name="code"/>.</summary>
    public bool Requests(ushort code)
    {
        ReadOnlySpan<byte> oro = OptionRequest;
        for (int i = 0; i + 2 <= oro.Length; i += 2)
        {
            if (BinaryPrimitives.ReadUInt16BigEndian(oro[i..]) == code)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Option 8 in hundredths of a second, 0 when absent.</summary>
    public ushort ElapsedTime => TryGetOption(Dhcp6Options.ElapsedTime, out ReadOnlySpan<byte> v) ? BinaryPrimitives.ReadUInt16BigEndian(v) : (ushort)0;

    private static Dhcp6Error ValidateOptions(ReadOnlySpan<byte> options, bool nested)
    {
        while (!options.IsEmpty)
        {
            if (options.Length < 4)
            {
                return Dhcp6Error.TruncatedOption;
            }
            ushort code = BinaryPrimitives.ReadUInt16BigEndian(options);
            int length = BinaryPrimitives.ReadUInt16BigEndian(options[2..]);
            if (4 + length > options.Length)
            {
                return Dhcp6Error.TruncatedOption;
            }
            ReadOnlySpan<byte> data = options.Slice(4, length);
            bool lengthOk = code switch
            {
                // A DUID is a 2-byte type plus at most 128 bytes (RFC 8415 section 11.1).
                Dhcp6Options.ClientId or Dhcp6Options.ServerId => length is >= 2 and <= 130,
                Dhcp6Options.IaNa => length >= 12,
                Dhcp6Options.IaAddress => length >= 24,
                Dhcp6Options.OptionRequest => length % 2 == 0,
                Dhcp6Options.ElapsedTime => length == 2,
                Dhcp6Options.RapidCommit => length == 0,
                _ => true,
            };
            if (!lengthOk)
            {
                return Dhcp6Error.BadOptionLength;
            }
            // IA_NA carries sub-options; so does an IA address (status code), one level is enough
            // for what the gateway reads.
            if (code == Dhcp6Options.IaNa && !nested)
            {
                Dhcp6Error error = ValidateOptions(data[12..], nested: true);
                if (error != Dhcp6Error.None)
                {
                    return error;
                }
            }
            options = options[(4 + length)..];
        }
        return Dhcp6Error.None;
    }

    private ReadOnlySpan<byte> GetOptionOrEmpty(ushort code) => TryGetOption(code, out ReadOnlySpan<byte> v) ? v : default;
}
