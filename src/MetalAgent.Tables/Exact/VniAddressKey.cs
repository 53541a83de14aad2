using System.Runtime.CompilerServices;
using MetalAgent.Packets;

namespace MetalAgent.Tables.Exact;

/// <summary>An IP address inside one VNI (IPv4 in the low 32 bits of <see cref="Address"/>).</summary>
public readonly struct VniAddressKey : IExactKey<VniAddressKey>
{
    // The address is kept as two ulongs so the key is 8-byte aligned and 24 bytes long
    // (a UInt128 field would force 16-byte alignment and a 32-byte key).
    private readonly ulong _addressHigh;
    private readonly ulong _addressLow;

    public VniAddressKey(uint vni, byte ipVersion, UInt128 address)
    {
        _addressHigh = (ulong)(address >> 64);
        _addressLow = (ulong)address;
        Vni = vni;
        IpVersion = ipVersion;
    }

    public uint Vni { get; }

    /// <summary>4 or 6.</summary>
    public byte IpVersion { get; }

    public UInt128 Address => new(_addressHigh, _addressLow);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Hash(in VniAddressKey key) =>
        FlowHash.Hash(key._addressHigh, key._addressLow, ((ulong)key.Vni << 8) | key.IpVersion);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Equals(VniAddressKey other) =>
        _addressLow == other._addressLow && _addressHigh == other._addressHigh && Vni == other.Vni && IpVersion == other.IpVersion;

    public override bool Equals(object? obj) => obj is VniAddressKey other && Equals(other);

    public override int GetHashCode() => (int)Hash(this);

    public static bool operator ==(VniAddressKey left, VniAddressKey right) => left.Equals(right);

    public static bool operator !=(VniAddressKey left, VniAddressKey right) => !left.Equals(right);

    public override string ToString() => $"vni {Vni} {Addresses.FormatIp(IpVersion, Address)}";
}
