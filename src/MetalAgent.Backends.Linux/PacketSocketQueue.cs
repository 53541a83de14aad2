using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using MetalAgent.Backends.Linux.Interop;
using MetalAgent.Packets;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace MetalAgent.Backends.Linux;

/// <summary>One queue of a <see cref="PacketSocketPort"/>: an AF_PACKET socket with mmapped TPACKET_V3 rings.</summary>
internal sealed unsafe class PacketSocketQueue : IPortQueue, IPolledQueue, IDisposable
{
    private readonly PacketSocketPort _port;
    private readonly RingGeometry _ring;
    private readonly string _label;
    private int _fd = -1;
    private byte* _map;
    private byte* _rx;
    private byte* _tx;
    private WorkerWakeup? _wakeup;

    // Rx position: the current block, packets left in it, the next packet header.
    private int _block;
    private uint _left;
    private byte* _next;

    private int _txHead;
    private bool _kickPending;

    private long _rxTruncated;
    private long _rxChecksumsFinished;
    private long _txDropped;
    private long _txErrors;

    public PacketSocketQueue(PacketSocketPort port, string label, int ifindex, RingGeometry ring)
    {
        _port = port;
        _ring = ring;
        _label = label;
        try
        {
            Open(ifindex);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public int Fd => _fd;

    public long RxTruncated => Volatile.Read(ref _rxTruncated);

    /// <summary>Frames the kernel handed over with an unfinished transport checksum (locally sent with
    /// checksum offload, TP_STATUS_CSUMNOTREADY) whose checksum this queue computed.</summary>
    public long RxChecksumsFinished => Volatile.Read(ref _rxChecksumsFinished);

    public long TxDropped => Volatile.Read(ref _txDropped);

    public long TxErrors => Volatile.Read(ref _txErrors);

    private void Open(int ifindex)
    {
        // Protocol 0: nothing is received until bind, so the rings are in place first.
        _fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (_fd < 0)
        {
            throw Native.Error($"{_label}: AF_PACKET socket", errno);
        }
        SetInt(PACKET_VERSION, Native.TPACKET_V3, "PACKET_VERSION TPACKET_V3");
        SetInt(PACKET_LOSS, 1, "PACKET_LOSS");
        int one = 1;
        if (setsockopt(_fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(int)) != 0 && errno != ENOPROTOOPT)
        {
            throw Native.Error($"{_label}: PACKET_IGNORE_OUTGOING", errno);
        }

        var rx = new tpacket_req3
        {
            tp_block_size = (uint)_ring.RxBlockSize,
            tp_block_nr = (uint)_ring.RxBlockCount,
            tp_frame_size = (uint)_ring.RxFrameSize,
            tp_frame_nr = (uint)(_ring.RxBlockSize / _ring.RxFrameSize * _ring.RxBlockCount),
            tp_retire_blk_tov = (uint)_ring.RetireTimeoutMs,
        };
        if (setsockopt(_fd, SOL_PACKET, PACKET_RX_RING, &rx, (uint)sizeof(tpacket_req3)) != 0)
        {
            throw Native.Error($"{_label}: PACKET_RX_RING", errno);
        }
        // TPACKET_V3 tx: plain fixed slots; the kernel refuses a retire timeout or private area here.
        var tx = new tpacket_req3
        {
            tp_block_size = (uint)_ring.TxBlockSize,
            tp_block_nr = (uint)(_ring.TxRingSize / _ring.TxBlockSize),
            tp_frame_size = (uint)_ring.TxFrameSize,
            tp_frame_nr = (uint)_ring.TxFrameCount,
        };
        if (setsockopt(_fd, SOL_PACKET, PACKET_TX_RING, &tx, (uint)sizeof(tpacket_req3)) != 0)
        {
            throw Native.Error($"{_label}: PACKET_TX_RING", errno);
        }

        // Send buffer room for every tx slot in flight: the skbs of sent slots count against it until the
        // device frees them (a TAP holds them until its reader takes them), and a kick that hits the limit
        // leaves slots waiting for the next kick. With this much room the ring itself is the only limit.
        int sendBuffer = _ring.TxFrameCount * (_ring.TxFrameSize + 1024);
        if (setsockopt(_fd, SOL_SOCKET, SO_SNDBUFFORCE, &sendBuffer, sizeof(int)) != 0)
        {
            // Without CAP_NET_ADMIN: as much as net.core.wmem_max allows.
            _ = setsockopt(_fd, SOL_SOCKET, SO_SNDBUF, &sendBuffer, sizeof(int));
        }

        // One mapping: the rx ring, then the tx ring.
        void* map = mmap(null, (size_t)(ulong)MapLength, PROT_READ | PROT_WRITE, MAP_SHARED, _fd, default);
        if (map == MAP_FAILED)
        {
            throw Native.Error($"{_label}: mmap of {MapLength} bytes", errno);
        }
        _map = (byte*)map;
        _rx = _map;
        _tx = _map + _ring.RxRingSize;

        sockaddr_ll address = default;
        address.sll_family = (ushort)AF_PACKET;
        address.sll_protocol = Native.Htons(Native.ETH_P_ALL);
        address.sll_ifindex = ifindex;
        if (bind(_fd, (sockaddr*)&address, (uint)sizeof(sockaddr_ll)) != 0)
        {
            throw Native.Error($"{_label}: bind", errno);
        }
    }

    private long MapLength => (long)_ring.RxRingSize + _ring.TxRingSize;

    /// <summary>Joins (or with <paramref name="join"/> &lt; 0 creates) the port's fanout group; returns the
    /// value the other queues join with.</summary>
    public int JoinFanout(int join)
    {
        if (join >= 0)
        {
            SetInt(PACKET_FANOUT, join, "PACKET_FANOUT (join)");
            return join;
        }
        // A kernel-chosen unique group id, so two agents or ports never collide.
        int type = Native.PACKET_FANOUT_HASH | Native.PACKET_FANOUT_FLAG_UNIQUEID;
        int value = (type | Native.PACKET_FANOUT_FLAG_IGNORE_OUTGOING) << 16;
        if (setsockopt(_fd, SOL_PACKET, PACKET_FANOUT, &value, sizeof(int)) != 0)
        {
            // Kernels before 6.7 have no PACKET_FANOUT_FLAG_IGNORE_OUTGOING; the pkttype check covers them.
            int e = errno;
            value = type << 16;
            if (e != EINVAL || setsockopt(_fd, SOL_PACKET, PACKET_FANOUT, &value, sizeof(int)) != 0)
            {
                throw Native.Error($"{_label}: PACKET_FANOUT", errno);
            }
        }
        int current = 0;
        socklen_t length = sizeof(int);
        if (getsockopt(_fd, SOL_PACKET, PACKET_FANOUT, &current, &length) != 0)
        {
            throw Native.Error($"{_label}: getsockopt PACKET_FANOUT", errno);
        }
        return current;
    }

    public int Receive(Span<PacketDescriptor> packets, PacketPool pool)
    {
        if (_kickPending)
        {
            Kick();
        }
        int n = 0;
        while (n < packets.Length)
        {
            if (_left == 0 && !OpenBlock())
            {
                break;
            }
            var h = (tpacket3_hdr*)_next;
            var sll = (sockaddr_ll*)(_next + RingGeometry.HeaderSize);
            bool vlan = (h->tp_status & Native.TP_STATUS_VLAN_VALID) != 0;
            int length = (int)h->tp_snaplen + (vlan ? 4 : 0);
            if (sll->sll_pkttype == PACKET_OUTGOING)
            {
                // The host's own transmissions (only seen where the kernel does not filter them).
            }
            else if (h->tp_snaplen < h->tp_len || length > PacketPool.BufferSize - PacketPool.Headroom)
            {
                _rxTruncated++;
            }
            else
            {
                int buffer = pool.Rent();
                if (buffer < 0)
                {
                    break;
                }
                Span<byte> room = pool.Buffer(buffer).Slice(PacketPool.Headroom, length);
                var data = new ReadOnlySpan<byte>(_next + h->tp_mac, (int)h->tp_snaplen);
                if (vlan)
                {
                    ReinsertVlanTag(data, room, h);
                }
                else
                {
                    data.CopyTo(room);
                }
                if ((h->tp_status & Native.TP_STATUS_CSUMNOTREADY) != 0 && FinishChecksum(room))
                {
                    _rxChecksumsFinished++;
                }
                packets[n++] = new PacketDescriptor { Buffer = buffer, Offset = PacketPool.Headroom, Length = length };
            }
            NextPacket(h);
        }
        return n;
    }

    /// <summary>
    /// A frame sent by this host's own stack on a device with checksum offload carries only the
    /// pseudo-header sum in its TCP/UDP checksum field; the device was to finish it. A packet socket
    /// reader is that device: the dataplane's incremental checksum updates need a finished checksum.
    /// The transport checksum (of the inner packet for IP-in-IPv6) is recomputed in full.
    /// </summary>
    private static bool FinishChecksum(Span<byte> frame)
    {
        var h = default(PacketHeaders);
        if (PacketParser.ParseEthernet(frame, ref h) != ParseError.None)
        {
            return false;
        }
        if (h.IpVersion == 6 && (h.Protocol == 4 || h.Protocol == 41))
        {
            int inner = h.L4Offset;
            Span<byte> outer = frame[..h.L3End];
            h = default;
            if (PacketParser.ParseIp(outer, inner, ref h) != ParseError.None)
            {
                return false;
            }
            return Checksums.WriteL4(outer, in h);
        }
        return Checksums.WriteL4(frame, in h);
    }

    /// <summary>Moves to the current block when the kernel handed it over.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool OpenBlock()
    {
        var block = (tpacket_block_desc*)(_rx + ((long)_block * _ring.RxBlockSize));
        if ((Volatile.Read(ref block->hdr.bh1.block_status) & Native.TP_STATUS_USER) == 0)
        {
            return false;
        }
        _left = block->hdr.bh1.num_pkts;
        _next = (byte*)block + block->hdr.bh1.offset_to_first_pkt;
        if (_left == 0)
        {
            ReleaseBlock();
            return OpenBlock();
        }
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void NextPacket(tpacket3_hdr* h)
    {
        _next += h->tp_next_offset;
        if (--_left == 0)
        {
            ReleaseBlock();
        }
    }

    private void ReleaseBlock()
    {
        var block = (tpacket_block_desc*)(_rx + ((long)_block * _ring.RxBlockSize));
        Volatile.Write(ref block->hdr.bh1.block_status, Native.TP_STATUS_KERNEL);
        _block = _block + 1 == _ring.RxBlockCount ? 0 : _block + 1;
    }

    private static void ReinsertVlanTag(ReadOnlySpan<byte> data, Span<byte> room, tpacket3_hdr* h)
    {
        // The kernel moved the outer tag into the header: put it back after the MAC addresses.
        ushort tpid = (h->tp_status & Native.TP_STATUS_VLAN_TPID_VALID) != 0 ? h->hv1.tp_vlan_tpid : Native.ETH_P_8021Q;
        data[..12].CopyTo(room);
        room[12] = (byte)(tpid >> 8);
        room[13] = (byte)tpid;
        room[14] = (byte)(h->hv1.tp_vlan_tci >> 8);
        room[15] = (byte)h->hv1.tp_vlan_tci;
        data[12..].CopyTo(room[16..]);
    }

    public int Transmit(ReadOnlySpan<PacketDescriptor> packets, PacketPool pool)
    {
        int queued = 0;
        foreach (ref readonly PacketDescriptor packet in packets)
        {
            Span<byte> frame = pool.Frame(packet);
            if (frame.Length > _ring.MaxTxFrame)
            {
                _txDropped++;
                continue;
            }
            var h = (tpacket3_hdr*)(_tx + ((long)_txHead * _ring.TxFrameSize));
            if (Volatile.Read(ref h->tp_status) != Native.TP_STATUS_AVAILABLE)
            {
                // Ring full (the kernel has not sent or released this slot yet).
                _txDropped++;
                continue;
            }
            frame.CopyTo(new Span<byte>((byte*)h + RingGeometry.HeaderSize, frame.Length));
            h->tp_len = (uint)frame.Length;
            h->tp_next_offset = 0;
            Volatile.Write(ref h->tp_status, Native.TP_STATUS_SEND_REQUEST);
            _txHead = _txHead + 1 == _ring.TxFrameCount ? 0 : _txHead + 1;
            queued++;
        }
        if (queued > 0 || _kickPending)
        {
            Kick();
        }
        return queued;
    }

    /// <summary>Asks the kernel to send every slot marked SEND_REQUEST, without waiting.</summary>
    private void Kick()
    {
        _kickPending = false;
        if (send(_fd, null, 0, MSG_DONTWAIT) >= 0)
        {
            return;
        }
        int e = errno;
        if (e == EAGAIN || e == ENOBUFS || e == ENETDOWN || e == ENXIO || e == EINTR)
        {
            // Back-pressure or link down: the slots stay requested; Receive/Transmit kick again.
            _kickPending = true;
        }
        else
        {
            _txErrors++;
        }
    }

    public void AttachWakeup(WorkerWakeup wakeup) => Volatile.Write(ref _wakeup, wakeup);

    public void OnReady(int events)
    {
        if ((events & EPOLLERR) != 0)
        {
            int error = 0;
            socklen_t length = sizeof(int);
            if (getsockopt(_fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error == ENETDOWN)
            {
                _port.OnLinkDown();
            }
        }
        Volatile.Read(ref _wakeup)?.Set();
    }

    public long TakeKernelDrops()
    {
        tpacket_stats_v3 stats = default;
        socklen_t length = (uint)sizeof(tpacket_stats_v3);
        return getsockopt(_fd, SOL_PACKET, PACKET_STATISTICS, &stats, &length) == 0 ? stats.tp_drops : 0;
    }

    private void SetInt(int option, int value, string what)
    {
        if (setsockopt(_fd, SOL_PACKET, option, &value, sizeof(int)) != 0)
        {
            throw Native.Error($"{_label}: {what}", errno);
        }
    }

    public void Dispose()
    {
        if (_map != null)
        {
            _ = munmap(_map, (size_t)(ulong)MapLength);
            _map = null;
        }
        if (_fd >= 0)
        {
            _ = close(_fd);
            _fd = -1;
        }
    }
}
