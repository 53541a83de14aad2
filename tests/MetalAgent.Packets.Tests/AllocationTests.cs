namespace MetalAgent.Packets.Tests;

public class AllocationTests
{
    private static readonly UInt128 s_a = Addresses.ToUInt128(System.Net.IPAddress.Parse("fd00::1"));
    private static readonly UInt128 s_b = Addresses.ToUInt128(System.Net.IPAddress.Parse("fd00::2"));

    private static byte[][] Batch()
    {
        var inner4 = new FrameSpec { IpVersion = 4, SrcIp = 0x0A000001, DstIp = 0x0A000002, Protocol = IpProtocols.Tcp, SrcPort = 1, DstPort = 2, Payload = new byte[40] };
        return
        [
            inner4.Build(),
            new FrameSpec { IpVersion = 6, SrcIp = s_a, DstIp = s_b, Protocol = IpProtocols.Udp, SrcPort = 3, DstPort = 4, Payload = new byte[100], Vlans = [5] }.Build(),
            new FrameSpec { IpVersion = 6, SrcIp = s_a, DstIp = s_b, Protocol = IpProtocols.IPv4InIp, Inner = inner4 }.Build(),
            new FrameSpec { IpVersion = 4, SrcIp = 1, DstIp = 2, Protocol = IpProtocols.Sctp, Payload = new byte[16] }.Build(),
            new FrameSpec { IpVersion = 0, SrcIp = 1, DstIp = 2 }.Build(),
        ];
    }

    private static int ProcessBatch(byte[][] frames, byte[] scratch)
    {
        int valid = 0;
        foreach (byte[] frame in frames)
        {
            var h = default(PacketHeaders);
            if (PacketParser.ParseEthernet(frame, ref h) != ParseError.None)
            {
                continue;
            }
            if (h.IpVersion == 4 && Checksums.VerifyIPv4Header(frame.AsSpan(h.L3Offset, h.L4Offset - h.L3Offset)))
            {
                valid++;
            }
            if (Checksums.VerifyL4(frame, h) == L4ChecksumStatus.Valid)
            {
                valid++;
            }
            if (h.Protocol == IpProtocols.IPv4InIp)
            {
                PacketHeaders inner = h;
                if (PacketParser.ParseIp(frame.AsSpan(0, h.L3End), h.L4Offset, ref inner) == ParseError.None
                    && Checksums.VerifyL4(frame, inner) == L4ChecksumStatus.Valid)
                {
                    valid++;
                }
            }
        }

        // Reply writers and readers used by the gateway services.
        var w = new Dhcp4Writer(scratch);
        w.WriteHeader(Dhcp4Message.BootReply, 1, 2, yourIp: 3);
        w.AddMessageType(Dhcp4MessageType.Ack);
        w.AddUInt32(Dhcp4Options.SubnetMask, uint.MaxValue);
        w.BeginOption(Dhcp4Options.ClasslessStaticRoute);
        w.AppendClasslessRoute(0, 0, 0xA9FE0001);
        w.EndOption();
        int length = w.Finish();
        if (Dhcp4Message.TryParse(scratch.AsSpan(0, length), out Dhcp4Message m) == Dhcp4Error.None && m.MessageType == Dhcp4MessageType.Ack)
        {
            valid++;
        }
        int nd = NdWriter.WriteNeighborAdvertisement(scratch, s_a, s_b, s_a, true, true, true, 0x020000000001);
        if (NdMessage.TryParse(scratch.AsSpan(0, nd), out NdMessage na) == NdError.None && na.TryGetTargetLinkLayerAddress(out _))
        {
            valid++;
        }
        var w6 = new Dhcp6Writer(scratch);
        w6.WriteHeader(Dhcp6MessageType.Reply, 5);
        w6.BeginIaNa(1, 2, 3);
        w6.AddIaAddress(s_a, 4, 5);
        w6.EndIaNa();
        if (Dhcp6Message.TryParse(scratch.AsSpan(0, w6.Length), out Dhcp6Message r) == Dhcp6Error.None && r.TryGetIaNa(out _))
        {
            valid++;
        }
        return valid;
    }

    [Fact]
    public void Parse_checksum_and_gateway_messages_do_not_allocate()
    {
        byte[][] frames = Batch();
        byte[] scratch = new byte[1024];
        int expected = ProcessBatch(frames, scratch);
        // 1 (IPv4 hdr) + 1 (TCP) + 1 (UDPv6) + 0 (outer 4in6) + 1 (inner TCP) + 1 (IPv4 hdr) + 1 (SCTP) + 3 messages
        Assert.Equal(9, expected);
        for (int i = 0; i < 100; i++)
        {
            ProcessBatch(frames, scratch);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        int total = 0;
        for (int i = 0; i < 1_000; i++)
        {
            total += ProcessBatch(frames, scratch);
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(9 * 1_000, total);
        Assert.Equal(0, allocated);
    }
}
