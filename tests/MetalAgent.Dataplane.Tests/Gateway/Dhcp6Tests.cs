using System.Buffers.Binary;
using System.Net;
using System.Net.NetworkInformation;
using MetalAgent.Model.V1;
using MetalAgent.Packets;
using PacketDotNet;
using static MetalAgent.Dataplane.Tests.Gateway.GatewayFrames;
using static MetalAgent.Dataplane.Tests.TestFrames;

namespace MetalAgent.Dataplane.Tests.Gateway;

/// <summary>The gateway's DHCPv6 server: replies checked on the wire (PacketDotNet) and option by
/// option in order (our reader, exact bytes).</summary>
public class Dhcp6Tests
{
    private const string Infinite = "FFFFFFFF";

    private static string O(ushort code, byte[] value) => $"{code}:{Convert.ToHexString(value)}";

    private static string O(ushort code, string hex) => $"{code}:{hex}";

    private static string Hex(string ip) => Convert.ToHexString(IPAddress.Parse(ip).GetAddressBytes());

    private static string ServerDuid(string port) => "00030001" + Convert.ToHexString(MacBytes(GatewayMac(port)));

    /// <summary>IA_NA 0x0A0B0C0D with the address and infinite T1, T2 and lifetimes.</summary>
    private static string IaNaWith(string address) => O(3, "0A0B0C0D" + Infinite + Infinite + "00050018" + Hex(address) + Infinite + Infinite);

    [Fact]
    public void Solicit_gets_an_advertise_with_the_interface_address()
    {
        using var f = new PipelineFixture(learnA: false);
        byte[] solicit = Dhcp6(1, ClientId6(VmMacA), ElapsedTime6(), IaNa(), OptionRequest6());
        Reply r = Open(f.Expect("vm-a", Dhcp6Frame(VmMacA, LinkLocalA, solicit), "vm-a"), "vm-a", VmMacA, LinkLocalA);

        Assert.Equal(Dhcp6MessageType.Advertise, r.Type);
        Assert.Equal(
            [O(1, ClientDuid(VmMacA)), O(2, ServerDuid("vm-a")), O(7, "FF"), IaNaWith("fd00::1")],
            r.Options);
        // The MAC was learned from the request.
        f.ExpectDrop("vm-a", Eth(VmMacC, Any, Udp("10.0.0.1", "10.0.0.3", 1, 2)), "spoofed_mac");
    }

    [Fact]
    public void Solicit_with_rapid_commit_gets_a_reply()
    {
        using var f = new PipelineFixture(learnA: false);
        byte[] solicit = Dhcp6(1, ClientId6(VmMacA), Option6(14), IaNa());
        Reply r = Open(f.Expect("vm-a", Dhcp6Frame(VmMacA, LinkLocalA, solicit), "vm-a"), "vm-a", VmMacA, LinkLocalA);

        Assert.Equal(Dhcp6MessageType.Reply, r.Type);
        Assert.Equal([O(1, ClientDuid(VmMacA)), O(2, ServerDuid("vm-a")), O(14, ""), IaNaWith("fd00::1")], r.Options);
    }

    [Theory]
    [InlineData(3)] // REQUEST
    [InlineData(5)] // RENEW
    public void Request_and_renew_naming_the_gateway_get_a_reply(byte type)
    {
        using var f = new PipelineFixture(learnA: false);
        byte[] request = Dhcp6(type, ClientId6(VmMacA), ServerId6(GatewayMac("vm-a")), IaNa("fd00::1"), OptionRequest6());
        Reply r = Open(f.Expect("vm-a", Dhcp6Frame(VmMacA, LinkLocalA, request), "vm-a"), "vm-a", VmMacA, LinkLocalA);

        Assert.Equal(Dhcp6MessageType.Reply, r.Type);
        Assert.Equal([O(1, ClientDuid(VmMacA)), O(2, ServerDuid("vm-a")), IaNaWith("fd00::1")], r.Options);
    }

    [Fact]
    public void Rebind_gets_a_reply()
    {
        using var f = new PipelineFixture(learnA: false);
        byte[] rebind = Dhcp6(6, ClientId6(VmMacA), IaNa("fd00::1"));
        Reply r = Open(f.Expect("vm-a", Dhcp6Frame(VmMacA, LinkLocalA, rebind), "vm-a"), "vm-a", VmMacA, LinkLocalA);
        Assert.Equal(Dhcp6MessageType.Reply, r.Type);
        Assert.Equal([O(1, ClientDuid(VmMacA)), O(2, ServerDuid("vm-a")), IaNaWith("fd00::1")], r.Options);
    }

    [Fact]
    public void Request_naming_another_server_is_dropped()
    {
        byte[] request = Dhcp6(3, ClientId6(VmMacA), ServerId6(Any), IaNa());
        new PipelineFixture(learnA: false).ExpectDrop("vm-a", Dhcp6Frame(VmMacA, LinkLocalA, request), "dhcp_not_for_gateway");
    }

    [Fact]
    public void Interface_without_ipv6_gets_no_addrs_avail_and_policy_does_not_apply()
    {
        // vm-b has no IPv6 and selects ingress policy.
        using var f = new PipelineFixture(learnA: false);
        byte[] solicit = Dhcp6(1, ClientId6(VmMacB), IaNa());
        Reply r = Open(f.Expect("vm-b", Dhcp6Frame(VmMacB, LinkLocalB, solicit), "vm-b"), "vm-b", VmMacB, LinkLocalB);

        Assert.Equal(Dhcp6MessageType.Advertise, r.Type);
        string status = "000D" + "0024" + "0002" + Convert.ToHexString("no IPv6 address for this interface"u8);
        Assert.Equal([O(1, ClientDuid(VmMacB)), O(2, ServerDuid("vm-b")), O(7, "FF"), O(3, "0A0B0C0D" + "00000000" + "00000000" + status)], r.Options);
    }

    [Fact]
    public void Dns_servers_are_sent_and_information_request_gets_them_without_an_address()
    {
        HostSpec spec = TestHost.Spec();
        spec.Host.DnsServers.Add("2001:db8::53");
        using var f = new PipelineFixture(spec, learnA: false);
        Reply solicit = Open(f.Expect("vm-a", Dhcp6Frame(VmMacA, LinkLocalA, Dhcp6(1, ClientId6(VmMacA), IaNa())), "vm-a"), "vm-a", VmMacA, LinkLocalA);
        Assert.Equal([O(1, ClientDuid(VmMacA)), O(2, ServerDuid("vm-a")), O(7, "FF"), IaNaWith("fd00::1"), O(23, Hex("2001:db8::53"))], solicit.Options);

        Reply info = Open(f.Expect("vm-a", Dhcp6Frame(VmMacA, LinkLocalA, Dhcp6(11, ClientId6(VmMacA), OptionRequest6())), "vm-a"), "vm-a", VmMacA, LinkLocalA);
        Assert.Equal(Dhcp6MessageType.Reply, info.Type);
        Assert.Equal([O(1, ClientDuid(VmMacA)), O(2, ServerDuid("vm-a")), O(23, Hex("2001:db8::53"))], info.Options);
    }

    [Fact]
    public void Confirm_tells_whether_the_addresses_are_on_link()
    {
        using var f = new PipelineFixture(learnA: false);
        Reply onLink = Open(f.Expect("vm-a", Dhcp6Frame(VmMacA, LinkLocalA, Dhcp6(4, ClientId6(VmMacA), IaNa("fd00::1"))), "vm-a"), "vm-a", VmMacA, LinkLocalA);
        Assert.Equal(Dhcp6MessageType.Reply, onLink.Type);
        Assert.Equal(O(13, "0000" + Convert.ToHexString("all addresses are on link"u8)), onLink.Options[^1]);

        Reply moved = Open(f.Expect("vm-a", Dhcp6Frame(VmMacA, LinkLocalA, Dhcp6(4, ClientId6(VmMacA), IaNa("fd00::99"))), "vm-a"), "vm-a", VmMacA, LinkLocalA);
        Assert.Equal(O(13, "0004" + Convert.ToHexString("address not on this link"u8)), moved.Options[^1]);

        f.ExpectDrop("vm-a", Dhcp6Frame(VmMacA, LinkLocalA, Dhcp6(4, ClientId6(VmMacA), IaNa())), "dhcp_no_reply");
    }

    [Fact]
    public void Release_gets_a_success_reply()
    {
        using var f = new PipelineFixture(learnA: false);
        byte[] release = Dhcp6(8, ClientId6(VmMacA), ServerId6(GatewayMac("vm-a")), IaNa("fd00::1"));
        Reply r = Open(f.Expect("vm-a", Dhcp6Frame(VmMacA, LinkLocalA, release), "vm-a"), "vm-a", VmMacA, LinkLocalA);
        Assert.Equal(Dhcp6MessageType.Reply, r.Type);
        Assert.Equal([O(1, ClientDuid(VmMacA)), O(2, ServerDuid("vm-a")), O(13, "0000" + Convert.ToHexString("done"u8))], r.Options);
    }

    [Fact]
    public void Malformed_and_unsupported_messages_are_dropped_with_a_named_reason()
    {
        using var f = new PipelineFixture(learnA: false);
        byte[] good = Dhcp6(1, ClientId6(VmMacA), IaNa());
        f.ExpectDrop("vm-a", Dhcp6Frame(VmMacA, LinkLocalA, good[..^3]), "dhcp_malformed"); // IA_NA runs past the end
        f.ExpectDrop("vm-a", Dhcp6Frame(VmMacA, LinkLocalA, good[..3]), "dhcp_malformed"); // shorter than the header
        f.ExpectDrop("vm-a", Dhcp6Frame(VmMacA, LinkLocalA, Dhcp6(1, IaNa())), "dhcp_malformed"); // no client id
        f.ExpectDrop("vm-a", Dhcp6Frame(VmMacA, LinkLocalA, Dhcp6(1, ClientId6(VmMacA), ServerId6(GatewayMac("vm-a")))), "dhcp_malformed");
        f.ExpectDrop("vm-a", Dhcp6Frame(VmMacA, LinkLocalA, Dhcp6(1, ClientId6(VmMacA), Option6(8, 0))), "dhcp_malformed"); // elapsed time of 1 byte
        f.ExpectDrop("vm-a", Dhcp6Frame(VmMacA, LinkLocalA, Dhcp6(2, ClientId6(VmMacA))), "dhcp_unsupported_message"); // ADVERTISE from a client
        f.ExpectDrop("vm-a", Dhcp6Frame(VmMacA, LinkLocalA, Dhcp6(12, ClientId6(VmMacA))), "dhcp_unsupported_message"); // RELAY-FORW
        f.ExpectDrop("vm-a", Dhcp6Frame(VmMacA, LinkLocalA, good, breakChecksum: true), "gateway_bad_checksum");
        f.ExpectDrop("vm-a", Dhcp6Frame(VmMacA, "::", good), "dhcp_malformed");
    }

    [Fact]
    public void Pinned_mac_is_enforced() =>
        new PipelineFixture(learnA: false).ExpectDrop("vm-b", Dhcp6Frame(VmMacA, LinkLocalB, Dhcp6(1, ClientId6(VmMacA), IaNa())), "spoofed_mac");

    internal sealed record Reply(Dhcp6MessageType Type, uint TransactionId, List<string> Options);

    internal static Reply Open(byte[] frame, string port, PhysicalAddress client, string clientIp)
    {
        var eth = Parse(frame);
        Assert.Equal(client, eth.DestinationHardwareAddress);
        Assert.Equal(GatewayMac(port), eth.SourceHardwareAddress);
        var ip = (IPv6Packet)eth.PayloadPacket;
        Assert.Equal(IPAddress.Parse(GatewayIPv6), ip.SourceAddress);
        Assert.Equal(IPAddress.Parse(clientIp), ip.DestinationAddress);
        Assert.Equal(frame.Length - 54, ip.PayloadLength);
        var udp = (UdpPacket)ip.PayloadPacket;
        Assert.Equal(547, udp.SourcePort);
        Assert.Equal(546, udp.DestinationPort);
        Assert.True(udp.ValidUdpChecksum);
        byte[] payload = frame[(14 + 40 + 8)..];
        Assert.Equal(udp.Length - 8, payload.Length);
        Assert.Equal(Dhcp6Error.None, Dhcp6Message.TryParse(payload, out Dhcp6Message message));
        Assert.Equal(0x123456u, message.TransactionId);
        var options = new List<string>();
        foreach (Dhcp6Option option in message.GetOptions())
        {
            options.Add(O(option.Code, option.Data.ToArray()));
        }
        Assert.Equal(BinaryPrimitives.ReadUInt32BigEndian(payload) & 0xFFFFFF, message.TransactionId);
        return new Reply(message.MessageType, message.TransactionId, options);
    }
}
