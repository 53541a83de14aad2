using MetalAgent.ControlPlane.Addressing;
using MetalAgent.ControlPlane.Configuration;
using MetalAgent.ControlPlane.Manifests;

namespace MetalAgent.ControlPlane.Allocation;

/// <summary>Hands out what IronCore's network layer allocates centrally: VNIs, underlay /128s inside each
/// host's /64, public IPs from the pools and NAT port slots, plus exclusive claims. Allocation works in
/// rounds (mark and sweep): a round asks for everything the current objects need (get-or-allocate, in a
/// deterministic order); <see cref="EndRound"/> then releases whatever was not asked for. Existing
/// allocations never move, so they are stable across rounds and, through the store, across restarts.</summary>
public sealed class Allocator
{
    public const uint FirstVni = 200;
    public const uint LastVni = 16_777_215;

    /// <summary>NAT slots cut this range; ports below are never handed out.</summary>
    public const uint FirstNatPort = 1024;
    public const uint LastNatPort = 65535;

    private readonly ControlPlaneConfig _config;
    private readonly PersistedState _state;

    private readonly HashSet<uint> _usedVnis = [];
    private readonly Dictionary<string, HashSet<UInt128>> _usedUnderlay = new(StringComparer.Ordinal);
    private readonly HashSet<IpAddressValue> _usedPublic = [];

    private readonly HashSet<string> _touchedVnis = new(StringComparer.Ordinal);
    private readonly HashSet<(string Host, string Key)> _touchedUnderlay = [];
    private readonly HashSet<string> _touchedPublic = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> _touchedSlots = new(StringComparer.Ordinal);
    private readonly HashSet<string> _touchedClaims = new(StringComparer.Ordinal);
    private bool _changed;
    private int _refusedClaims;
    private int _releasedClaims;

    public Allocator(ControlPlaneConfig config, PersistedState state)
    {
        _config = config;
        _state = state;
        foreach (uint vni in state.Vnis.Values)
        {
            _usedVnis.Add(vni);
        }
        foreach ((string host, SortedDictionary<string, string> addresses) in state.Underlay)
        {
            var used = UsedUnderlay(host);
            foreach (string address in addresses.Values)
            {
                used.Add(IpAddressValue.Parse(address).Value);
            }
        }
        foreach (string ip in state.PublicIps.Values)
        {
            _usedPublic.Add(IpAddressValue.Parse(ip));
        }
        foreach (NatGatewayAllocation gateway in state.NatGateways.Values)
        {
            foreach (string ip in gateway.Ips.Values)
            {
                _usedPublic.Add(IpAddressValue.Parse(ip));
            }
        }
    }

    /// <summary>Starts a round: nothing is marked as in use yet.</summary>
    public void BeginRound()
    {
        _touchedVnis.Clear();
        _touchedUnderlay.Clear();
        _touchedPublic.Clear();
        _touchedSlots.Clear();
        _touchedClaims.Clear();
        _changed = false;
        _refusedClaims = 0;
        _releasedClaims = 0;
    }

    /// <summary>The VNI of a network ("namespace/name"), allocated lowest-free from 200 on first use;
    /// null when every VNI is taken.</summary>
    public uint? Vni(string networkKey)
    {
        _touchedVnis.Add(networkKey);
        if (_state.Vnis.TryGetValue(networkKey, out uint vni))
        {
            return vni;
        }
        for (uint candidate = FirstVni; candidate <= LastVni; candidate++)
        {
            if (_usedVnis.Add(candidate))
            {
                _state.Vnis[networkKey] = candidate;
                _changed = true;
                return candidate;
            }
        }
        return null;
    }

    /// <summary>A uid for a network that has none in its manifest, generated once and kept.</summary>
    public string NetworkUid(string networkKey)
    {
        if (!_state.NetworkUids.TryGetValue(networkKey, out string? uid))
        {
            uid = Guid.NewGuid().ToString();
            _state.NetworkUids[networkKey] = uid;
            _changed = true;
        }
        return uid;
    }

    /// <summary>The underlay /128 of a receiving object on a host, allocated lowest-free from prefix::1.</summary>
    public IpAddressValue Underlay(string host, string objectKey)
    {
        _touchedUnderlay.Add((host, objectKey));
        if (!_state.Underlay.TryGetValue(host, out SortedDictionary<string, string>? addresses))
        {
            addresses = new SortedDictionary<string, string>(StringComparer.Ordinal);
            _state.Underlay[host] = addresses;
        }
        if (addresses.TryGetValue(objectKey, out string? existing))
        {
            return IpAddressValue.Parse(existing);
        }
        IpPrefixValue prefix = (_config.FindHost(host) ?? throw new ArgumentException($"unknown host {host}", nameof(host))).UnderlayPrefix;
        HashSet<UInt128> used = UsedUnderlay(host);
        // Offset 0 is the subnet-router anycast address; a /64 never runs out here.
        UInt128 offset = 1;
        while (used.Contains(prefix.Network + offset))
        {
            offset++;
        }
        IpAddressValue address = prefix.At(offset);
        used.Add(address.Value);
        addresses[objectKey] = address.ToString();
        _changed = true;
        return address;
    }

    /// <summary>A public IP for an object (a VirtualIP, a load balancer's family), lowest-free from the pools
    /// of the family; null when they are exhausted.</summary>
    public IpAddressValue? PublicIp(string objectKey, IpFamily family)
    {
        _touchedPublic.Add(objectKey);
        if (_state.PublicIps.TryGetValue(objectKey, out string? existing))
        {
            IpAddressValue ip = IpAddressValue.Parse(existing);
            if (ip.Version == (byte)family)
            {
                return ip;
            }
            // The object changed family: give the old address back.
            _state.PublicIps.Remove(objectKey);
            _usedPublic.Remove(ip);
            _changed = true;
        }
        IpAddressValue? fresh = TakePublicIp(family);
        if (fresh is IpAddressValue f)
        {
            _state.PublicIps[objectKey] = f.ToString();
            _changed = true;
        }
        return fresh;
    }

    /// <summary>The slot of one interface in a NAT gateway: 1024..65535 is cut into slots of
    /// <paramref name="portsPerInterface"/> ports; slot s is port range s mod n of public IP s / n, where n is
    /// floor(64512 / ports). New interfaces take the lowest free slot; public IPs are added as slots need
    /// them. Null when the pool has no address left for a needed IP.</summary>
    public NatSlot? NatSlot(string gatewayKey, IpFamily family, int portsPerInterface, string interfaceKey)
    {
        NatGatewayAllocation gateway = NatGateway(gatewayKey, family, portsPerInterface);
        HashSet<string> touched = _touchedSlots[gatewayKey];
        touched.Add(interfaceKey);
        int perIp = SlotsPerIp(portsPerInterface);
        if (!gateway.Slots.TryGetValue(interfaceKey, out int slot))
        {
            var taken = new HashSet<int>(gateway.Slots.Values);
            slot = 0;
            while (taken.Contains(slot))
            {
                slot++;
            }
            gateway.Slots[interfaceKey] = slot;
            _changed = true;
        }
        int ipIndex = slot / perIp;
        if (!gateway.Ips.TryGetValue(ipIndex, out string? ipText))
        {
            if (TakePublicIp(family) is not IpAddressValue fresh)
            {
                gateway.Slots.Remove(interfaceKey);
                touched.Remove(interfaceKey);
                return null;
            }
            ipText = fresh.ToString();
            gateway.Ips[ipIndex] = ipText;
            _changed = true;
        }
        uint first = FirstNatPort + (uint)(slot % perIp * portsPerInterface);
        return new NatSlot(IpAddressValue.Parse(ipText), first, first + (uint)portsPerInterface - 1);
    }

    /// <summary>The public IPs of a NAT gateway in use this round (its first IP always, so a gateway shows an
    /// address before any interface uses it), in index order.</summary>
    public IReadOnlyList<IpAddressValue> NatGatewayIps(string gatewayKey, IpFamily family, int portsPerInterface)
    {
        NatGatewayAllocation gateway = NatGateway(gatewayKey, family, portsPerInterface);
        int perIp = SlotsPerIp(portsPerInterface);
        var needed = new SortedSet<int> { 0 };
        foreach (string iface in _touchedSlots[gatewayKey])
        {
            needed.Add(gateway.Slots[iface] / perIp);
        }
        var ips = new List<IpAddressValue>();
        foreach (int index in needed)
        {
            if (gateway.Ips.TryGetValue(index, out string? ip))
            {
                ips.Add(IpAddressValue.Parse(ip));
            }
        }
        return ips;
    }

    public static int SlotsPerIp(int portsPerInterface) => (int)((LastNatPort - FirstNatPort + 1) / (uint)portsPerInterface);

    /// <summary>Claims <paramref name="scope"/> for <paramref name="owner"/>. The first owner keeps a claim as
    /// long as it asks for it every round; anyone else is refused and told who holds it.</summary>
    public bool TryClaim(string scope, string owner, out string holder)
    {
        if (_state.Claims.TryGetValue(scope, out string? current) && !string.Equals(current, owner, StringComparison.Ordinal))
        {
            // A holder that has not asked yet this round may still ask: the claim stays its own.
            holder = current;
            _refusedClaims++;
            return false;
        }
        if (current is null)
        {
            _state.Claims[scope] = owner;
            _changed = true;
        }
        _touchedClaims.Add(scope);
        holder = owner;
        return true;
    }

    /// <summary>Ends a round: releases every allocation and claim not asked for in it. Returns true when the
    /// persisted state changed during the round.</summary>
    public bool EndRound()
    {
        foreach (string key in _state.Vnis.Keys.Where(k => !_touchedVnis.Contains(k)).ToList())
        {
            _usedVnis.Remove(_state.Vnis[key]);
            _state.Vnis.Remove(key);
            _state.NetworkUids.Remove(key);
            _changed = true;
        }
        foreach ((string host, SortedDictionary<string, string> addresses) in _state.Underlay.ToList())
        {
            foreach (string key in addresses.Keys.Where(k => !_touchedUnderlay.Contains((host, k))).ToList())
            {
                UsedUnderlay(host).Remove(IpAddressValue.Parse(addresses[key]).Value);
                addresses.Remove(key);
                _changed = true;
            }
            if (addresses.Count == 0)
            {
                _state.Underlay.Remove(host);
            }
        }
        foreach (string key in _state.PublicIps.Keys.Where(k => !_touchedPublic.Contains(k)).ToList())
        {
            _usedPublic.Remove(IpAddressValue.Parse(_state.PublicIps[key]));
            _state.PublicIps.Remove(key);
            _changed = true;
        }
        foreach ((string key, NatGatewayAllocation gateway) in _state.NatGateways.ToList())
        {
            if (!_touchedSlots.TryGetValue(key, out HashSet<string>? touched))
            {
                foreach (string ip in gateway.Ips.Values)
                {
                    _usedPublic.Remove(IpAddressValue.Parse(ip));
                }
                _state.NatGateways.Remove(key);
                _changed = true;
                continue;
            }
            foreach (string iface in gateway.Slots.Keys.Where(k => !touched.Contains(k)).ToList())
            {
                gateway.Slots.Remove(iface);
                _changed = true;
            }
            int perIp = SlotsPerIp(gateway.PortsPerInterface);
            var needed = new HashSet<int>(gateway.Slots.Values.Select(s => s / perIp)) { 0 };
            foreach (int index in gateway.Ips.Keys.Where(i => !needed.Contains(i)).ToList())
            {
                _usedPublic.Remove(IpAddressValue.Parse(gateway.Ips[index]));
                gateway.Ips.Remove(index);
                _changed = true;
            }
        }
        foreach (string scope in _state.Claims.Keys.Where(k => !_touchedClaims.Contains(k)).ToList())
        {
            _state.Claims.Remove(scope);
            _releasedClaims++;
            _changed = true;
        }
        return _changed;
    }

    /// <summary>True after <see cref="EndRound"/> when a claim was refused in the round and some claim was
    /// released at its end: running the round again may grant the refused claim.</summary>
    public bool ShouldRepeatRound => _refusedClaims > 0 && _releasedClaims > 0;

    private NatGatewayAllocation NatGateway(string gatewayKey, IpFamily family, int portsPerInterface)
    {
        string familyName = family.ToString();
        if (!_state.NatGateways.TryGetValue(gatewayKey, out NatGatewayAllocation? gateway)
            || gateway.PortsPerInterface != portsPerInterface || gateway.Family != familyName)
        {
            if (gateway is not null)
            {
                // A new slot size or family reassigns everything: the old slots do not fit.
                foreach (string ip in gateway.Ips.Values)
                {
                    _usedPublic.Remove(IpAddressValue.Parse(ip));
                }
            }
            gateway = new NatGatewayAllocation { PortsPerInterface = portsPerInterface, Family = familyName };
            _state.NatGateways[gatewayKey] = gateway;
            _changed = true;
        }
        if (!_touchedSlots.ContainsKey(gatewayKey))
        {
            _touchedSlots[gatewayKey] = new HashSet<string>(StringComparer.Ordinal);
        }
        if (!gateway.Ips.ContainsKey(0) && TakePublicIp(family) is IpAddressValue first)
        {
            gateway.Ips[0] = first.ToString();
            _changed = true;
        }
        return gateway;
    }

    private HashSet<UInt128> UsedUnderlay(string host)
    {
        if (!_usedUnderlay.TryGetValue(host, out HashSet<UInt128>? used))
        {
            used = [];
            _usedUnderlay[host] = used;
        }
        return used;
    }

    /// <summary>Lowest free address of the family's pools, in pool order. IPv4 pools skip their network and
    /// broadcast addresses, IPv6 pools their subnet-router anycast address.</summary>
    private IpAddressValue? TakePublicIp(IpFamily family)
    {
        foreach (IpPrefixValue pool in _config.PublicPools)
        {
            if (pool.Version != (byte)family)
            {
                continue;
            }
            UInt128 size = pool.HostBits >= 127 ? UInt128.MaxValue : UInt128.One << pool.HostBits;
            UInt128 last = pool.Version == 4 ? size - 2 : size - 1;
            for (UInt128 offset = 1; offset <= last; offset++)
            {
                IpAddressValue candidate = pool.At(offset);
                if (_usedPublic.Add(candidate))
                {
                    return candidate;
                }
            }
        }
        return null;
    }
}
