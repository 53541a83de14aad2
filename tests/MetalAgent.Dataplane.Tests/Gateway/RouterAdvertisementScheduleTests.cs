using System.Net;
using MetalAgent.Model.V1;
using PacketDotNet;
using static MetalAgent.Dataplane.Tests.Gateway.GatewayFrames;
using static MetalAgent.Dataplane.Tests.TestFrames;

namespace MetalAgent.Dataplane.Tests.Gateway;

/// <summary>Unsolicited router advertisements: every VM port gets one at start and one per interval,
/// without any traffic from the VM; the uplink never does; packet rounds never send them.</summary>
public class RouterAdvertisementScheduleTests
{
    private static readonly string[] VmPorts = ["vm-a", "vm-b", "vm-c", "vm-d"];

    [Fact]
    public void Every_vm_port_gets_an_advertisement_at_start_and_then_every_interval()
    {
        using var d = new MemoryDataplane();
        Assert.Equal(60, d.Dataplane.RouterAdvertisementInterval);

        Assert.Equal(4, d.Dataplane.RunTimers());
        Dictionary<string, List<byte[]>> sent = d.TakeAll();
        Assert.Equal(VmPorts, sent.Keys.Order(StringComparer.Ordinal));
        foreach ((string port, List<byte[]> frames) in sent)
        {
            byte[] frame = Assert.Single(frames);
            var eth = Parse(frame);
            Assert.Equal(AllNodesMac, eth.DestinationHardwareAddress);
            Assert.Equal(IPAddress.Parse("ff02::1"), ((IPv6Packet)eth.PayloadPacket).DestinationAddress);
            NeighborDiscoveryTests.AssertRouterAdvertisement(frame, port, dnsServers: []);
        }

        // Nothing more until the interval has passed.
        Assert.Equal(0, d.Dataplane.RunTimers());
        d.Dataplane.Clock.Advance(59);
        Assert.Equal(0, d.Dataplane.RunTimers());
        Assert.Empty(d.TakeAll());
        d.Dataplane.Clock.Advance(1);
        Assert.Equal(4, d.Dataplane.RunTimers());
        Assert.Equal(VmPorts, d.TakeAll().Keys.Order(StringComparer.Ordinal));
        Assert.Equal(2, d.Dataplane.Workers[0].Counters.TxPackets(d.Compiled.Snapshot.FindPort("vm-a")));
    }

    [Fact]
    public void Packet_rounds_send_nothing_unasked()
    {
        using var d = new MemoryDataplane();
        d.Port("vm-a").Inject(ArpRequest(VmMacA, "10.0.0.1"));
        Assert.Equal(1, d.Dataplane.Drain());
        Dictionary<string, List<byte[]>> sent = d.TakeAll();
        Assert.Equal(["vm-a"], sent.Keys);
        Assert.Single(sent["vm-a"]);
    }

    [Fact]
    public void A_port_added_later_is_advertised_at_once_and_the_others_keep_their_schedule()
    {
        using var d = new MemoryDataplane();
        d.Dataplane.RunTimers();
        d.TakeAll();
        d.Dataplane.Clock.Advance(10);
        HostSpec spec = Dhcp4Tests.WithIPv6OnlyInterface();
        spec.Version = 2;
        d.Update(spec);
        Assert.Equal(1, d.Dataplane.RunTimers());
        Dictionary<string, List<byte[]>> sent = d.TakeAll();
        Assert.Equal(["vm-e"], sent.Keys);
        NeighborDiscoveryTests.AssertRouterAdvertisement(Assert.Single(sent["vm-e"]), "vm-e", dnsServers: []);
        d.Dataplane.Clock.Advance(50);
        Assert.Equal(4, d.Dataplane.RunTimers());
        d.Dataplane.Clock.Advance(10);
        Assert.Equal(1, d.Dataplane.RunTimers());
    }

    [Fact]
    public void Interval_zero_turns_unsolicited_advertisements_off()
    {
        using var d = new MemoryDataplane();
        Assert.Throws<ArgumentOutOfRangeException>(() => d.Dataplane.RouterAdvertisementInterval = 601);
        d.Dataplane.RouterAdvertisementInterval = 0;
        Assert.Equal(0, d.Dataplane.RunTimers());
        d.Dataplane.Clock.Advance(3600);
        Assert.Equal(0, d.Dataplane.RunTimers());
        Assert.Empty(d.TakeAll());
        // Solicitations are still answered.
        d.Port("vm-a").Inject(RouterSolicitation(VmMacA, LinkLocalA));
        d.Dataplane.Drain();
        NeighborDiscoveryTests.AssertRouterAdvertisement(Assert.Single(d.TakeAll()["vm-a"]), "vm-a", dnsServers: []);
    }
}
