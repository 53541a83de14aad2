using System.Net;
using System.Net.NetworkInformation;
using MetalAgent.Dataplane.Tests.Gateway;
using MetalAgent.Model.V1;
using static MetalAgent.Dataplane.Tests.Gateway.GatewayFrames;
using static MetalAgent.Dataplane.Tests.TestFrames;

namespace MetalAgent.Dataplane.Tests.Uplink;

/// <summary>The agent owns its uplink's underlay addressing: it answers neighbor solicitations and
/// echo for the host's /128s from the uplink's MAC, resolves the gateway's MAC itself (timer-driven
/// solicitations, advertisements taken), holds encapsulated frames until it knows it, and a pinned
/// MAC wins. Frames are compared byte for byte with frames built here.</summary>
public class UplinkNeighborTests
{
    private const string Gateway = "fe80::aa";
    private static readonly PhysicalAddress GatewayMacAddress = PhysicalAddress.Parse("02-00-00-00-AA-AA");

    /// <summary><see cref="TestHost"/> with the uplink gateway left to neighbor discovery.</summary>
    internal static HostSpec Unpinned(string gateway = Gateway)
    {
        HostSpec spec = TestHost.Spec();
        spec.Host.Uplinks[0].GatewayAddress = gateway;
        spec.Host.Uplinks[0].GatewayMac = string.Empty;
        return spec;
    }

    internal static HostSpec Pinned(PhysicalAddress mac)
    {
        HostSpec spec = Unpinned();
        spec.Host.Uplinks[0].GatewayMac = string.Join(':', mac.GetAddressBytes().Select(b => b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture)));
        return spec;
    }

    private static PhysicalAddress UplinkMac(MemoryDataplane d) => Mac(d.Port("uplink0").MacAddress);

    /// <summary>An ICMPv6 frame with an explicit Ethernet destination.</summary>
    private static byte[] Icmp6To(PhysicalAddress srcMac, PhysicalAddress dstMac, string src, string dst, byte[] body, int hopLimit = 255)
    {
        byte[] frame = Icmp6(srcMac, src, dst, body, hopLimit);
        dstMac.GetAddressBytes().CopyTo(frame, 0);
        return frame;
    }

    private static byte[] NdBody(byte type, byte flags, string target, byte option, PhysicalAddress? mac)
    {
        var body = new List<byte> { type, 0, 0, 0, flags, 0, 0, 0 };
        body.AddRange(IPAddress.Parse(target).GetAddressBytes());
        if (mac is not null)
        {
            body.AddRange([option, 1]);
            body.AddRange(mac.GetAddressBytes());
        }
        return [.. body];
    }

    /// <summary>The gateway's answer to our solicitation: solicited, override, target link-layer address.</summary>
    internal static byte[] GatewayAdvertisement(PhysicalAddress uplinkMac, string to = "fc00:1:a::1", PhysicalAddress? gatewayMac = null, string gateway = Gateway) =>
        Icmp6To(gatewayMac ?? GatewayMacAddress, uplinkMac, gateway, to, NdBody(136, 0x60, gateway, 2, gatewayMac ?? GatewayMacAddress));

    [Theory]
    [InlineData("fc00:1:a::1")] // an interface's /128, also the host's own first /128
    [InlineData("fc00:1:a::10")] // a VirtualIP's
    [InlineData("fc00:1:a::20")] // a load balancer's
    public void Solicitation_for_a_local_128_is_answered_from_the_uplink_mac(string target)
    {
        using var d = new MemoryDataplane(Unpinned());
        PhysicalAddress uplinkMac = UplinkMac(d);
        d.Port("uplink0").Inject(NeighborSolicitation(GatewayMacAddress, Gateway, target));
        d.Dataplane.Drain();

        byte[] answer = Assert.Single(d.TakeAll()["uplink0"]);
        byte[] expected = Icmp6To(uplinkMac, GatewayMacAddress, target, Gateway, NdBody(136, 0x60, target, 2, uplinkMac));
        Assert.Equal(expected, answer);
    }

    [Fact]
    public void Solicitation_from_the_unspecified_address_is_answered_to_all_nodes()
    {
        using var d = new MemoryDataplane(Unpinned());
        PhysicalAddress uplinkMac = UplinkMac(d);
        d.Port("uplink0").Inject(NeighborSolicitation(GatewayMacAddress, "::", "fc00:1:a::2", sourceLinkLayer: false));
        d.Dataplane.Drain();

        byte[] answer = Assert.Single(d.TakeAll()["uplink0"]);
        Assert.Equal(Icmp6(uplinkMac, "fc00:1:a::2", "ff02::1", NdBody(136, 0x20, "fc00:1:a::2", 2, uplinkMac)), answer);
    }

    [Fact]
    public void Solicitation_for_an_unknown_address_is_dropped_and_counted()
    {
        using var d = new MemoryDataplane(Unpinned());
        d.Port("uplink0").Inject(NeighborSolicitation(GatewayMacAddress, Gateway, "fc00:1:a::99"));
        d.Port("uplink0").Inject(NeighborSolicitation(GatewayMacAddress, Gateway, "fc00:1:b::1"));
        d.Dataplane.Drain();

        Assert.Empty(d.TakeAll());
        Assert.Equal(2, d.Dataplane.Sum(c => c.Drops(DropReason.UplinkNdTargetNotLocal)));
    }

    [Theory]
    [InlineData(254, false)] // routed: not from the link
    [InlineData(255, true)] // bad checksum
    public void Malformed_solicitations_are_dropped(int hopLimit, bool breakChecksum)
    {
        using var d = new MemoryDataplane(Unpinned());
        byte[] ns = NeighborSolicitation(GatewayMacAddress, Gateway, "fc00:1:a::1", hopLimit: hopLimit);
        if (breakChecksum)
        {
            ns[^1] ^= 0xFF;
        }
        d.Port("uplink0").Inject(ns);
        d.Dataplane.Drain();

        Assert.Empty(d.TakeAll());
        Assert.Equal(1, d.Dataplane.Sum(c => c.Drops(DropReason.UplinkNdMalformed)));
    }

    [Fact]
    public void Echo_to_a_local_128_is_answered_and_to_another_address_dropped()
    {
        using var d = new MemoryDataplane(Unpinned());
        PhysicalAddress uplinkMac = UplinkMac(d);
        byte[] request = [128, 0, 0, 0, 0, 7, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8];
        byte[] answer = [129, 0, 0, 0, 0, 7, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8];
        d.Port("uplink0").Inject(Icmp6To(GatewayMacAddress, uplinkMac, TestHost.Router, "fc00:1:a::2", request, hopLimit: 61));
        d.Port("uplink0").Inject(Icmp6To(GatewayMacAddress, uplinkMac, TestHost.Router, "fc00:1:a::99", request, hopLimit: 61));
        d.Dataplane.Drain();

        byte[] reply = Assert.Single(d.TakeAll()["uplink0"]);
        Assert.Equal(Icmp6To(uplinkMac, GatewayMacAddress, "fc00:1:a::2", TestHost.Router, answer, hopLimit: 64), reply);
        Assert.Equal(1, d.Dataplane.Sum(c => c.Drops(DropReason.UplinkIcmpV6Unsupported)));
    }

    [Fact]
    public void A_solicitation_for_the_gateway_goes_out_while_its_mac_is_unknown_then_every_30_seconds()
    {
        using var d = new MemoryDataplane(Unpinned());
        d.Dataplane.RouterAdvertisementInterval = 0;
        PhysicalAddress uplinkMac = UplinkMac(d);
        // From the host's first /128 to the gateway's solicited-node group, with our link-layer address.
        byte[] expected = Icmp6(uplinkMac, "fc00:1:a::1", "ff02::1:ff00:aa", NdBody(135, 0, Gateway, 1, uplinkMac));

        Assert.Equal(1, d.Dataplane.RunTimers());
        Assert.Equal(expected, Assert.Single(d.TakeAll()["uplink0"]));
        Assert.Equal(0, d.Dataplane.RunTimers());
        d.Dataplane.Clock.Advance(1);
        Assert.Equal(1, d.Dataplane.RunTimers());
        Assert.Equal(expected, Assert.Single(d.TakeAll()["uplink0"]));

        d.Port("uplink0").Inject(GatewayAdvertisement(uplinkMac));
        d.Dataplane.Drain();
        Assert.Equal(GatewayMacAddress.GetAddressBytes(), Mac(d.Dataplane.Current!.Interfaces.GatewayMac).GetAddressBytes());
        // The next one 30 s after the last.
        d.Dataplane.Clock.Advance(1);
        Assert.Equal(0, d.Dataplane.RunTimers());
        d.Dataplane.Clock.Advance(28);
        Assert.Equal(0, d.Dataplane.RunTimers());
        d.Dataplane.Clock.Advance(1);
        Assert.Equal(1, d.Dataplane.RunTimers());
        Assert.Equal(expected, Assert.Single(d.TakeAll()["uplink0"]));
        Assert.Equal(3, d.Dataplane.Sum(c => c.GatewaySolicitations));
    }

    [Fact]
    public void Gateway_advertisement_sets_the_mac_and_the_waiting_frame_then_leaves_exactly_as_with_a_pinned_mac()
    {
        byte[] vmFrame = Eth(VmMacA, Any, Udp("10.0.0.1", "10.0.0.3", 1000, 53));
        byte[] pinnedOutput;
        using (var pinned = new MemoryDataplane(Pinned(GatewayMacAddress)))
        {
            LearnVmA(pinned);
            pinned.Port("vm-a").Inject(vmFrame);
            pinned.Dataplane.Drain();
            pinnedOutput = Assert.Single(pinned.TakeAll()["uplink0"]);
        }
        Assert.Equal(GatewayMacAddress.GetAddressBytes(), pinnedOutput[..6]);

        using var d = new MemoryDataplane(Unpinned());
        LearnVmA(d);
        d.Port("vm-a").Inject(vmFrame);
        d.Dataplane.Drain();
        Assert.Empty(d.TakeAll());

        d.Port("uplink0").Inject(GatewayAdvertisement(UplinkMac(d)));
        d.Dataplane.Drain();
        Assert.Equal(pinnedOutput, Assert.Single(d.TakeAll()["uplink0"]));
        Assert.Equal(1, d.Dataplane.Sum(c => c.Drops(DropReason.UplinkGatewayNeighbor)));
        Assert.Equal(1, d.Dataplane.Sum(c => c.GatewayWaited));

        // From now on frames leave at once.
        d.Port("vm-a").Inject(vmFrame);
        d.Dataplane.Drain();
        Assert.Equal(pinnedOutput, Assert.Single(d.TakeAll()["uplink0"]));
        Assert.Equal(1, d.Dataplane.Sum(c => c.GatewayWaited));
    }

    [Fact]
    public void The_gateways_own_solicitation_teaches_its_mac()
    {
        using var d = new MemoryDataplane(Unpinned());
        d.Port("uplink0").Inject(NeighborSolicitation(GatewayMacAddress, Gateway, "fc00:1:a::1"));
        d.Dataplane.Drain();
        Assert.Equal(GatewayMacAddress.GetAddressBytes(), Mac(d.Dataplane.Current!.Interfaces.GatewayMac).GetAddressBytes());
    }

    [Fact]
    public void Waiting_frames_are_dropped_when_the_gateway_does_not_answer()
    {
        using var d = new MemoryDataplane(Unpinned());
        d.Dataplane.RouterAdvertisementInterval = 0;
        LearnVmA(d);
        d.Port("vm-a").Inject(Eth(VmMacA, Any, Udp("10.0.0.1", "10.0.0.3", 1000, 53)));
        d.Dataplane.Drain();
        d.Dataplane.Clock.Advance(3);
        d.Dataplane.RunTimers();
        Assert.Equal(0, d.Dataplane.Sum(c => c.Drops(DropReason.GatewayResolutionTimeout)));
        d.Dataplane.Clock.Advance(1);
        d.Dataplane.RunTimers();
        Assert.Equal(1, d.Dataplane.Sum(c => c.Drops(DropReason.GatewayResolutionTimeout)));

        // Only the solicitations left the uplink.
        Assert.All(d.TakeAll()["uplink0"], f => Assert.Equal(135, f[54]));
    }

    [Fact]
    public void The_wait_queue_is_bounded()
    {
        using var d = new MemoryDataplane(Unpinned());
        LearnVmA(d);
        for (int i = 0; i < 40; i++)
        {
            d.Port("vm-a").Inject(Eth(VmMacA, Any, Udp("10.0.0.1", "10.0.0.3", (ushort)(1000 + i), 53)));
        }
        d.Dataplane.Drain();
        Assert.Equal(8, d.Dataplane.Sum(c => c.Drops(DropReason.GatewayWaitQueueFull)));
        d.Port("uplink0").Inject(GatewayAdvertisement(UplinkMac(d)));
        d.Dataplane.Drain();
        Assert.Equal(32, d.TakeAll()["uplink0"].Count);
    }

    [Fact]
    public void A_pinned_mac_wins_and_nothing_is_solicited()
    {
        PhysicalAddress pinnedMac = PhysicalAddress.Parse("02-00-00-00-BB-BB");
        using var d = new MemoryDataplane(Pinned(pinnedMac));
        d.Dataplane.RouterAdvertisementInterval = 0;
        LearnVmA(d);
        d.Port("uplink0").Inject(GatewayAdvertisement(UplinkMac(d)));
        d.Dataplane.Drain();
        Assert.Equal(0, d.Dataplane.RunTimers());
        d.Port("vm-a").Inject(Eth(VmMacA, Any, Udp("10.0.0.1", "10.0.0.3", 1000, 53)));
        d.Dataplane.Drain();
        Assert.Equal(pinnedMac.GetAddressBytes(), Assert.Single(d.TakeAll()["uplink0"])[..6]);
    }

    [Fact]
    public void Advertisements_for_other_addresses_are_ignored()
    {
        using var d = new MemoryDataplane(Unpinned());
        d.Port("uplink0").Inject(GatewayAdvertisement(UplinkMac(d), gateway: "fe80::bb"));
        d.Dataplane.Drain();
        Assert.Equal(0ul, d.Dataplane.Current!.Interfaces.GatewayMac);
        Assert.Equal(1, d.Dataplane.Sum(c => c.Drops(DropReason.UplinkNdNotForGateway)));
    }

    [Fact]
    public void Another_gateway_in_a_new_snapshot_is_resolved_again()
    {
        using var d = new MemoryDataplane(Unpinned());
        d.Dataplane.RouterAdvertisementInterval = 0;
        d.Port("uplink0").Inject(GatewayAdvertisement(UplinkMac(d)));
        d.Dataplane.Drain();
        Assert.Equal(1, d.Dataplane.RunTimers());
        d.TakeAll();
        Assert.NotEqual(0ul, d.Dataplane.Current!.Interfaces.GatewayMac);

        HostSpec same = Unpinned();
        same.Version = 2;
        d.Update(same);
        Assert.NotEqual(0ul, d.Dataplane.Current!.Interfaces.GatewayMac);
        Assert.Equal(0, d.Dataplane.RunTimers());

        HostSpec moved = Unpinned("fe80::bb");
        moved.Version = 3;
        d.Update(moved);
        Assert.Equal(0ul, d.Dataplane.Current!.Interfaces.GatewayMac);
        Assert.Equal(1, d.Dataplane.RunTimers());
        byte[] ns = Assert.Single(d.TakeAll()["uplink0"]);
        Assert.Equal(IPAddress.Parse("fe80::bb").GetAddressBytes(), ns.AsSpan(54 + 8, 16).ToArray());
    }

    private static void LearnVmA(MemoryDataplane d)
    {
        d.Port("vm-a").Inject(ArpRequest(VmMacA, "10.0.0.1"));
        d.Dataplane.Drain();
        d.TakeAll();
    }
}
