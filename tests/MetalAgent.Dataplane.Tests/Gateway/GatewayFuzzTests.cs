using CsCheck;
using MetalAgent.Packets;
using static MetalAgent.Dataplane.Tests.Gateway.GatewayFrames;
using static MetalAgent.Dataplane.Tests.TestFrames;

namespace MetalAgent.Dataplane.Tests.Gateway;

/// <summary>Damaged gateway requests (bytes overwritten, messages cut short, with correct UDP and
/// ICMPv6 checksums so the damage reaches the DHCP and ND readers): the worker never throws, each
/// request gets at most one answer, and every answer is well formed.</summary>
public sealed class GatewayFuzzTests : IDisposable
{
    // One dataplane for all samples (samples run on one thread): each sample is one request in, at most one answer out.
    private readonly MemoryDataplane _dataplane = new(ringCapacity: 4);

    private static readonly byte[][] DhcpV4Seeds =
    [
        Dhcp4(VmMacA, Type4(1), RequestList()),
        Dhcp4(VmMacA, Type4(3), Ip4Option(50, "10.0.0.1"), Ip4Option(54, "169.254.0.1")),
        Dhcp4(VmMacA, 0x0A000001, false, Type4(8)),
    ];

    private static readonly byte[][] DhcpV6Seeds =
    [
        Dhcp6(1, ClientId6(VmMacA), ElapsedTime6(), IaNa(), OptionRequest6()),
        Dhcp6(3, ClientId6(VmMacA), ServerId6(GatewayMac("vm-a")), IaNa("fd00::1")),
        Dhcp6(4, ClientId6(VmMacA), IaNa("fd00::1", "fd00::2")),
    ];

    private static readonly byte[][] NdSeeds =
    [
        NeighborSolicitation(VmMacA, LinkLocalA, GatewayIPv6)[54..],
        RouterSolicitation(VmMacA, LinkLocalA)[54..],
    ];

    /// <summary>A seed with up to eight bytes overwritten, optionally cut short.</summary>
    private static Gen<byte[]> Damaged(byte[][] seeds, int keep) =>
        Gen.Select(Gen.Int[0, seeds.Length - 1], Gen.Select(Gen.Int[0, 400], Gen.Byte).Array[1, 8], Gen.Int[0, 3], Gen.Int[0, 400])
            .Select((seed, writes, cut, length) =>
            {
                byte[] m = (byte[])seeds[seed].Clone();
                foreach ((int at, byte value) in writes)
                {
                    m[keep + (at % (m.Length - keep))] = value;
                }
                return cut == 0 ? m[..Math.Min(m.Length, length)] : m;
            });

    [Fact]
    public void Damaged_dhcpv4_requests_are_dropped_or_answered_well() =>
        Damaged(DhcpV4Seeds, keep: 0).Sample(payload => Check(Dhcp4Frame(VmMacA, payload, src: "10.0.0.1")), iter: 200, threads: 1);

    [Fact]
    public void Damaged_dhcpv6_requests_are_dropped_or_answered_well() =>
        Damaged(DhcpV6Seeds, keep: 0).Sample(payload => Check(Dhcp6Frame(VmMacA, LinkLocalA, payload)), iter: 200, threads: 1);

    [Fact]
    public void Damaged_neighbor_discovery_is_dropped_or_answered_well() =>
        // The type byte stays: other types are not the gateway's.
        Damaged(NdSeeds, keep: 1).Sample(body => Check(Icmp6(VmMacA, LinkLocalA, "ff02::2", body)), iter: 200, threads: 1);

    public void Dispose() => _dataplane.Dispose();

    private void Check(byte[] frame)
    {
        MemoryDataplane d = _dataplane;
        d.Port("vm-a").Inject(frame);
        d.Dataplane.Drain();
        Dictionary<string, List<byte[]>> sent = d.TakeAll();
        Assert.True(sent.Count == 0 || (sent.Count == 1 && sent.ContainsKey("vm-a") && sent["vm-a"].Count == 1));
        if (sent.Count == 0)
        {
            return;
        }
        byte[] answer = sent["vm-a"][0];
        var h = new PacketHeaders();
        Assert.Equal(ParseError.None, PacketParser.ParseEthernet(answer, ref h));
        Assert.Equal(L4ChecksumStatus.Valid, Checksums.VerifyL4(answer, in h));
        ReadOnlySpan<byte> l4 = answer.AsSpan(h.L4Offset, h.L3End - h.L4Offset);
        if (h.Protocol == IpProtocols.Udp && h.IpVersion == 4)
        {
            Assert.Equal(Dhcp4Error.None, Dhcp4Message.TryParse(l4[8..], out Dhcp4Message m));
            Assert.Equal(Dhcp4Message.BootReply, m.Op);
        }
        else if (h.Protocol == IpProtocols.Udp)
        {
            Assert.Equal(Dhcp6Error.None, Dhcp6Message.TryParse(l4[8..], out Dhcp6Message m));
            Assert.True(m.MessageType is Dhcp6MessageType.Advertise or Dhcp6MessageType.Reply);
        }
        else
        {
            Assert.Equal(IpProtocols.IcmpV6, h.Protocol);
            Assert.Equal(NdError.None, NdMessage.TryParse(l4, out NdMessage m));
            Assert.True(m.Type is IcmpTypes.NeighborAdvertisement or IcmpTypes.RouterAdvertisement);
        }
    }
}
