using System.Buffers.Binary;
using MetalAgent.Backends;
using MetalAgent.ControlPlane.V1;
using MetalAgent.Dataplane.Stages;
using MetalAgent.Packets;
using MetalAgent.Tables.Exact;

namespace MetalAgent.Agent.Router;

/// <summary>
/// IronCore's underlay router, frame by frame, between two links (port 0 the underlay, port 1 the
/// internet): IP-in-IPv6 to its underlay address is decapsulated and the inner packet routed to
/// the internet link; packets from the internet for a public IP of the router view are
/// encapsulated to the /128 that owns the IP (outer source its underlay address, flow label from
/// the inner flow, hop limit 64) and sent to the underlay next hop. It owns its addresses on both
/// links (answers ARP, neighbor solicitations and echo for them) and resolves its next hops itself;
/// a frame whose next hop's MAC is not known yet waits in <see cref="PendingFrames"/>. TTL and hop
/// limit are decremented both ways. Independent of Linux (ports are the worker's business); used by
/// one thread; allocation-free per frame.
/// </summary>
public sealed class RouterPipeline
{
    public const int UnderlayPort = 0;
    public const int InternetPort = 1;

    /// <summary>Seconds between re-resolutions of a configured next hop that answers.</summary>
    public const long RefreshInterval = 30;

    private const int OuterLength = PacketWriter.EthernetHeaderLength + PacketWriter.IPv6HeaderLength;

    private readonly RouterSpec _spec;
    private readonly ulong _underlayMac;
    private readonly ulong _internetMac;
    private readonly NeighborState _underlayNeighbors = new();
    private readonly NeighborState _internetNeighbors = new();
    private readonly PendingFrames _pending = new();
    private PublicIpTable _table = PublicIpTable.Empty;
    private long _lastTimer = long.MinValue;

    public RouterPipeline(RouterSpec spec, ulong underlayMac, ulong internetMac)
    {
        _spec = spec;
        _underlayMac = underlayMac;
        _internetMac = internetMac;
    }

    public RouterSpec Spec => _spec;

    public RouterCounters Counters { get; } = new();

    /// <summary>Frames to send besides forwarded ones; the worker drains it after every round.</summary>
    public OutputFrames Output { get; } = new();

    /// <summary>Frames waiting for a next hop's MAC.</summary>
    public int PendingCount => _pending.Count;

    /// <summary>The compiled router view; replaced whole (one reference swap) by the view client.</summary>
    public PublicIpTable Table
    {
        get => Volatile.Read(ref _table);
        set => Volatile.Write(ref _table, value ?? throw new ArgumentNullException(nameof(value)));
    }

    /// <summary>The known MAC of a next hop on a port (0: unknown), for status and tests.</summary>
    public ulong NeighborMac(int port, byte version, UInt128 ip, long now)
    {
        if (port == UnderlayPort && _spec.UnderlayGatewayMac != 0 && ip == _spec.UnderlayGateway)
        {
            return _spec.UnderlayGatewayMac;
        }
        return Neighbors(port).TryGet(version, ip, now, out ulong mac, out _) ? mac : 0;
    }

    /// <summary>Decides one received frame (<c>packet.Port</c> is the port it came in on). Forwarded
    /// frames are rewritten in place; answers replace the request in its buffer.</summary>
    public RouterVerdict Process(PacketPool pool, ref PacketDescriptor packet, long now)
    {
        Span<byte> frame = pool.Frame(packet);
        var h = default(PacketHeaders);
        if (PacketParser.ParseEthernet(frame, ref h) != ParseError.None)
        {
            return RouterVerdict.Drop(RouterDropReason.Malformed);
        }
        if ((h.Flags & PacketFlags.Vlan) != 0)
        {
            return RouterVerdict.Drop(RouterDropReason.VlanTagged);
        }
        return packet.Port == UnderlayPort
            ? FromUnderlay(pool, ref packet, ref h, now)
            : FromInternet(pool, ref packet, ref h, now);
    }

    /// <summary>Once per clock second: drops frames that waited too long, asks again for the next hops
    /// frames still wait for, and keeps the configured next hops resolved (at once, then every
    /// <see cref="RefreshInterval"/> seconds). Frames go to <see cref="Output"/>.</summary>
    public void RunTimers(PacketPool pool, long now)
    {
        if (now == _lastTimer)
        {
            return;
        }
        _lastTimer = now;
        _pending.Expire(now, pool, Counters);
        for (int i = 0; i < _pending.Count; i++)
        {
            (int port, byte version, UInt128 nextHop) = _pending.WaitingFor(i);
            RequestIfDue(pool, port, version, nextHop, now);
        }
        if (_spec.UnderlayGatewayMac == 0)
        {
            KeepResolved(pool, UnderlayPort, 6, _spec.UnderlayGateway, now);
        }
        if (_spec.InternetGatewayIPv4 != 0)
        {
            KeepResolved(pool, InternetPort, 4, _spec.InternetGatewayIPv4, now);
        }
        if (_spec.InternetGatewayIPv6 != UInt128.Zero)
        {
            KeepResolved(pool, InternetPort, 6, _spec.InternetGatewayIPv6, now);
        }
    }

    // ---- underlay side ----------------------------------------------------------------------

    private RouterVerdict FromUnderlay(PacketPool pool, ref PacketDescriptor packet, ref PacketHeaders h, long now)
    {
        if (h.IpVersion != 6)
        {
            return RouterVerdict.Drop(RouterDropReason.NotForRouter);
        }
        if (h.Protocol is IpProtocols.IPv4InIp or IpProtocols.IPv6InIp)
        {
            return Decapsulate(pool, ref packet, ref h, now);
        }
        if (h.Protocol == IpProtocols.IcmpV6)
        {
            return Icmp6(pool, ref packet, ref h, UnderlayPort, now);
        }
        return RouterVerdict.Drop(RouterDropReason.NotForRouter);
    }

    private RouterVerdict Decapsulate(PacketPool pool, ref PacketDescriptor packet, ref PacketHeaders outer, long now)
    {
        if (outer.DstIp != _spec.UnderlayAddress)
        {
            return RouterVerdict.Drop(RouterDropReason.UnknownUnderlayDestination);
        }
        Span<byte> frame = pool.Frame(packet);
        var inner = default(PacketHeaders);
        if (PacketParser.ParseIp(frame[..outer.L3End], outer.L4Offset, ref inner) != ParseError.None)
        {
            return RouterVerdict.Drop(RouterDropReason.InnerMalformed);
        }
        if (inner.IpVersion != (outer.Protocol == IpProtocols.IPv4InIp ? 4 : 6))
        {
            return RouterVerdict.Drop(RouterDropReason.InnerFamilyMismatch);
        }
        // Only public sources leave: tenant addresses never reach the internet.
        if (!Table.TryGet(inner.IpVersion, inner.SrcIp, out _))
        {
            return RouterVerdict.Drop(RouterDropReason.SourceNotPublic);
        }
        if (inner.Ttl <= 1)
        {
            return RouterVerdict.Drop(RouterDropReason.TtlExpired);
        }
        if (!TryInternetNextHop(inner.IpVersion, inner.DstIp, out UInt128 nextHop))
        {
            return RouterVerdict.Drop(RouterDropReason.NoInternetRoute);
        }
        Ttl.Decrement(frame, in inner);
        // The new Ethernet header goes over the end of the outer IPv6 header: no copy.
        int start = inner.L3Offset - PacketWriter.EthernetHeaderLength;
        PacketWriter.WriteEthernet(frame[start..], 0, _internetMac, inner.IpVersion == 4 ? EtherTypes.IPv4 : EtherTypes.IPv6);
        packet.Offset += start;
        packet.Length = PacketWriter.EthernetHeaderLength + inner.L3End - inner.L3Offset;
        Counters.Decapsulated();
        return SendTo(pool, ref packet, InternetPort, inner.IpVersion, nextHop, now);
    }

    private bool TryInternetNextHop(byte version, UInt128 destination, out UInt128 nextHop)
    {
        if (IsOwnInternetAddress(version, destination))
        {
            nextHop = UInt128.Zero;
            return false;
        }
        if (_spec.OnInternetLink(version, destination))
        {
            nextHop = destination;
            return true;
        }
        nextHop = version == 4 ? _spec.InternetGatewayIPv4 : _spec.InternetGatewayIPv6;
        return nextHop != UInt128.Zero;
    }

    // ---- internet side ----------------------------------------------------------------------

    private RouterVerdict FromInternet(PacketPool pool, ref PacketDescriptor packet, ref PacketHeaders h, long now)
    {
        if (h.EtherType == EtherTypes.Arp)
        {
            return Arp(pool, ref packet, ref h, now);
        }
        byte version = h.IpVersion;
        if (version == 6 && h.Protocol == IpProtocols.IcmpV6 && (h.Flags & PacketFlags.HasL4) != 0
            && h.IcmpType is IcmpTypes.NeighborSolicitation or IcmpTypes.NeighborAdvertisement)
        {
            return Icmp6(pool, ref packet, ref h, InternetPort, now);
        }
        if (IsOwnInternetAddress(version, h.DstIp))
        {
            if (IsEchoRequest(in h))
            {
                RouterFrames.AnswerEcho(pool.Frame(packet), in h, _internetMac);
                Counters.Answered();
                return RouterVerdict.Forward(InternetPort);
            }
            return RouterVerdict.Drop(RouterDropReason.NotForRouter);
        }
        if (IsMulticastOrBroadcast(version, h.DstIp))
        {
            return RouterVerdict.Drop(RouterDropReason.NotForRouter);
        }
        PublicIpTable table = Table;
        if (!table.TryGet(version, h.DstIp, out PublicIpEntry entry))
        {
            return RouterVerdict.Drop(RouterDropReason.UnknownPublicIp);
        }
        Span<byte> frame = pool.Frame(packet);
        UInt128 owner;
        if (entry.Kind == PublicIpKind.NatGateway)
        {
            if (!TryNatPort(frame, in h, out ushort port))
            {
                return RouterVerdict.Drop(RouterDropReason.NatFragment);
            }
            owner = table.SelectOwner(in entry, port, 0);
        }
        else
        {
            // Later fragments carry no ports: hash without them whenever the datagram is fragmented,
            // so all its fragments reach the same owner.
            bool ports = (h.Flags & (PacketFlags.Fragment | PacketFlags.HasL4)) == PacketFlags.HasL4;
            ulong hash = FlowHash.HashFlowSymmetric(h.SrcIp, h.DstIp, ports ? h.SrcPort : (ushort)0, ports ? h.DstPort : (ushort)0, h.Protocol, version);
            owner = table.SelectOwner(in entry, 0, hash);
        }
        if (owner == UInt128.Zero)
        {
            return RouterVerdict.Drop(RouterDropReason.NoOwner);
        }
        if (h.Ttl <= 1)
        {
            return RouterVerdict.Drop(RouterDropReason.TtlExpired);
        }
        int innerLength = h.L3End - h.L3Offset;
        if (_spec.UnderlayMtu > 0 && innerLength + PacketWriter.IPv6HeaderLength > _spec.UnderlayMtu)
        {
            return RouterVerdict.Drop(RouterDropReason.TooBigForUnderlay);
        }
        int start = packet.Offset + h.L3Offset - OuterLength;
        if (start < 0)
        {
            return RouterVerdict.Drop(RouterDropReason.NoBuffer);
        }
        uint flowLabel = EncapStage.FlowLabel(in h);
        Ttl.Decrement(frame, in h);
        Span<byte> outer = pool.Buffer(packet.Buffer).Slice(start, OuterLength);
        PacketWriter.WriteEthernet(outer, 0, _underlayMac, EtherTypes.IPv6);
        Span<byte> ip6 = outer[PacketWriter.EthernetHeaderLength..];
        BinaryPrimitives.WriteUInt32BigEndian(ip6, (6u << 28) | flowLabel);
        BinaryPrimitives.WriteUInt16BigEndian(ip6[4..], (ushort)innerLength);
        ip6[6] = version == 4 ? IpProtocols.IPv4InIp : IpProtocols.IPv6InIp;
        ip6[7] = PacketWriter.UnderlayHopLimit;
        BinaryPrimitives.WriteUInt128BigEndian(ip6[8..], _spec.UnderlayAddress);
        BinaryPrimitives.WriteUInt128BigEndian(ip6[24..], owner);
        packet.Offset = start;
        packet.Length = OuterLength + innerLength;
        Counters.Encapsulated();
        return SendTo(pool, ref packet, UnderlayPort, 6, _spec.UnderlayGateway, now);
    }

    /// <summary>The port that names a NAT slice: the destination port (echo: the identifier); for an
    /// ICMP error, the source port of the quoted packet (which left from the NAT IP). False for later
    /// fragments and errors quoting too little.</summary>
    private static bool TryNatPort(ReadOnlySpan<byte> frame, in PacketHeaders h, out ushort port)
    {
        port = 0;
        if ((h.Flags & PacketFlags.HasL4) == 0)
        {
            return false;
        }
        if (IcmpErrorStage.IsError(in h))
        {
            var quoted = default(PacketHeaders);
            if (PacketParser.ParseQuotedIp(frame[..h.L3End], h.L4Offset + PacketWriter.IcmpHeaderLength, ref quoted) != ParseError.None
                || (quoted.Flags & PacketFlags.HasL4) == 0)
            {
                return false;
            }
            port = quoted.SrcPort;
            return true;
        }
        port = h.DstPort;
        return true;
    }

    private bool IsOwnInternetAddress(byte version, UInt128 ip) =>
        version == 4 ? _spec.HasIPv4 && (uint)ip == _spec.InternetIPv4 : _spec.HasIPv6 && ip == _spec.InternetIPv6;

    private bool IsMulticastOrBroadcast(byte version, UInt128 ip)
    {
        if (version == 6)
        {
            return (byte)(ip >> 120) == 0xFF;
        }
        uint v4 = (uint)ip;
        uint host = _spec.InternetIPv4PrefixLength is 0 or >= 31 ? 0 : uint.MaxValue >> _spec.InternetIPv4PrefixLength;
        return (v4 >> 28) == 0xE || v4 == uint.MaxValue || (host != 0 && _spec.OnInternetLink(4, ip) && (v4 & host) == host);
    }

    private static bool IsEchoRequest(in PacketHeaders h) =>
        (h.Flags & (PacketFlags.HasL4 | PacketFlags.Fragment)) == PacketFlags.HasL4
        && ((h.Protocol == IpProtocols.Icmp && h.IcmpType == IcmpTypes.EchoRequest) || (h.Protocol == IpProtocols.IcmpV6 && h.IcmpType == IcmpTypes.V6EchoRequest));

    // ---- neighbors ---------------------------------------------------------------------------

    private NeighborState Neighbors(int port) => port == UnderlayPort ? _underlayNeighbors : _internetNeighbors;

    private ulong OwnMac(int port) => port == UnderlayPort ? _underlayMac : _internetMac;

    /// <summary>The router's IPv6 address on a port (0: none).</summary>
    private UInt128 OwnIPv6(int port) => port == UnderlayPort ? _spec.UnderlayAddress : _spec.InternetIPv6;

    /// <summary>Neighbors worth remembering: the underlay next hop (unless pinned) and anything on the
    /// internet link but the router itself.</summary>
    private bool IsUsefulNeighbor(int port, byte version, UInt128 ip) =>
        port == UnderlayPort
            ? version == 6 && ip == _spec.UnderlayGateway && _spec.UnderlayGatewayMac == 0
            : ip != UInt128.Zero && _spec.OnInternetLink(version, ip) && !IsOwnInternetAddress(version, ip);

    private void Learn(PacketPool pool, int port, byte version, UInt128 ip, ulong mac, long now)
    {
        if (mac == 0 || (mac & 0x0100_0000_0000) != 0 || !IsUsefulNeighbor(port, version, ip))
        {
            return;
        }
        Neighbors(port).Learn(version, ip, mac, now);
        _pending.Release(port, version, ip, mac, pool, Output, Counters);
    }

    private RouterVerdict Icmp6(PacketPool pool, ref PacketDescriptor packet, ref PacketHeaders h, int port, long now)
    {
        if ((h.Flags & PacketFlags.HasL4) == 0)
        {
            return RouterVerdict.Drop(RouterDropReason.NeighborMalformed);
        }
        switch (h.IcmpType)
        {
            case IcmpTypes.NeighborSolicitation:
            case IcmpTypes.NeighborAdvertisement:
                return Neighbor(pool, ref packet, ref h, port, now);
            case IcmpTypes.V6EchoRequest when h.DstIp == OwnIPv6(port) && h.DstIp != UInt128.Zero && IsEchoRequest(in h):
                RouterFrames.AnswerEcho(pool.Frame(packet), in h, OwnMac(port));
                Counters.Answered();
                return RouterVerdict.Forward(port);
            case IcmpTypes.V6EchoRequest:
                return RouterVerdict.Drop(RouterDropReason.NotForRouter);
            default:
                return RouterVerdict.Drop(RouterDropReason.IcmpUnsupported);
        }
    }

    private RouterVerdict Neighbor(PacketPool pool, ref PacketDescriptor packet, ref PacketHeaders h, int port, long now)
    {
        // RFC 4861 sections 7.1.1 and 7.1.2: hop limit 255 proves the sender is on the link.
        if ((h.Flags & PacketFlags.Fragment) != 0 || h.Ttl != NdWriter.HopLimit)
        {
            return RouterVerdict.Drop(RouterDropReason.NeighborMalformed);
        }
        Span<byte> frame = pool.Frame(packet);
        if (Checksums.VerifyL4(frame, in h) != L4ChecksumStatus.Valid
            || NdMessage.TryParse(frame[h.L4Offset..h.L3End], out NdMessage message) != NdError.None)
        {
            return RouterVerdict.Drop(RouterDropReason.NeighborMalformed);
        }
        UInt128 target = message.TargetAddress;
        if (h.IcmpType == IcmpTypes.NeighborAdvertisement)
        {
            Learn(pool, port, 6, target, message.TryGetTargetLinkLayerAddress(out ulong advertised) ? advertised : h.SrcMac, now);
            return RouterVerdict.Drop(RouterDropReason.NeighborConsumed);
        }
        bool unspecifiedSource = h.SrcIp == UInt128.Zero;
        bool hasSourceMac = message.TryGetSourceLinkLayerAddress(out ulong sourceMac);
        if (unspecifiedSource && (hasSourceMac || h.DstIp != UplinkNeighborStage.SolicitedNode(target)))
        {
            return RouterVerdict.Drop(RouterDropReason.NeighborMalformed);
        }
        UInt128 own = OwnIPv6(port);
        if (own == UInt128.Zero || target != own)
        {
            return RouterVerdict.Drop(RouterDropReason.NeighborTargetNotLocal);
        }
        if (hasSourceMac)
        {
            // Whoever resolves us is likely to be our next hop soon (RFC 4861 section 7.2.3).
            Learn(pool, port, 6, h.SrcIp, sourceMac, now);
        }
        Span<byte> output = pool.Buffer(packet.Buffer)[packet.Offset..];
        if (output.Length < RouterFrames.NeighborLength)
        {
            return RouterVerdict.Drop(RouterDropReason.NoBuffer);
        }
        // An answer to the unspecified address is unsolicited, to all nodes (RFC 4861 section 7.2.4).
        UInt128 dstIp = unspecifiedSource ? UplinkNeighborStage.AllNodes : h.SrcIp;
        ulong dstMac = unspecifiedSource ? UplinkNeighborStage.AllNodesMac : hasSourceMac ? sourceMac : h.SrcMac;
        packet.Length = RouterFrames.WriteNeighborAdvertisement(output, target, dstIp, dstMac, OwnMac(port), solicited: !unspecifiedSource);
        Counters.Answered();
        return RouterVerdict.Forward(port);
    }

    private RouterVerdict Arp(PacketPool pool, ref PacketDescriptor packet, ref PacketHeaders h, long now)
    {
        uint sender = (uint)h.SrcIp;
        uint target = (uint)h.DstIp;
        Learn(pool, InternetPort, 4, sender, h.ArpSenderMac, now);
        if (h.ArpOp != 1)
        {
            return RouterVerdict.Drop(RouterDropReason.NeighborConsumed);
        }
        if (!_spec.HasIPv4 || target != _spec.InternetIPv4)
        {
            return RouterVerdict.Drop(RouterDropReason.NeighborTargetNotLocal);
        }
        Span<byte> output = pool.Buffer(packet.Buffer)[packet.Offset..];
        if (output.Length < RouterFrames.MinimumFrame)
        {
            return RouterVerdict.Drop(RouterDropReason.NoBuffer);
        }
        packet.Length = RouterFrames.WriteArp(output, 2, _internetMac, _spec.InternetIPv4, h.ArpSenderMac, sender);
        Counters.Answered();
        return RouterVerdict.Forward(InternetPort);
    }

    /// <summary>Completes a frame with its next hop's MAC and forwards it, or lets it wait for the
    /// MAC (asking for it).</summary>
    private RouterVerdict SendTo(PacketPool pool, ref PacketDescriptor packet, int port, byte version, UInt128 nextHop, long now)
    {
        ulong mac;
        if (port == UnderlayPort && _spec.UnderlayGatewayMac != 0)
        {
            mac = _spec.UnderlayGatewayMac;
        }
        else if (Neighbors(port).TryGet(version, nextHop, now, out mac, out bool stale))
        {
            if (stale)
            {
                RequestIfDue(pool, port, version, nextHop, now);
            }
        }
        packet.Port = (ushort)port;
        Addresses.WriteMac(pool.Frame(packet), mac);
        if (mac != 0)
        {
            return RouterVerdict.Forward(port);
        }
        if (!_pending.TryAdd(packet, version, nextHop, now))
        {
            return RouterVerdict.Drop(RouterDropReason.PendingFull);
        }
        RequestIfDue(pool, port, version, nextHop, now);
        return RouterVerdict.Kept;
    }

    private void KeepResolved(PacketPool pool, int port, byte version, UInt128 ip, long now)
    {
        NeighborState neighbors = Neighbors(port);
        if (!neighbors.TryGet(version, ip, now, out _, out _) || neighbors.SinceRequested(version, ip, now) >= RefreshInterval)
        {
            RequestIfDue(pool, port, version, ip, now);
        }
    }

    /// <summary>Sends an ARP request (IPv4) or a multicast solicitation (IPv6) for a next hop, at most
    /// once per second per next hop.</summary>
    private void RequestIfDue(PacketPool pool, int port, byte version, UInt128 ip, long now)
    {
        UInt128 source = version == 4 ? _spec.InternetIPv4 : OwnIPv6(port);
        if (source == UInt128.Zero || !Neighbors(port).ShouldRequest(version, ip, now))
        {
            return;
        }
        int buffer = pool.Rent();
        if (buffer < 0)
        {
            Counters.Drop(RouterDropReason.NoBuffer);
            return;
        }
        Span<byte> frame = pool.Buffer(buffer)[PacketPool.Headroom..];
        int length = version == 4
            ? RouterFrames.WriteArp(frame, 1, _internetMac, _spec.InternetIPv4, 0, (uint)ip)
            : RouterFrames.WriteNeighborSolicitation(frame, source, ip, OwnMac(port));
        Output.Add(new PacketDescriptor { Buffer = buffer, Offset = PacketPool.Headroom, Length = length, Port = (ushort)port }, pool, Counters);
        Counters.Solicited();
    }
}
