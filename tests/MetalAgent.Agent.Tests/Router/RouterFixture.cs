using System.Net.NetworkInformation;
using MetalAgent.Agent.Router;
using MetalAgent.Backends;
using MetalAgent.Backends.Memory;
using MetalAgent.ControlPlane.V1;
using MetalAgent.Dataplane.Runtime;
using static MetalAgent.Agent.Tests.Router.TestRouterFrames;

namespace MetalAgent.Agent.Tests.Router;

/// <summary>
/// A router over two in-memory ports driven on the test thread, with this view:
/// VirtualIP 203.0.113.10 → fc00:1:a::10; VirtualIP 2001:db8:ffff::10 → fc00:1:a::11;
/// load balancer 203.0.113.20 → fc00:1:a::20 and fc00:1:b::20; NAT 203.0.113.30 with slices
/// 1024-2047 on fc00:1:a::30 and 2048-3071 on fc00:1:b::30; VirtualIP 203.0.113.40 without owner.
/// The router is fc00:ffff::1 behind fc00:ffff::fffe, and 198.51.100.254/24, 2001:db8:eeee::fe/64 on the internet.
/// </summary>
internal sealed class RouterFixture : IDisposable
{
    public const string UnderlayAddress = "fc00:ffff::1";
    public const string UnderlayGateway = "fc00:ffff::fffe";
    public const string Internet4 = "198.51.100.254";
    public const string Internet6 = "2001:db8:eeee::fe";
    public const string Server4 = "198.51.100.7";
    public const string Server6 = "2001:db8:eeee::7";

    public RouterFixture(RouterSpec? spec = null)
    {
        var errors = new List<string>();
        Spec = spec ?? RouterSpec.Parse(UnderlayAddress, UnderlayGateway, null, [Internet4 + "/24", Internet6 + "/64"], [], 0, errors);
        Assert.Empty(errors);
        Underlay = new InMemoryPort("underlay", PortRole.Uplink, capacity: 512);
        Internet = new InMemoryPort("internet", PortRole.Uplink, capacity: 512);
        Clock.Set(1000);
        Pipeline = new RouterPipeline(Spec, Underlay.MacAddress, Internet.MacAddress);
        Worker = new RouterWorker(Pipeline, Underlay, Internet, Clock, poolSize: 512);
        SetView(View());
    }

    public RouterSpec Spec { get; }

    public DataplaneClock Clock { get; } = new();

    public InMemoryPort Underlay { get; }

    public InMemoryPort Internet { get; }

    public RouterPipeline Pipeline { get; }

    public RouterWorker Worker { get; }

    public RouterCounters Counters => Pipeline.Counters;

    public PhysicalAddress UnderlayMac => Mac(Underlay.MacAddress);

    public PhysicalAddress InternetMac => Mac(Internet.MacAddress);

    public static RouterViewUpdate View()
    {
        var view = new RouterViewUpdate { Version = 7 };
        view.Routes.Add(Route("203.0.113.10", PublicIpKind.VirtualIp, ("fc00:1:a::10", 0, 0)));
        view.Routes.Add(Route("203.0.113.20", PublicIpKind.LoadBalancer, ("fc00:1:a::20", 0, 0), ("fc00:1:b::20", 0, 0)));
        view.Routes.Add(Route("203.0.113.30", PublicIpKind.NatGateway, ("fc00:1:b::30", 2048, 3071), ("fc00:1:a::30", 1024, 2047)));
        view.Routes.Add(Route("203.0.113.40", PublicIpKind.VirtualIp));
        view.Routes.Add(Route("2001:db8:ffff::10", PublicIpKind.VirtualIp, ("fc00:1:a::11", 0, 0)));
        return view;
    }

    public static PublicIpRoute Route(string ip, PublicIpKind kind, params (string Underlay, uint First, uint Last)[] owners)
    {
        var route = new PublicIpRoute { Ip = ip, Kind = kind, Object = "default/" + ip };
        foreach ((string underlay, uint first, uint last) in owners)
        {
            route.Owners.Add(new PublicIpOwner { UnderlayAddress = underlay, Host = "host", FirstPort = first, LastPort = last });
        }
        return route;
    }

    public void SetView(RouterViewUpdate view)
    {
        var problems = new List<string>();
        Pipeline.Table = PublicIpTable.Build(view, problems);
        Assert.Empty(problems);
    }

    /// <summary>Injects one frame and runs a round; returns what left each port.</summary>
    public (List<byte[]> Underlay, List<byte[]> Internet) Inject(int port, byte[] frame)
    {
        Assert.True((port == RouterPipeline.UnderlayPort ? Underlay : Internet).Inject(frame));
        Worker.PollOnce();
        return Take();
    }

    public (List<byte[]> Underlay, List<byte[]> Internet) Take() => (Underlay.TakeAll(), Internet.TakeAll());

    /// <summary>Teaches the router the underlay gateway's MAC and the internet servers' MACs.</summary>
    public void LearnNeighbors()
    {
        Inject(RouterPipeline.UnderlayPort, Advertisement(UnderlayGatewayMac, UnderlayMac, UnderlayGateway, UnderlayAddress, router: true));
        Inject(RouterPipeline.InternetPort, Arp(2, ServerMac, Server4, InternetMac, Internet4));
        Inject(RouterPipeline.InternetPort, Advertisement(ServerMac, InternetMac, Server6, Internet6));
    }

    public void Dispose()
    {
        Underlay.Dispose();
        Internet.Dispose();
        Worker.Dispose();
    }
}
