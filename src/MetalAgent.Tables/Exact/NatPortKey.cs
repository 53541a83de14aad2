using System.Runtime.CompilerServices;
using MetalAgent.Packets;

namespace MetalAgent.Tables.Exact;

/// <summary>A public (NAT) address, L4 protocol and port; IPv4 addresses in the low 32 bits of
/// <see cref="PublicIp"/>.</summary>
public readonly struct NatPortKey : IExactKey<NatPortKey>
{
    private readonly ulong _ipHigh;
    private readonly ulong _ipLow;

    public NatPortKey(UInt128 publicIp, byte protocol, ushort port)
    {
        _ipHigh = (ulong)(publicIp >> 64);
        _ipLow = (ulong)publicIp;
        Protocol = protocol;
        Port = port;
    }

    public UInt128 PublicIp => new(_ipHigh, _ipLow);

    /// <summary>IP protocol number (6 TCP, 17 UDP, 1 ICMP, ...).</summary>
    public byte Protocol { get; }

    public ushort Port { get; }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Hash(in NatPortKey key) =>
        FlowHash.Hash(key._ipHigh, key._ipLow, ((ulong)key.Protocol << 16) | key.Port);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Equals(NatPortKey other) =>
        _ipLow == other._ipLow && _ipHigh == other._ipHigh && Port == other.Port && Protocol == other.Protocol;

    public override bool Equals(object? obj) => obj is NatPortKey other && Equals(other);

    public override int GetHashCode() => (int)Hash(this);

    public static bool operator ==(NatPortKey left, NatPortKey right) => left.Equals(right);

    public static bool operator !=(NatPortKey left, NatPortKey right) => !left.Equals(right);

    public override string ToString() =>
        $"{(_ipHigh == 0 && _ipLow <= uint.MaxValue ? Addresses.FormatIPv4((uint)_ipLow) : Addresses.FormatIPv6(PublicIp))} proto {Protocol} port {Port}";
}
