using System.Buffers.Binary;

namespace MetalAgent.Packets;

/// <summary>Why a UDP payload is not a usable DHCPv4 message.</summary>
public enum Dhcp4Error : byte
{
    None = 0,
    /// <summary>Shorter than the 236-byte BOOTP header plus the 4-byte magic cookie.</summary>
    Truncated,
    /// <summary>op is neither BOOTREQUEST (1) nor BOOTREPLY (2).</summary>
    BadOp,
    /// <summary>hlen larger than the 16-byte chaddr field.</summary>
    BadHardwareLength,
    BadMagicCookie,
    /// <summary>An option's length runs past the end of the message.</summary>
    TruncatedOption,
    /// <summary>No end option (255).</summary>
    MissingEndOption,
    /// <summary>A known option (53, 50, 55, 61, 12) with a length its definition forbids.</summary>
    BadOptionLength,
}

/// <summary>DHCPv4 message types (option 53).</summary>
public enum Dhcp4MessageType : byte
{
    None = 0,
    Discover = 1,
    Offer = 2,
    Request = 3,
    Decline = 4,
    Ack = 5,
    Nak = 6,
    Release = 7,
    Inform = 8,
}

/// <summary>DHCPv4 option codes the gateway uses.</summary>
public static class Dhcp4Options
{
    public const byte Pad = 0;
    public const byte SubnetMask = 1;
    public const byte Router = 3;
    public const byte DomainNameServer = 6;
    public const byte HostName = 12;
    public const byte DomainName = 15;
    public const byte InterfaceMtu = 26;
    public const byte BroadcastAddress = 28;
    public const byte RequestedIpAddress = 50;
    public const byte LeaseTime = 51;
    public const byte MessageType = 53;
    public const byte ServerIdentifier = 54;
    public const byte ParameterRequestList = 55;
    public const byte RenewalTime = 58;
    public const byte RebindingTime = 59;
    public const byte ClientIdentifier = 61;
    public const byte ClasslessStaticRoute = 121;
    public const byte End = 255;
}

/// <summary>One DHCPv4 option: code and value bytes.</summary>
public readonly ref struct Dhcp4Option
{
    public Dhcp4Option(byte code, ReadOnlySpan<byte> data)
    {
        Code = code;
        Data = data;
    }

    public byte Code { get; }

    public ReadOnlySpan<byte> Data { get; }
}

/// <summary>Walks DHCPv4 options, skipping pads and stopping at the end option; only constructed
/// over options <see cref="Dhcp4Message.TryParse"/> validated.</summary>
public ref struct Dhcp4OptionEnumerator
{
    private ReadOnlySpan<byte> _rest;

    internal Dhcp4OptionEnumerator(ReadOnlySpan<byte> options)
    {
        _rest = options;
        Current = default;
    }

    public Dhcp4Option Current { get; private set; }

    public readonly Dhcp4OptionEnumerator GetEnumerator() => this;

    public bool MoveNext()
    {
        while (!_rest.IsEmpty && _rest[0] == Dhcp4Options.Pad)
        {
            _rest = _rest[1..];
        }
        if (_rest.Length < 2 || _rest[0] == Dhcp4Options.End || 2 + _rest[1] > _rest.Length)
        {
            return false;
        }
        int length = _rest[1];
        Current = new Dhcp4Option(_rest[0], _rest.Slice(2, length));
        _rest = _rest[(2 + length)..];
        return true;
    }
}

/// <summary>
/// Zero-allocation reader of a DHCPv4 (BOOTP) message over a UDP payload. <see cref="TryParse"/>
/// validates the fixed header, the magic cookie and every option up to the end option, so the
/// accessors cannot fail. Options overloaded into sname/file (option 52) and long options split
/// over several instances (RFC 3396) are not merged: the first instance is returned.
/// </summary>
public readonly ref struct Dhcp4Message
{
    public const int FixedHeaderLength = 236;
    public const int OptionsOffset = 240;
    public const uint MagicCookie = 0x63825363;
    public const byte BootRequest = 1;
    public const byte BootReply = 2;

    private readonly ReadOnlySpan<byte> _message;

    private Dhcp4Message(ReadOnlySpan<byte> message, ReadOnlySpan<byte> options)
    {
        _message = message;
        Options = options;
    }

    public byte Op => _message[0];

    public byte HardwareType => _message[1];

    public byte HardwareLength => _message[2];

    public byte Hops => _message[3];

    public uint TransactionId => BinaryPrimitives.ReadUInt32BigEndian(_message.Slice(4, 4));

    public ushort Seconds => BinaryPrimitives.ReadUInt16BigEndian(_message.Slice(8, 2));

    public ushort Flags => BinaryPrimitives.ReadUInt16BigEndian(_message.Slice(10, 2));

    /// <summary>The client asked for broadcast replies.</summary>
    public bool Broadcast => (Flags & 0x8000) != 0;

    public uint ClientIp => BinaryPrimitives.ReadUInt32BigEndian(_message.Slice(12, 4));

    public uint YourIp => BinaryPrimitives.ReadUInt32BigEndian(_message.Slice(16, 4));

    public uint ServerIp => BinaryPrimitives.ReadUInt32BigEndian(_message.Slice(20, 4));

    public uint RelayIp => BinaryPrimitives.ReadUInt32BigEndian(_message.Slice(24, 4));

    /// <summary>chaddr, <see cref="HardwareLength"/> bytes.</summary>
    public ReadOnlySpan<byte> ClientHardwareAddress => _message.Slice(28, HardwareLength);

    /// <summary>Whether chaddr is an Ethernet MAC (htype 1, hlen 6).</summary>
    public bool HasEthernetClientAddress => HardwareType == 1 && HardwareLength == 6;

    /// <summary>chaddr as a MAC (meaningful when <see cref="HasEthernetClientAddress"/>).</summary>
    public ulong ClientMac => Addresses.ReadMac(_message.Slice(28, 6));

    /// <summary>The option bytes from after the magic cookie up to and including the end option.</summary>
    public ReadOnlySpan<byte> Options { get; }

    /// <summary>Option 53, or <see cref="Dhcp4MessageType.None"/> when absent (plain BOOTP).</summary>
    public Dhcp4MessageType MessageType =>
        TryGetOption(Dhcp4Options.MessageType, out ReadOnlySpan<byte> v) ? (Dhcp4MessageType)v[0] : Dhcp4MessageType.None;

    /// <summary>Option 55, empty when absent.</summary>
    public ReadOnlySpan<byte> ParameterRequestList => GetOptionOrEmpty(Dhcp4Options.ParameterRequestList);

    /// <summary>Option 61 (type byte + identifier), empty when absent.</summary>
    public ReadOnlySpan<byte> ClientIdentifier => GetOptionOrEmpty(Dhcp4Options.ClientIdentifier);

    /// <summary>Option 12, empty when absent.</summary>
    public ReadOnlySpan<byte> HostName => GetOptionOrEmpty(Dhcp4Options.HostName);

    /// <summary>Reads and validates a DHCPv4 message (the UDP payload).</summary>
    public static Dhcp4Error TryParse(ReadOnlySpan<byte> udpPayload, out Dhcp4Message message)
    {
        message = default;
        if (udpPayload.Length < OptionsOffset)
        {
            return Dhcp4Error.Truncated;
        }
        if (udpPayload[0] is not (BootRequest or BootReply))
        {
            return Dhcp4Error.BadOp;
        }
        if (udpPayload[2] > 16)
        {
            return Dhcp4Error.BadHardwareLength;
        }
        if (BinaryPrimitives.ReadUInt32BigEndian(udpPayload.Slice(FixedHeaderLength, 4)) != MagicCookie)
        {
            return Dhcp4Error.BadMagicCookie;
        }
        ReadOnlySpan<byte> options = udpPayload[OptionsOffset..];
        int pos = 0;
        while (true)
        {
            if (pos >= options.Length)
            {
                return Dhcp4Error.MissingEndOption;
            }
            byte code = options[pos];
            if (code == Dhcp4Options.End)
            {
                break;
            }
            if (code == Dhcp4Options.Pad)
            {
                pos++;
                continue;
            }
            if (pos + 2 > options.Length || pos + 2 + options[pos + 1] > options.Length)
            {
                return Dhcp4Error.TruncatedOption;
            }
            int length = options[pos + 1];
            bool lengthOk = code switch
            {
                Dhcp4Options.MessageType => length == 1,
                Dhcp4Options.RequestedIpAddress => length == 4,
                Dhcp4Options.ClientIdentifier => length >= 2,
                Dhcp4Options.HostName or Dhcp4Options.ParameterRequestList => length >= 1,
                _ => true,
            };
            if (!lengthOk)
            {
                return Dhcp4Error.BadOptionLength;
            }
            pos += 2 + length;
        }
        message = new Dhcp4Message(udpPayload, options[..(pos + 1)]);
        return Dhcp4Error.None;
    }

    public Dhcp4OptionEnumerator GetOptions() => new(Options);

    /// <summary>Value of the first option with <paramref name="code"/>.</summary>
    public bool TryGetOption(byte code, out ReadOnlySpan<byte> data)
    {
        foreach (Dhcp4Option option in GetOptions())
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

    /// <summary>Option 50.</summary>
    public bool TryGetRequestedIp(out uint ip)
    {
        if (TryGetOption(Dhcp4Options.RequestedIpAddress, out ReadOnlySpan<byte> v))
        {
            ip = BinaryPrimitives.ReadUInt32BigEndian(v);
            return true;
        }
        ip = 0;
        return false;
    }

    /// <summary>Option 54 (server identifier), when present with 4 bytes.</summary>
    public bool TryGetServerIdentifier(out uint ip)
    {
        if (TryGetOption(Dhcp4Options.ServerIdentifier, out ReadOnlySpan<byte> v) && v.Length == 4)
        {
            ip = BinaryPrimitives.ReadUInt32BigEndian(v);
            return true;
        }
        ip = 0;
        return false;
    }

    /// <summary>Whether option 55 asks for <paramref name="code"/>.</summary>
    public bool Requests(byte code) => ParameterRequestList.Contains(code);

    private ReadOnlySpan<byte> GetOptionOrEmpty(byte code) => TryGetOption(code, out ReadOnlySpan<byte> v) ? v : default;
}
