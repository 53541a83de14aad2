using System.Text;
using MetalAgent.Model.V1;
using MetalAgent.Packets;
using MetalAgent.Tables.Exact;
using MetalAgent.Tables.Lpm;
using MetalAgent.Tables.Maglev;
using MetalAgent.Tables.Snapshot;

namespace MetalAgent.Compiler;

/// <summary>
/// Compiles a validated <see cref="HostSpec"/> into a <see cref="DataplaneSnapshot"/>.
/// Deterministic: the same spec (and the same previous result) always gives the same tables.
/// Incremental: ids of unchanged objects are kept, and per-VNI routing tables whose routes did
/// not change are reused from the previous result.
/// </summary>
public static class HostCompiler
{
    /// <summary>Compiles <paramref name="spec"/>, which must have passed validation.</summary>
    public static CompiledHost Compile(HostSpec spec, CompiledHost? previous = null)
    {
        var builder = new Builder(spec, previous);
        return builder.Build();
    }

    private sealed class Builder
    {
        private readonly HostSpec _spec;
        private readonly CompiledHost? _previous;

        public Builder(HostSpec spec, CompiledHost? previous)
        {
            _spec = spec;
            _previous = previous;
        }

        public CompiledHost Build()
        {
            HostSpec spec = _spec;
            CompiledHost? prev = _previous;

            // Ids.
            var portNames = new List<string>();
            foreach (InterfaceSpec i in spec.Interfaces)
            {
                portNames.Add(PortName(i));
            }
            foreach (UplinkSpec u in spec.Host.Uplinks)
            {
                portNames.Add(u.Name);
            }
            IdAllocator portIds = (prev?.PortIds ?? new IdAllocator()).Next(portNames);
            IdAllocator ifaceIds = (prev?.InterfaceIds ?? new IdAllocator()).Next(spec.Interfaces.Select(i => i.Id));
            IdAllocator vniIds = (prev?.VniIds ?? new IdAllocator()).Next(spec.Networks.Select(n => VniKey(n.Vni)));

            var ifaceById = new Dictionary<string, InterfaceSpec>(StringComparer.Ordinal);
            foreach (InterfaceSpec i in spec.Interfaces)
            {
                ifaceById[i.Id] = i;
            }

            // Ports.
            var ports = new PortEntry[portIds.Count];
            foreach (InterfaceSpec i in spec.Interfaces)
            {
                string name = PortName(i);
                ports[portIds[name]] = new PortEntry
                {
                    Present = true,
                    Kind = PortKind.Vm,
                    Interface = ifaceIds[i.Id],
                    GatewayMac = GatewayMac(name),
                    Name = name,
                };
            }
            foreach (UplinkSpec u in spec.Host.Uplinks)
            {
                ports[portIds[u.Name]] = new PortEntry { Present = true, Kind = PortKind.Uplink, Interface = -1, Name = u.Name };
            }
            FillHoles(ports, static p => p.Present, static () => new PortEntry { Interface = -1, Name = string.Empty });

            // Interfaces.
            var interfaces = new InterfaceEntry[ifaceIds.Count];
            foreach (InterfaceSpec i in spec.Interfaces)
            {
                interfaces[ifaceIds[i.Id]] = CompileInterface(i, portIds[PortName(i)], vniIds[VniKey(i.Vni)]);
            }
            FillHoles(interfaces, static i => i.Present, static () => new InterfaceEntry { Port = -1, Id = string.Empty, Hostname = string.Empty, PxeNextServer = string.Empty, PxeBootFile = string.Empty, AllowedSources = [] });

            // Next hops and routes per VNI.
            var routesByVni = CollectRoutes(spec, ifaceById);
            var nextHopKeys = new List<string>();
            foreach (List<RouteInput> routes in routesByVni.Values)
            {
                foreach (RouteInput r in routes)
                {
                    nextHopKeys.Add(r.NextHopKey);
                }
            }
            IdAllocator hopIds = (prev?.NextHopIds ?? new IdAllocator()).Next(nextHopKeys);
            var nextHops = new NextHop[hopIds.Count];
            foreach (List<RouteInput> routes in routesByVni.Values)
            {
                foreach (RouteInput r in routes)
                {
                    int id = hopIds[r.NextHopKey];
                    nextHops[id] = r.Kind switch
                    {
                        NextHopKind.Local => new NextHop { Kind = NextHopKind.Local, Interface = ifaceIds[r.Interface!] },
                        NextHopKind.Remote => new NextHop { Kind = NextHopKind.Remote, Interface = -1, Underlay = r.Underlay, Vni = r.NextHopVni },
                        _ => new NextHop { Kind = NextHopKind.Router, Interface = -1 },
                    };
                }
            }

            var vnis = new VniTable[vniIds.Count];
            var vniCache = new Dictionary<uint, CachedVni>();
            var vniEntries = new List<KeyValuePair<uint, int>>();
            foreach (NetworkSpec n in spec.Networks)
            {
                int id = vniIds[VniKey(n.Vni)];
                List<RouteInput> routes = routesByVni.TryGetValue(n.Vni, out List<RouteInput>? r) ? r : [];
                string signature = Signature(routes, hopIds);
                if (prev is not null && prev.VniCache.TryGetValue(n.Vni, out CachedVni? cached) && cached.Signature == signature)
                {
                    vnis[id] = cached.Table;
                }
                else
                {
                    vnis[id] = BuildVni(n.Vni, routes, hopIds);
                }
                vniCache[n.Vni] = new CachedVni(signature, vnis[id]);
                vniEntries.Add(new KeyValuePair<uint, int>(n.Vni, id));
            }
            VniTable empty = prev?.EmptyVni ?? BuildVni(0, [], hopIds);
            for (int i = 0; i < vnis.Length; i++)
            {
                vnis[i] ??= empty;
            }

            // Underlay /128s of this host.
            var underlay = new List<KeyValuePair<UInt128, UnderlayTarget>>();
            foreach (InterfaceSpec i in spec.Interfaces)
            {
                int id = ifaceIds[i.Id];
                int vni = vniIds[VniKey(i.Vni)];
                AddUnderlay(underlay, i.UnderlayAddress, UnderlayTargetKind.Interface, vni, id);
                foreach (RoutedPrefixSpec p in i.Prefixes)
                {
                    AddUnderlay(underlay, p.UnderlayAddress, UnderlayTargetKind.Prefix, vni, id);
                }
                foreach (RoutedPrefixSpec p in i.LbAliasPrefixes)
                {
                    AddUnderlay(underlay, p.UnderlayAddress, UnderlayTargetKind.LbAlias, vni, id);
                }
                if (i.VirtualIpv4 is { } v4)
                {
                    AddUnderlay(underlay, v4.UnderlayAddress, UnderlayTargetKind.VirtualIp, vni, id);
                }
                if (i.VirtualIpv6 is { } v6)
                {
                    AddUnderlay(underlay, v6.UnderlayAddress, UnderlayTargetKind.VirtualIp, vni, id);
                }
                if (i.NatIpv4 is { } n4)
                {
                    AddUnderlay(underlay, n4.UnderlayAddress, UnderlayTargetKind.NatSlice, vni, id);
                }
                if (i.NatIpv6 is { } n6)
                {
                    AddUnderlay(underlay, n6.UnderlayAddress, UnderlayTargetKind.NatSlice, vni, id);
                }
            }

            // Load balancers.
            IdAllocator lbIds = (prev?.LoadBalancerIds ?? new IdAllocator()).Next(spec.LoadBalancers.Select(l => l.Id));
            var aliasOwner = new Dictionary<UInt128, int>();
            foreach (InterfaceSpec i in spec.Interfaces)
            {
                foreach (RoutedPrefixSpec p in i.LbAliasPrefixes)
                {
                    if (!string.IsNullOrEmpty(p.UnderlayAddress))
                    {
                        aliasOwner[ParseIp(p.UnderlayAddress)] = ifaceIds[i.Id];
                    }
                }
            }
            var loadBalancers = new LoadBalancerEntry[lbIds.Count];
            var lbIndex = new List<KeyValuePair<VniAddressKey, int>>();
            var maglevCache = new Dictionary<string, CachedMaglev>(StringComparer.Ordinal);
            foreach (LoadBalancerSpec lb in spec.LoadBalancers)
            {
                int id = lbIds[lb.Id];
                int vniId = vniIds.TryGet(VniKey(lb.Vni), out int v) ? v : -1;
                UInt128[] targets = lb.Targets.Select(ParseIp).Distinct().Order().ToArray();
                string signature = string.Join(',', targets.Select(t => t.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                MaglevTable maglev = prev is not null && prev.MaglevCache.TryGetValue(lb.Id, out CachedMaglev? cachedMaglev) && cachedMaglev.Signature == signature
                    ? cachedMaglev.Table
                    : MaglevTable.Build(targets);
                maglevCache[lb.Id] = new CachedMaglev(signature, maglev);
                int[] local = new int[maglev.TargetCount];
                for (int t = 0; t < local.Length; t++)
                {
                    local[t] = aliasOwner.TryGetValue(maglev.Target(t), out int owner) ? owner : -1;
                }
                var ips = new List<(byte, UInt128)>();
                foreach (string ip in lb.Ips)
                {
                    (byte version, UInt128 value) = ParseIpWithVersion(ip);
                    ips.Add((version, value));
                    lbIndex.Add(new(new VniAddressKey(lb.Vni, version, value), id));
                }
                loadBalancers[id] = new LoadBalancerEntry
                {
                    Id = lb.Id,
                    VniId = vniId,
                    Vni = lb.Vni,
                    Underlay = ParseIp(lb.UnderlayAddress),
                    Ips = ips.ToArray(),
                    Ports = lb.Ports.Select(p => new LbPortRange
                    {
                        Protocol = p.Protocol == Protocol.Unspecified ? (byte)6 : (byte)p.Protocol,
                        First = (ushort)p.Port,
                        Last = (ushort)(p.EndPort == 0 ? p.Port : p.EndPort),
                    }).ToArray(),
                    Maglev = maglev,
                    LocalTarget = local,
                };
                AddUnderlay(underlay, lb.UnderlayAddress, UnderlayTargetKind.LoadBalancer, vniId, id);
            }
            for (int i = 0; i < loadBalancers.Length; i++)
            {
                loadBalancers[i] ??= new LoadBalancerEntry
                {
                    Id = string.Empty, VniId = -1, Vni = 0, Underlay = 0, Ips = [], Ports = [], Maglev = MaglevTable.Build([]), LocalTarget = [],
                };
            }

            // NAT slices, local and neighbors', by public IP.
            var natSlices = new SortedDictionary<(byte, UInt128), List<NatRange>>();
            void AddSlice(string publicIp, uint first, uint last, int iface, string owner, uint vni)
            {
                (byte version, UInt128 ip) = ParseIpWithVersion(publicIp);
                if (!natSlices.TryGetValue((version, ip), out List<NatRange>? list))
                {
                    natSlices[(version, ip)] = list = [];
                }
                list.Add(new NatRange { First = (ushort)first, Last = (ushort)last, Interface = iface, Owner = ParseIp(owner), Vni = vni });
            }
            foreach (InterfaceSpec i in spec.Interfaces)
            {
                if (i.NatIpv4 is { } n4)
                {
                    AddSlice(n4.PublicIp, n4.FirstPort, n4.LastPort, ifaceIds[i.Id], n4.UnderlayAddress, i.Vni);
                }
                if (i.NatIpv6 is { } n6)
                {
                    AddSlice(n6.PublicIp, n6.FirstPort, n6.LastPort, ifaceIds[i.Id], n6.UnderlayAddress, i.Vni);
                }
            }
            foreach (NeighborNatSpec n in spec.NeighborNats)
            {
                AddSlice(n.PublicIp, n.FirstPort, n.LastPort, -1, n.OwnerUnderlay, n.Vni);
            }

            int uplinkPort = spec.Host.Uplinks.Count > 0 ? portIds[spec.Host.Uplinks[0].Name] : -1;
            ushort mtu = spec.Host.Mtu == 0 ? (ushort)1500 : (ushort)spec.Host.Mtu;
            ulong gatewayMac = spec.Host.Uplinks.Count > 0 ? ParseMac(spec.Host.Uplinks[0].GatewayMac) : 0;
            var host = new HostTable
            {
                Name = spec.Host.Name,
                UnderlayPrefix = ParsePrefixNetwork(spec.Host.UnderlayPrefix),
                RouterUnderlay = ParseIp(spec.Host.RouterUnderlayAddress),
                UplinkPort = uplinkPort,
                GatewayAddress = spec.Host.Uplinks.Count > 0 ? ParseIp(spec.Host.Uplinks[0].GatewayAddress) : UInt128.Zero,
                GatewayMac = gatewayMac,
                Mtu = mtu,
                UnderlayMtu = spec.Host.UnderlayMtu == 0 ? (ushort)(mtu + 40) : (ushort)spec.Host.UnderlayMtu,
                DnsServers4 = spec.Host.DnsServers.Select(ParseIpWithVersion).Where(a => a.Version == 4).Select(a => (uint)a.Value).ToArray(),
                DnsServers6 = spec.Host.DnsServers.Select(ParseIpWithVersion).Where(a => a.Version == 6).Select(a => a.Value).ToArray(),
            };

            var policyCache = new Dictionary<string, object>(StringComparer.Ordinal);
            InterfacePolicy[] policies = PolicyCompiler.Compile(spec, ifaceIds, prev?.PolicyCache, policyCache);

            var snapshot = new DataplaneSnapshot
            {
                Version = spec.Version,
                Host = host,
                Ports = ports,
                Interfaces = interfaces,
                Vnis = vnis,
                NextHops = nextHops,
                VniIndex = VniIndexTable.Build(vniEntries),
                Underlay = UnderlayTable.Build(underlay),
                LoadBalancers = loadBalancers,
                LoadBalancerIndex = LoadBalancerIndexTable.Build(lbIndex),
                Nat = NatTable.Build(natSlices),
                Policies = policies,
            };
            return new CompiledHost(snapshot, portIds, ifaceIds, vniIds, hopIds, lbIds, vniCache, maglevCache, policyCache, empty);
        }

        private static InterfaceEntry CompileInterface(InterfaceSpec i, int port, int vniId)
        {
            var entry = new InterfaceEntry
            {
                Present = true,
                Port = port,
                VniId = vniId,
                Vni = i.Vni,
                Id = i.Id,
                Hostname = i.Hostname,
                PxeNextServer = i.Pxe?.NextServer ?? string.Empty,
                PxeBootFile = i.Pxe?.BootFile ?? string.Empty,
                IngressPolicy = i.IngressPolicy,
                EgressPolicy = i.EgressPolicy,
                Underlay = ParseIp(i.UnderlayAddress),
            };
            if (!string.IsNullOrEmpty(i.Ipv4))
            {
                entry.HasIPv4 = true;
                entry.IPv4 = (uint)ParseIp(i.Ipv4);
            }
            if (!string.IsNullOrEmpty(i.Ipv6))
            {
                entry.HasIPv6 = true;
                entry.IPv6 = ParseIp(i.Ipv6);
            }
            if (Addresses.TryParseMac(i.Mac, out ulong mac))
            {
                entry.PinnedMac = mac;
            }
            if (i.VirtualIpv4 is { } v4)
            {
                entry.Vip4 = new VirtualIpEntry { Present = true, Ip = ParseIp(v4.Ip), Underlay = ParseIp(v4.UnderlayAddress) };
            }
            if (i.VirtualIpv6 is { } v6)
            {
                entry.Vip6 = new VirtualIpEntry { Present = true, Ip = ParseIp(v6.Ip), Underlay = ParseIp(v6.UnderlayAddress) };
            }
            if (i.NatIpv4 is { } n4)
            {
                entry.Nat4 = Nat(n4);
            }
            if (i.NatIpv6 is { } n6)
            {
                entry.Nat6 = Nat(n6);
            }
            var sources = new List<SourcePrefix>();
            foreach (RoutedPrefixSpec p in i.Prefixes.Concat(i.LbAliasPrefixes))
            {
                sources.Add(ParsePrefix(p.Prefix));
            }
            entry.AllowedSources = sources.ToArray();
            return entry;
        }

        private static NatSliceEntry Nat(NatSliceSpec n) => new()
        {
            Present = true,
            PublicIp = ParseIp(n.PublicIp),
            FirstPort = (ushort)n.FirstPort,
            LastPort = (ushort)n.LastPort,
            Underlay = ParseIp(n.UnderlayAddress),
        };

        /// <summary>Routes of every local VNI, in a deterministic order.</summary>
        private static SortedDictionary<uint, List<RouteInput>> CollectRoutes(HostSpec spec, Dictionary<string, InterfaceSpec> ifaceById)
        {
            var byVni = new SortedDictionary<uint, List<RouteInput>>();
            var networks = new Dictionary<uint, NetworkSpec>();
            foreach (NetworkSpec n in spec.Networks)
            {
                networks[n.Vni] = n;
                byVni[n.Vni] = [];
            }

            // Each interface's own addresses and routed prefixes, in its VNI and in the VNIs peered with it.
            foreach (InterfaceSpec i in spec.Interfaces.OrderBy(i => i.Id, StringComparer.Ordinal))
            {
                var prefixes = new List<string>();
                if (!string.IsNullOrEmpty(i.Ipv4))
                {
                    prefixes.Add(i.Ipv4 + "/32");
                }
                if (!string.IsNullOrEmpty(i.Ipv6))
                {
                    prefixes.Add(i.Ipv6 + "/128");
                }
                prefixes.AddRange(i.Prefixes.Select(p => p.Prefix));
                foreach (string p in prefixes)
                {
                    byVni[i.Vni].Add(RouteInput.Local(p, i.Id));
                }
                foreach (NetworkSpec n in spec.Networks)
                {
                    foreach (PeeringSpec peering in n.Peerings)
                    {
                        if (peering.PeerVni != i.Vni || !MutuallyPeered(networks, n.Vni, i.Vni))
                        {
                            continue;
                        }
                        foreach (string p in prefixes)
                        {
                            if (Exported(peering, p))
                            {
                                byVni[n.Vni].Add(RouteInput.Local(p, i.Id));
                            }
                        }
                    }
                }
            }
            foreach (RemoteRouteSpec r in spec.Routes)
            {
                if (byVni.TryGetValue(r.Vni, out List<RouteInput>? list))
                {
                    list.Add(RouteInput.Remote(r.Prefix, ParseIp(r.NextHopUnderlay), r.NextHopVni == 0 ? r.Vni : r.NextHopVni));
                }
            }
            if (!string.IsNullOrEmpty(spec.Host.RouterUnderlayAddress))
            {
                foreach (List<RouteInput> list in byVni.Values)
                {
                    list.Add(RouteInput.Router("0.0.0.0/0"));
                    list.Add(RouteInput.Router("::/0"));
                }
            }
            foreach (List<RouteInput> list in byVni.Values)
            {
                list.Sort(static (a, b) => string.CompareOrdinal(a.Prefix, b.Prefix) is var c && c != 0 ? c : string.CompareOrdinal(a.NextHopKey, b.NextHopKey));
            }
            return byVni;
        }

        private static bool MutuallyPeered(Dictionary<uint, NetworkSpec> networks, uint a, uint b)
        {
            // A peering is in force when both sides list each other; a peer whose network is not on
            // this host cannot say, so the local side's listing is taken as the control plane's word.
            if (!networks.TryGetValue(b, out NetworkSpec? peer))
            {
                return true;
            }
            foreach (PeeringSpec p in peer.Peerings)
            {
                if (p.PeerVni == a)
                {
                    return true;
                }
            }
            return false;
        }

        private static bool Exported(PeeringSpec peering, string prefix)
        {
            if (peering.ExportedPrefixes.Count == 0)
            {
                return true;
            }
            SourcePrefix route = ParsePrefix(prefix);
            foreach (string filter in peering.ExportedPrefixes)
            {
                SourcePrefix allowed = ParsePrefix(filter);
                if (allowed.Length <= route.Length && allowed.Contains(route.IpVersion, route.Network))
                {
                    return true;
                }
            }
            return false;
        }

        private static string Signature(List<RouteInput> routes, IdAllocator hopIds)
        {
            var b = new StringBuilder();
            foreach (RouteInput r in routes)
            {
                b.Append(r.Prefix).Append('>').Append(hopIds[r.NextHopKey]).Append(';');
            }
            return b.ToString();
        }

        private static VniTable BuildVni(uint vni, List<RouteInput> routes, IdAllocator hopIds)
        {
            var v4 = new List<Lpm4Route>();
            var v6 = new List<Lpm6Route>();
            foreach (RouteInput r in routes)
            {
                SourcePrefix prefix = ParsePrefix(r.Prefix);
                uint hop = (uint)hopIds[r.NextHopKey];
                if (prefix.IpVersion == 4)
                {
                    v4.Add(new Lpm4Route((uint)prefix.Network, prefix.Length, hop));
                }
                else
                {
                    v6.Add(new Lpm6Route(prefix.Network, prefix.Length, hop));
                }
            }
            return new VniTable
            {
                Vni = vni,
                Routes4 = Lpm4Table.Build(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(v4)),
                Routes6 = Lpm6Table.Build(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(v6)),
            };
        }

        private static void AddUnderlay(List<KeyValuePair<UInt128, UnderlayTarget>> list, string address, UnderlayTargetKind kind, int vni, int target)
        {
            if (!string.IsNullOrEmpty(address))
            {
                list.Add(new KeyValuePair<UInt128, UnderlayTarget>(ParseIp(address), new UnderlayTarget { Kind = kind, VniId = vni, Target = target }));
            }
        }
    }

    internal static string PortName(InterfaceSpec i) => string.IsNullOrEmpty(i.Port) ? i.Id : i.Port;

    private static string VniKey(uint vni) => vni.ToString("D8", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The virtual gateway's MAC on a port: locally administered, derived from the port name
    /// so every restart and every host gives the same MAC.</summary>
    public static ulong GatewayMac(string portName)
    {
        ulong h = FlowHash.Hash(Encoding.UTF8.GetBytes("gateway:" + portName));
        return 0x0200_0000_0000UL | (h & 0x00FF_FFFF_FFFFUL);
    }

    private static UInt128 ParseIp(string text) => Addresses.TryParseIp(text, out _, out UInt128 v) ? v : UInt128.Zero;

    private static (byte Version, UInt128 Value) ParseIpWithVersion(string text) =>
        Addresses.TryParseIp(text, out byte version, out UInt128 v) ? (version, v) : ((byte)0, UInt128.Zero);

    /// <summary>Parses a prefix of a validated spec; host bits are masked.</summary>
    private static SourcePrefix ParsePrefix(string text) =>
        Addresses.TryParsePrefix(text, out byte version, out UInt128 network, out byte length, out _)
            ? new SourcePrefix { IpVersion = version, Network = network, Length = length }
            : throw new ArgumentException($"not a prefix: '{text}' (the spec was not validated)", nameof(text));

    private static ulong ParseMac(string text) => Addresses.TryParseMac(text, out ulong mac) ? mac : 0;

    private static UInt128 ParsePrefixNetwork(string text) =>
        Addresses.TryParsePrefix(text, out _, out UInt128 network, out _, out _) ? network : UInt128.Zero;

    private static void FillHoles<T>(T[] array, Func<T, bool> present, Func<T> hole)
    {
        for (int i = 0; i < array.Length; i++)
        {
            if (!present(array[i]))
            {
                array[i] = hole();
            }
        }
    }

    private sealed record RouteInput(string Prefix, NextHopKind Kind, string? Interface, UInt128 Underlay, uint NextHopVni, string NextHopKey)
    {
        public static RouteInput Local(string prefix, string iface) => new(prefix, NextHopKind.Local, iface, 0, 0, "local:" + iface);

        public static RouteInput Remote(string prefix, UInt128 underlay, uint vni) =>
            new(prefix, NextHopKind.Remote, null, underlay, vni, "remote:" + vni.ToString(System.Globalization.CultureInfo.InvariantCulture) + ":" + Addresses.FormatIPv6(underlay));

        public static RouteInput Router(string prefix) => new(prefix, NextHopKind.Router, null, 0, 0, "router");
    }
}

internal sealed record CachedVni(string Signature, VniTable Table);

internal sealed record CachedMaglev(string Signature, MaglevTable Table);
