using System.Net;
using System.Net.NetworkInformation;
using System.Text;
using MetalAgent.Model.V1;
using MetalAgent.Packets;
using PacketDotNet;
using static MetalAgent.Dataplane.Tests.Gateway.GatewayFrames;
using static MetalAgent.Dataplane.Tests.TestFrames;

namespace MetalAgent.Dataplane.Tests.Gateway;

/// <summary>The gateway's DHCPv4 server: each reply is checked as a Linux client would, header field
/// by header field (PacketDotNet) and option by option in order (our reader, exact bytes).</summary>
public class Dhcp4Tests
{
    private static readonly byte[] Gateway = [169, 254, 0, 1];
    private static readonly byte[] AllOnes = [255, 255, 255, 255];

    /// <summary>Option 121 (RFC 3442): 169.254.0.0/16 via 0.0.0.0 (on-link), then 0.0.0.0/0 via 169.254.0.1.</summary>
    private static readonly byte[] ClasslessRoutes = [16, 169, 254, 0, 0, 0, 0, 0, 169, 254, 0, 1];

    /// <summary>An option as "code:HEX", so option lists compare by value with readable failures.</summary>
    internal static string O(byte code, params byte[] value) => $"{code}:{Convert.ToHexString(value)}";

    private static List<string> Configuration(byte type, bool lease = true)
    {
        var options = new List<string> { O(53, type), O(54, Gateway) };
        if (lease)
        {
            options.Add(O(51, AllOnes));
        }
        options.AddRange([O(1, AllOnes), O(3, Gateway), O(121, ClasslessRoutes), O(26, 0x05, 0xDC), O(6, 198, 51, 100, 53)]);
        return options;
    }

    [Fact]
    public void Discover_gets_an_offer_with_every_option()
    {
        using var f = new PipelineFixture(learnA: false);
        byte[] reply = f.Expect("vm-a", Dhcp4Frame(VmMacA, Dhcp4(VmMacA, Type4(1), RequestList())), "vm-a");

        Reply r = Open(reply, "vm-a", VmMacA, "255.255.255.255");
        AssertHeader(r, yiaddr: "10.0.0.1", ciaddr: "0.0.0.0", flags: 0);
        Assert.Equal(DhcpV4MessageType.Offer, r.Dhcp.MessageType);
        Assert.Equal(Configuration(2), r.Options);
        Assert.Equal("121:10A9FE0000000000A9FE0001", r.Options.Single(o => o.StartsWith("121:", StringComparison.Ordinal)));
    }

    [Fact]
    public void Request_gets_an_ack_and_teaches_the_vm_mac()
    {
        using var f = new PipelineFixture(learnA: false);
        byte[] request = Dhcp4(VmMacA, Type4(3), Ip4Option(50, "10.0.0.1"), Ip4Option(54, "169.254.0.1"), RequestList());
        byte[] reply = f.Expect("vm-a", Dhcp4Frame(VmMacA, request), "vm-a");

        Reply r = Open(reply, "vm-a", VmMacA, "255.255.255.255");
        AssertHeader(r, yiaddr: "10.0.0.1", ciaddr: "0.0.0.0", flags: 0);
        Assert.Equal(Configuration(5), r.Options);
        f.ExpectDrop("vm-a", Eth(VmMacC, Any, Udp("10.0.0.1", "10.0.0.3", 1, 2)), "spoofed_mac");
    }

    [Fact]
    public void Renewal_is_acknowledged_by_unicast_to_the_client()
    {
        using var f = new PipelineFixture();
        byte[] request = Dhcp4(VmMacA, 0x0A000001, false, Type4(3));
        byte[] reply = f.Expect("vm-a", Dhcp4Frame(VmMacA, request, src: "10.0.0.1", dst: "169.254.0.1"), "vm-a");

        Reply r = Open(reply, "vm-a", VmMacA, "10.0.0.1");
        AssertHeader(r, yiaddr: "10.0.0.1", ciaddr: "10.0.0.1", flags: 0);
        Assert.Equal(Configuration(5), r.Options);
    }

    [Fact]
    public void Broadcast_flag_makes_even_a_renewal_answer_broadcast()
    {
        using var f = new PipelineFixture();
        byte[] request = Dhcp4(VmMacA, 0x0A000001, true, Type4(3));
        byte[] reply = f.Expect("vm-a", Dhcp4Frame(VmMacA, request, src: "10.0.0.1"), "vm-a");
        Reply r = Open(reply, "vm-a", VmMacA, "255.255.255.255");
        AssertHeader(r, yiaddr: "10.0.0.1", ciaddr: "10.0.0.1", flags: 0x8000);
    }

    [Fact]
    public void Request_for_another_address_gets_a_nak()
    {
        using var f = new PipelineFixture(learnA: false);
        byte[] reply = f.Expect("vm-a", Dhcp4Frame(VmMacA, Dhcp4(VmMacA, Type4(3), Ip4Option(50, "10.0.0.99"))), "vm-a");

        Reply r = Open(reply, "vm-a", VmMacA, "255.255.255.255");
        AssertHeader(r, yiaddr: "0.0.0.0", ciaddr: "0.0.0.0", flags: 0);
        Assert.Equal([O(53, 6), O(54, Gateway), O(56, Encoding.ASCII.GetBytes("requested address is not this interface's"))], r.Options);
    }

    [Fact]
    public void Request_for_another_server_is_dropped() =>
        new PipelineFixture(learnA: false).ExpectDrop(
            "vm-a", Dhcp4Frame(VmMacA, Dhcp4(VmMacA, Type4(3), Ip4Option(50, "10.0.0.1"), Ip4Option(54, "192.0.2.67"))), "dhcp_not_for_gateway");

    [Fact]
    public void Inform_gets_an_ack_without_address_or_lease()
    {
        using var f = new PipelineFixture();
        byte[] reply = f.Expect("vm-a", Dhcp4Frame(VmMacA, Dhcp4(VmMacA, 0x0A000001, false, Type4(8)), src: "10.0.0.1"), "vm-a");

        Reply r = Open(reply, "vm-a", VmMacA, "10.0.0.1");
        AssertHeader(r, yiaddr: "0.0.0.0", ciaddr: "10.0.0.1", flags: 0);
        Assert.Equal(Configuration(5, lease: false), r.Options);
    }

    [Fact]
    public void Release_and_decline_get_no_answer()
    {
        using var f = new PipelineFixture();
        f.ExpectDrop("vm-a", Dhcp4Frame(VmMacA, Dhcp4(VmMacA, 0x0A000001, false, Type4(7), Ip4Option(54, "169.254.0.1")), src: "10.0.0.1"), "dhcp_no_reply");
        f.ExpectDrop("vm-a", Dhcp4Frame(VmMacA, Dhcp4(VmMacA, Type4(4), Ip4Option(50, "10.0.0.1"), Ip4Option(54, "169.254.0.1"))), "dhcp_no_reply");
    }

    [Fact]
    public void Hostname_and_pxe_options_are_sent_when_set()
    {
        HostSpec spec = TestHost.Spec();
        InterfaceSpec a = spec.Interfaces.Single(i => i.Id == "vm-a");
        a.Hostname = "web-1";
        a.Pxe = new PxeSpec { NextServer = "192.0.2.5", BootFile = "pxelinux.0" };
        using var f = new PipelineFixture(spec, learnA: false);
        byte[] reply = f.Expect("vm-a", Dhcp4Frame(VmMacA, Dhcp4(VmMacA, Type4(1))), "vm-a");

        Reply r = Open(reply, "vm-a", VmMacA, "255.255.255.255");
        AssertHeader(r, yiaddr: "10.0.0.1", ciaddr: "0.0.0.0", flags: 0, siaddr: "192.0.2.5");
        List<string> expected = Configuration(2);
        expected.AddRange([O(12, "web-1"u8.ToArray()), O(66, "192.0.2.5"u8.ToArray()), O(67, "pxelinux.0"u8.ToArray())]);
        Assert.Equal(expected, r.Options);
        // The BOOTP file field carries the boot file too, NUL-terminated.
        Assert.Equal("pxelinux.0\0"u8.ToArray(), r.Payload.AsSpan(108, 11).ToArray());
    }

    [Fact]
    public void Pinned_mac_is_enforced_on_chaddr() =>
        new PipelineFixture(learnA: false).ExpectDrop("vm-b", Dhcp4Frame(VmMacB, Dhcp4(VmMacA, Type4(1))), "spoofed_mac");

    [Fact]
    public void Interface_without_ipv4_gets_no_offer()
    {
        using var f = new PipelineFixture(WithIPv6OnlyInterface(), learnA: false);
        f.ExpectDrop("vm-e", Dhcp4Frame(VmMacA, Dhcp4(VmMacA, Type4(1))), "dhcp4_no_ipv4");
    }

    [Fact]
    public void Gateway_traffic_bypasses_policy()
    {
        HostSpec spec = TestHost.Spec();
        spec.Interfaces.Single(i => i.Id == "vm-a").EgressPolicy = true;
        using var f = new PipelineFixture(spec, learnA: false);
        // vm-b selects ingress policy and vm-a egress policy, with no rule for DHCP, ARP or ND.
        f.ExpectDrop("vm-a", Eth(VmMacA, Any, Udp("10.0.0.1", "10.0.0.3", 1, 2)), "policy_denied_egress");
        Reply b = Open(f.Expect("vm-b", Dhcp4Frame(VmMacB, Dhcp4(VmMacB, Type4(1))), "vm-b"), "vm-b", VmMacB, "255.255.255.255");
        Assert.Equal(IPAddress.Parse("10.0.0.2"), b.Dhcp.YourAddress);
        Reply a = Open(f.Expect("vm-a", Dhcp4Frame(VmMacA, Dhcp4(VmMacA, Type4(1))), "vm-a"), "vm-a", VmMacA, "255.255.255.255");
        Assert.Equal(IPAddress.Parse("10.0.0.1"), a.Dhcp.YourAddress);
        f.Expect("vm-b", ArpRequest(VmMacB, "10.0.0.2"), "vm-b");
        f.Expect("vm-b", NeighborSolicitation(VmMacB, LinkLocalB, GatewayIPv6), "vm-b");
    }

    [Fact]
    public void Malformed_requests_are_dropped_with_a_named_reason()
    {
        using var f = new PipelineFixture(learnA: false);
        byte[] good = Dhcp4(VmMacA, Type4(1));

        byte[] cookie = (byte[])good.Clone();
        cookie[236] = 0;
        f.ExpectDrop("vm-a", Dhcp4Frame(VmMacA, cookie), "dhcp_malformed");

        f.ExpectDrop("vm-a", Dhcp4Frame(VmMacA, good[..239]), "dhcp_malformed");

        byte[] overrun = good[..244];
        overrun[240] = 12;
        overrun[241] = 200; // hostname longer than the message
        f.ExpectDrop("vm-a", Dhcp4Frame(VmMacA, overrun), "dhcp_malformed");

        f.ExpectDrop("vm-a", Dhcp4Frame(VmMacA, good[..243]), "dhcp_malformed"); // no end option

        byte[] badType = Dhcp4(VmMacA, (53, [1, 1]));
        f.ExpectDrop("vm-a", Dhcp4Frame(VmMacA, badType), "dhcp_malformed");

        byte[] reply = (byte[])good.Clone();
        reply[0] = 2; // BOOTREPLY from a client
        f.ExpectDrop("vm-a", Dhcp4Frame(VmMacA, reply), "dhcp_unsupported_message");

        f.ExpectDrop("vm-a", Dhcp4Frame(VmMacA, Dhcp4(VmMacA)), "dhcp_unsupported_message"); // plain BOOTP

        f.ExpectDrop("vm-a", Dhcp4Frame(VmMacA, good, breakChecksum: true), "gateway_bad_checksum");
    }

    internal static HostSpec WithIPv6OnlyInterface()
    {
        HostSpec spec = TestHost.Spec();
        spec.Interfaces.Add(new InterfaceSpec { Id = "vm-e", Vni = 100, Ipv6 = "fd00::5", UnderlayAddress = "fc00:1:a::5" });
        return spec;
    }

    internal sealed record Reply(EthernetPacket Eth, IPv4Packet Ip, UdpPacket Udp, DhcpV4Packet Dhcp, byte[] Payload, List<string> Options);

    /// <summary>Parses a reply and checks what every reply shares: addressing, ports, checksums,
    /// the BOOTP minimum size, and that our reader accepts it.</summary>
    internal static Reply Open(byte[] frame, string port, PhysicalAddress client, string dstIp)
    {
        var eth = Parse(frame);
        Assert.Equal(client, eth.DestinationHardwareAddress);
        Assert.Equal(GatewayMac(port), eth.SourceHardwareAddress);
        var ip = (IPv4Packet)eth.PayloadPacket;
        Assert.True(ip.ValidIPChecksum);
        Assert.Equal(IPAddress.Parse("169.254.0.1"), ip.SourceAddress);
        Assert.Equal(IPAddress.Parse(dstIp), ip.DestinationAddress);
        Assert.Equal(64, ip.TimeToLive);
        Assert.Equal(frame.Length - 14, ip.TotalLength);
        var udp = (UdpPacket)ip.PayloadPacket;
        Assert.Equal(67, udp.SourcePort);
        Assert.Equal(68, udp.DestinationPort);
        Assert.True(udp.ValidUdpChecksum);
        byte[] payload = frame[(14 + 20 + 8)..];
        Assert.Equal(udp.Length - 8, payload.Length);
        Assert.True(payload.Length >= 300, $"BOOTP payload of {payload.Length} bytes");
        var dhcp = Assert.IsType<DhcpV4Packet>(udp.PayloadPacket);
        Assert.Equal(Dhcp4Error.None, Dhcp4Message.TryParse(payload, out Dhcp4Message message));
        var options = new List<string>();
        foreach (Dhcp4Option option in message.GetOptions())
        {
            options.Add(O(option.Code, option.Data.ToArray()));
        }
        return new Reply(eth, ip, udp, dhcp, payload, options);
    }

    internal static void AssertHeader(Reply r, string yiaddr, string ciaddr, ushort flags, string siaddr = "0.0.0.0")
    {
        Assert.Equal(2, (int)r.Dhcp.Operation);
        Assert.Equal(1, (int)r.Dhcp.HardwareType);
        Assert.Equal(6, r.Dhcp.HardwareLength);
        Assert.Equal(0, r.Dhcp.Hops);
        Assert.Equal(Xid, r.Dhcp.Xid);
        Assert.Equal(0, r.Dhcp.Secs);
        Assert.Equal(flags, r.Dhcp.Flags);
        Assert.Equal(IPAddress.Parse(ciaddr), r.Dhcp.ClientAddress);
        Assert.Equal(IPAddress.Parse(yiaddr), r.Dhcp.YourAddress);
        Assert.Equal(IPAddress.Parse(siaddr), r.Dhcp.ServerAddress);
        Assert.Equal(IPAddress.Any, r.Dhcp.GatewayAddress);
        Assert.Equal(r.Eth.DestinationHardwareAddress, r.Dhcp.ClientHardwareAddress);
        Assert.Equal(new byte[10], r.Payload.AsSpan(34, 10).ToArray()); // rest of chaddr
        Assert.Equal(0x63825363u, r.Dhcp.MagicNumber);
        // The options end with 255 and only zero padding follows.
        int end = 240;
        while (r.Payload[end] != 255)
        {
            end += r.Payload[end] == 0 ? 1 : 2 + r.Payload[end + 1];
        }
        Assert.All(r.Payload[(end + 1)..], b => Assert.Equal(0, b));
    }
}
