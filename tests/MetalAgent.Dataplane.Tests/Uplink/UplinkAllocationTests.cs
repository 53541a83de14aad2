using MetalAgent.Dataplane.Tests.Gateway;
using static MetalAgent.Dataplane.Tests.Gateway.GatewayFrames;
using static MetalAgent.Dataplane.Tests.TestFrames;

namespace MetalAgent.Dataplane.Tests.Uplink;

/// <summary>Gateway resolution allocates nothing: a round that forgets the MAC, sends the
/// solicitation from the timer, holds an encapsulated frame, takes the advertisement and releases
/// the frame, measured on the thread that runs the workers.</summary>
public class UplinkAllocationTests
{
    [Fact]
    public void Resolving_the_gateway_and_releasing_waiting_frames_allocates_nothing()
    {
        using var d = new MemoryDataplane(UplinkNeighborTests.Unpinned());
        d.Dataplane.RouterAdvertisementInterval = 0;
        d.Port("vm-a").Inject(ArpRequest(VmMacA, "10.0.0.1"));
        d.Dataplane.Drain();
        byte[] vmFrame = Eth(VmMacA, Any, Udp("10.0.0.1", "10.0.0.3", 1000, 53));
        byte[] advertisement = UplinkNeighborTests.GatewayAdvertisement(Mac(d.Port("uplink0").MacAddress));
        byte[] solicitation = NeighborSolicitation(RouterMac, "fe80::aa", "fc00:1:a::10");

        void Round()
        {
            d.Dataplane.Current!.Interfaces.GatewayMac = 0;
            d.Dataplane.Clock.Advance(1);
            d.Dataplane.RunTimers();
            d.Port("vm-a").Inject(vmFrame);
            d.Dataplane.Drain();
            d.Port("uplink0").Inject(advertisement);
            d.Port("uplink0").Inject(solicitation);
            d.Dataplane.Drain();
            d.Port("uplink0").DiscardSent();
            d.Port("vm-a").DiscardSent();
        }

        for (int r = 0; r < 100; r++)
        {
            Round();
        }
        var perWindow = new List<long>();
        for (int w = 0; w < 8 && (perWindow.Count < 2 || perWindow[^1] != 0); w++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int r = 0; r < 50; r++)
            {
                Round();
            }
            perWindow.Add(GC.GetAllocatedBytesForCurrentThread() - before);
        }
        Assert.True(perWindow[^1] == 0, $"bytes allocated per window of 50 rounds: {string.Join(", ", perWindow)}");
        long rounds = 100 + (50L * perWindow.Count);
        Assert.Equal(rounds, d.Dataplane.Sum(c => c.GatewaySolicitations));
        Assert.Equal(rounds, d.Dataplane.Sum(c => c.GatewayWaited));
    }
}
