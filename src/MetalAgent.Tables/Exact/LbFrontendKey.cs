using System.Runtime.CompilerServices;
using MetalAgent.Packets;

namespace MetalAgent.Tables.Exact;

/// <summary>A load balancer frontend: VNI, virtual IP (IPv4 in the low 32 bits), L4 protocol and
/// port. Use port 0 (and protocol 0) for an L3 frontend that matches all ports.</summary>
public readonly struct LbFrontendKey : IExactKey<LbFrontendKey>
{
    private readonly ulong _ipHigh;
    private readonly ulong _ipLow;

    public LbFrontendKey(uint vni, UInt128 ip, byte protocol, ushort port)
    {
        _ipHigh = (ulong)(ip >> 64);
        _ipLow = (ulong)ip;
        Vni = vni;
        Protocol = protocol;
        Port = port;
    }

    public uint Vni { get; }

    public UInt128 Ip => new(_ipHigh, _ipLow);

    public byte Protocol { get; }

    public ushort Port { get; }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Hash(in LbFrontendKey key) =>
        FlowHash.Hash(key._ipHigh, key._ipLow, ((ulong)key.Vni << 32) | ((ulong)key.Protocol << 16) | key.Port);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Equals(LbFrontendKey other) =>
        _ipLow == other._ipLow && _ipHigh == other._ipHigh && Vni == other.Vni && Port == other.Port && Protocol == other.Protocol;

    public override bool Equals(object? obj) => obj is LbFrontendKey other && Equals(other);

    public override int GetHashCode() => (int)Hash(this);

    public static bool operator ==(LbFrontendKey left, LbFrontendKey right) => left.Equals(right);

    public static bool operator !=(LbFrontendKey left, LbFrontendKey right) => !left.Equals(right);

    public override string ToString() =>
        $"vni {Vni} {(_ipHigh == 0 && _ipLow <= uint.MaxValue ? Addresses.FormatIPv4((uint)_ipLow) : Addresses.FormatIPv6(Ip))} proto {Protocol} port {Port}";
}
