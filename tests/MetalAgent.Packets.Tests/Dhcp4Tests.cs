using System.Buffers.Binary;
using System.Text;
using PacketDotNet;

namespace MetalAgent.Packets.Tests;

public class Dhcp4Tests
{
    private const ulong ClientMac = 0x02_AB_CD_EF_01_02;

    private static byte[] BuildDiscover(out int endOffset)
    {
        byte[] buffer = new byte[600];
        var w = new Dhcp4Writer(buffer);
        w.WriteHeader(Dhcp4Message.BootRequest, 0xCAFEBABE, ClientMac, flags: 0x8000, seconds: 3);
        w.AddMessageType(Dhcp4MessageType.Discover);
        w.AddUInt32(Dhcp4Options.RequestedIpAddress, 0x0A000005);
        w.AddOption(Dhcp4Options.ParameterRequestList, [1, 3, 6, 121, 26]);
        w.AddOption(Dhcp4Options.ClientIdentifier, [1, 0x02, 0xAB, 0xCD, 0xEF, 0x01, 0x02]);
        w.AddOption(Dhcp4Options.HostName, "vm-1"u8);
        endOffset = w.Length;
        int length = w.Finish();
        Assert.Equal(Dhcp4Writer.MinimumMessageLength, length);
        return buffer[..length];
    }

    [Fact]
    public void Discover_roundtrips_through_writer_and_reader()
    {
        byte[] msg = BuildDiscover(out _);
        Assert.Equal(Dhcp4Error.None, Dhcp4Message.TryParse(msg, out Dhcp4Message m));
        Assert.Equal(Dhcp4Message.BootRequest, m.Op);
        Assert.Equal(0xCAFEBABEu, m.TransactionId);
        Assert.True(m.Broadcast);
        Assert.Equal(3, m.Seconds);
        Assert.True(m.HasEthernetClientAddress);
        Assert.Equal(ClientMac, m.ClientMac);
        Assert.Equal(Dhcp4MessageType.Discover, m.MessageType);
        Assert.True(m.TryGetRequestedIp(out uint requested));
        Assert.Equal(0x0A000005u, requested);
        Assert.Equal([1, 3, 6, 121, 26], m.ParameterRequestList.ToArray());
        Assert.True(m.Requests(Dhcp4Options.ClasslessStaticRoute));
        Assert.False(m.Requests(Dhcp4Options.DomainName));
        Assert.Equal(7, m.ClientIdentifier.Length);
        Assert.Equal("vm-1", Encoding.ASCII.GetString(m.HostName));
        Assert.False(m.TryGetServerIdentifier(out _));
        int count = 0;
        foreach (Dhcp4Option option in m.GetOptions())
        {
            Assert.NotEqual(Dhcp4Options.Pad, option.Code);
            count++;
        }
        Assert.Equal(5, count);
    }

    [Fact]
    public void Truncated_and_malformed_messages_give_named_errors()
    {
        byte[] msg = BuildDiscover(out int endOffset);
        for (int length = 0; length <= msg.Length; length++)
        {
            Dhcp4Error e = Dhcp4Message.TryParse(msg.AsSpan(0, length), out _);
            if (length < Dhcp4Message.OptionsOffset)
            {
                Assert.Equal(Dhcp4Error.Truncated, e);
            }
            else if (length <= endOffset)
            {
                Assert.True(e is Dhcp4Error.TruncatedOption or Dhcp4Error.MissingEndOption, $"{length}: {e}");
            }
            else
            {
                Assert.Equal(Dhcp4Error.None, e);
            }
        }

        byte[] bad = (byte[])msg.Clone();
        bad[0] = 3;
        Assert.Equal(Dhcp4Error.BadOp, Dhcp4Message.TryParse(bad, out _));
        bad = (byte[])msg.Clone();
        bad[2] = 17;
        Assert.Equal(Dhcp4Error.BadHardwareLength, Dhcp4Message.TryParse(bad, out _));
        bad = (byte[])msg.Clone();
        bad[239] = 0;
        Assert.Equal(Dhcp4Error.BadMagicCookie, Dhcp4Message.TryParse(bad, out _));
        bad = (byte[])msg.Clone();
        bad[241] = 2; // message type with two bytes
        Assert.Equal(Dhcp4Error.BadOptionLength, Dhcp4Message.TryParse(bad, out _));
        bad = (byte[])msg.Clone();
        bad[endOffset] = 0; // end option turned into padding up to the buffer end
        Assert.Equal(Dhcp4Error.MissingEndOption, Dhcp4Message.TryParse(bad, out _));
    }

    [Fact]
    public void Offer_with_routes_reads_back_through_PacketDotNet()
    {
        byte[] payload = new byte[600];
        var w = new Dhcp4Writer(payload);
        w.WriteHeader(Dhcp4Message.BootReply, 42, ClientMac, yourIp: 0x0A000005, serverIp: 0xA9FE0001);
        w.AddMessageType(Dhcp4MessageType.Offer);
        w.AddUInt32(Dhcp4Options.ServerIdentifier, 0xA9FE0001);
        w.AddUInt32(Dhcp4Options.SubnetMask, 0xFFFFFFFF);
        w.AddUInt32(Dhcp4Options.LeaseTime, 86400);
        w.AddUInt16(Dhcp4Options.InterfaceMtu, 1450);
        w.AddAddresses(Dhcp4Options.DomainNameServer, [0x08080808, 0x01010101]);
        w.BeginOption(Dhcp4Options.ClasslessStaticRoute);
        w.AppendClasslessRoute(0xA9FE0001, 32, 0);
        w.AppendClasslessRoute(0x0A0000FF, 24, 0); // host bits are masked
        w.AppendClasslessRoute(0, 0, 0xA9FE0001);
        w.EndOption();
        int length = w.Finish();

        Assert.Equal(Dhcp4Error.None, Dhcp4Message.TryParse(payload.AsSpan(0, length), out Dhcp4Message m));
        Assert.True(m.TryGetOption(Dhcp4Options.ClasslessStaticRoute, out ReadOnlySpan<byte> routes));
        Assert.Equal(Convert.FromHexString("20A9FE0001" + "00000000" + "180A0000" + "00000000" + "00" + "A9FE0001"), routes.ToArray());
        Assert.True(m.TryGetServerIdentifier(out uint server));
        Assert.Equal(0xA9FE0001u, server);

        // Full frame: Ethernet + IPv4 + UDP 67->68, parsed by us and by PacketDotNet.
        byte[] frame = new byte[14 + 20 + 8 + length];
        payload.AsSpan(0, length).CopyTo(frame.AsSpan(42));
        PacketWriter.WriteUdp(frame.AsSpan(34), IpAddressPair.V4(0xA9FE0001, 0x0A000005), 67, 68, length);
        PacketWriter.WriteIPv4(frame.AsSpan(14), 0xA9FE0001, 0x0A000005, IpProtocols.Udp, 8 + length);
        PacketWriter.WriteEthernet(frame, ClientMac, 0x02_00_00_00_00_FE, EtherTypes.IPv4);
        var h = default(PacketHeaders);
        Assert.Equal(ParseError.None, PacketParser.ParseEthernet(frame, ref h));
        Assert.Equal(L4ChecksumStatus.Valid, Checksums.VerifyL4(frame, h));
        Assert.Equal(Dhcp4Error.None, Dhcp4Message.TryParse(frame.AsSpan(h.PayloadOffset, h.L3End - h.PayloadOffset), out _));

        DhcpV4Packet dhcp = Packet.ParsePacket(LinkLayers.Ethernet, frame).Extract<DhcpV4Packet>();
        Assert.NotNull(dhcp);
        Assert.Equal(DhcpV4MessageType.Offer, dhcp.MessageType);
        Assert.Equal(42u, dhcp.TransactionId);
        Assert.Equal("10.0.0.5", dhcp.YourAddress.ToString());
        Assert.Equal("02ABCDEF0102", dhcp.ClientHardwareAddress.ToString());
        Assert.Equal(Dhcp4Message.MagicCookie, dhcp.MagicNumber);
    }

    [Fact]
    public void Writer_rejects_overlong_options()
    {
        byte[] buffer = new byte[1024];
        var w = new Dhcp4Writer(buffer);
        w.WriteHeader(Dhcp4Message.BootReply, 1, ClientMac);
        try
        {
            w.AddOption(Dhcp4Options.HostName, new byte[256]);
            Assert.Fail("expected ArgumentException");
        }
        catch (ArgumentException)
        {
        }
        Assert.Equal(0x63825363u, BinaryPrimitives.ReadUInt32BigEndian(buffer.AsSpan(236)));
    }
}
