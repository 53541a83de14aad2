using System.Buffers.Binary;

namespace MetalAgent.Packets.Tests;

public class Dhcp6Tests
{
    private static readonly UInt128 s_address = Addresses.ToUInt128(System.Net.IPAddress.Parse("fd00::5"));

    private static byte[] BuildSolicit(List<int> boundaries)
    {
        byte[] buffer = new byte[512];
        var w = new Dhcp6Writer(buffer);
        w.WriteHeader(Dhcp6MessageType.Solicit, 0xABCDEF);
        boundaries.Add(w.Length);
        w.AddDuidLinkLayer(Dhcp6Options.ClientId, 0x02_00_00_00_00_07);
        boundaries.Add(w.Length);
        w.AddUInt16Option(Dhcp6Options.ElapsedTime, 150);
        boundaries.Add(w.Length);
        w.AddEmptyOption(Dhcp6Options.RapidCommit);
        boundaries.Add(w.Length);
        w.AddOption(Dhcp6Options.OptionRequest, [0, 23, 0, 24]);
        boundaries.Add(w.Length);
        w.BeginIaNa(0x11223344, 0, 0);
        w.AddIaAddress(s_address, 3600, 7200);
        w.AddStatusCode(0, "ok");
        w.EndIaNa();
        boundaries.Add(w.Length);
        return buffer[..w.Length];
    }

    [Fact]
    public void Solicit_roundtrips_through_writer_and_reader()
    {
        byte[] msg = BuildSolicit([]);
        Assert.Equal(Dhcp6Error.None, Dhcp6Message.TryParse(msg, out Dhcp6Message m));
        Assert.Equal(Dhcp6MessageType.Solicit, m.MessageType);
        Assert.Equal(0xABCDEFu, m.TransactionId);
        Assert.Equal(Convert.FromHexString("00030001020000000007"), m.ClientId.ToArray());
        Assert.True(m.ServerId.IsEmpty);
        Assert.True(m.RapidCommit);
        Assert.Equal(150, m.ElapsedTime);
        Assert.True(m.Requests(Dhcp6Options.DnsServers));
        Assert.True(m.Requests(Dhcp6Options.DomainList));
        Assert.False(m.Requests(Dhcp6Options.ClientId));
        Assert.True(m.TryGetIaNa(out Dhcp6IaNa ia));
        Assert.Equal(0x11223344u, ia.Iaid);
        Assert.True(ia.TryGetAddress(out UInt128 address, out uint preferred, out uint valid));
        Assert.Equal((s_address, 3600u, 7200u), (address, preferred, valid));
        int subOptions = 0;
        foreach (Dhcp6Option o in ia.GetOptions())
        {
            subOptions++;
            if (o.Code == Dhcp6Options.StatusCode)
            {
                Assert.Equal("0000" + "6F6B", Convert.ToHexString(o.Data));
            }
        }
        Assert.Equal(2, subOptions);
    }

    [Fact]
    public void Truncated_and_malformed_messages_give_named_errors()
    {
        var boundaries = new List<int>();
        byte[] msg = BuildSolicit(boundaries);
        for (int length = 0; length <= msg.Length; length++)
        {
            Dhcp6Error e = Dhcp6Message.TryParse(msg.AsSpan(0, length), out _);
            if (length < 4)
            {
                Assert.Equal(Dhcp6Error.Truncated, e);
            }
            else if (boundaries.Contains(length))
            {
                Assert.Equal(Dhcp6Error.None, e);
            }
            else
            {
                Assert.Equal(Dhcp6Error.TruncatedOption, e);
            }
        }

        byte[] bad = (byte[])msg.Clone();
        bad[0] = 0;
        Assert.Equal(Dhcp6Error.BadMessageType, Dhcp6Message.TryParse(bad, out _));
        bad[0] = 12;
        Assert.Equal(Dhcp6Error.RelayMessageNotSupported, Dhcp6Message.TryParse(bad, out _));

        // Rapid commit with a value byte.
        byte[] rapid = [1, 0, 0, 1, 0, 14, 0, 1, 0];
        Assert.Equal(Dhcp6Error.BadOptionLength, Dhcp6Message.TryParse(rapid, out _));
        // Odd-length option request.
        byte[] oro = [1, 0, 0, 1, 0, 6, 0, 3, 0, 23, 0];
        Assert.Equal(Dhcp6Error.BadOptionLength, Dhcp6Message.TryParse(oro, out _));
        // IA_NA shorter than IAID + T1 + T2.
        byte[] ia = [1, 0, 0, 1, 0, 3, 0, 4, 1, 2, 3, 4];
        Assert.Equal(Dhcp6Error.BadOptionLength, Dhcp6Message.TryParse(ia, out _));
        // IA_NA whose sub-option overruns the IA_NA (but not the message).
        byte[] nested = new byte[4 + 4 + 12 + 4 + 8];
        nested[0] = 1;
        BinaryPrimitives.WriteUInt16BigEndian(nested.AsSpan(4), Dhcp6Options.IaNa);
        BinaryPrimitives.WriteUInt16BigEndian(nested.AsSpan(6), 12 + 4);
        BinaryPrimitives.WriteUInt16BigEndian(nested.AsSpan(20), Dhcp6Options.StatusCode);
        BinaryPrimitives.WriteUInt16BigEndian(nested.AsSpan(22), 2);
        Assert.Equal(Dhcp6Error.TruncatedOption, Dhcp6Message.TryParse(nested, out _));
    }

    [Fact]
    public void Reply_in_a_full_frame_parses()
    {
        byte[] payload = new byte[256];
        var w = new Dhcp6Writer(payload);
        w.WriteHeader(Dhcp6MessageType.Reply, 7);
        w.AddDuidLinkLayer(Dhcp6Options.ServerId, 0x02_00_00_00_00_FE);
        w.AddAddresses(Dhcp6Options.DnsServers, [s_address, s_address + 1]);
        int length = w.Length;
        UInt128 server = Addresses.ToUInt128(System.Net.IPAddress.Parse("fe80::1"));
        UInt128 client = Addresses.ToUInt128(System.Net.IPAddress.Parse("fe80::2"));
        byte[] frame = new byte[14 + 40 + 8 + length];
        payload.AsSpan(0, length).CopyTo(frame.AsSpan(62));
        PacketWriter.WriteUdp(frame.AsSpan(54), IpAddressPair.V6(server, client), Dhcp6Message.ServerPort, Dhcp6Message.ClientPort, length);
        PacketWriter.WriteIPv6(frame.AsSpan(14), server, client, IpProtocols.Udp, 8 + length);
        PacketWriter.WriteEthernet(frame, 2, 1, EtherTypes.IPv6);
        var h = default(PacketHeaders);
        Assert.Equal(ParseError.None, PacketParser.ParseEthernet(frame, ref h));
        Assert.Equal(L4ChecksumStatus.Valid, Checksums.VerifyL4(frame, h));
        Assert.Equal(Dhcp6Error.None, Dhcp6Message.TryParse(frame.AsSpan(h.PayloadOffset, h.L3End - h.PayloadOffset), out Dhcp6Message m));
        Assert.Equal(Dhcp6MessageType.Reply, m.MessageType);
        Assert.Equal(10, m.ServerId.Length);
        Assert.True(m.TryGetOption(Dhcp6Options.DnsServers, out ReadOnlySpan<byte> dns));
        Assert.Equal(32, dns.Length);
        Assert.False(m.TryGetIaNa(out _));
    }
}
