using MetalAgent.Agent.Sync;
using MetalAgent.ControlPlane.Configuration;
using MetalAgent.ControlPlane.Manifests;
using MetalAgent.ControlPlane.Allocation;
using MetalAgent.ControlPlane.State;
using MetalAgent.ControlPlane.Sync;
using MetalAgent.ControlPlane.V1;
using MetalAgent.Model.V1;
using Microsoft.Extensions.Logging.Abstractions;
using PacketDotNet;

namespace MetalAgent.Agent.Tests;

/// <summary>The all-or-nothing apply, fed StateUpdates directly.</summary>
public sealed class HostApplierTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "metalagent-applier-" + Guid.NewGuid().ToString("N"));
    private readonly MemoryPortBackend _backend = new();
    private readonly Dataplane.Runtime.Dataplane _dataplane = new();
    private readonly HostApplier _applier;
    private readonly HostSpec _spec;

    public HostApplierTests()
    {
        var settings = new AgentSettings
        {
            HostName = "host-a",
            UnderlayPrefix = "fc00:1:a::/64",
            StateDirectory = _dir,
            Uplinks = [new UplinkSpec { Name = "uplink0", GatewayAddress = "fe80::1", GatewayMac = "02:00:00:00:ff:01" }],
        };
        _applier = new HostApplier(settings, _dataplane, _backend, NullLogger.Instance);
        string config = """
            routerUnderlayAddress: fc00:0:ff::1
            publicPools: [203.0.113.0/24, 2001:db8:ffff::/48]
            hosts:
            - name: host-a
              underlayPrefix: fc00:1:a::/64
            - name: host-b
              underlayPrefix: fc00:1:b::/64
            """;
        var engine = new ControlPlaneEngine(ControlPlaneConfig.Parse(config, AppContext.BaseDirectory), new MemoryStateStore());
        _spec = engine.Apply(ManifestSet.Load(Path.Combine(AppContext.BaseDirectory, "Data", "quickstart.yaml"))).Hosts["host-a"].Spec;
        _dataplane.Start();
    }

    public void Dispose()
    {
        _dataplane.Dispose();
        _backend.Dispose();
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private static StateUpdate Full(HostSpec spec, string nonce) =>
        new() { Version = spec.Version, Nonce = nonce, Full = spec, StateSha256 = HostSpecDiff.Sha256(spec) };

    [Fact]
    public async Task An_invalid_state_is_nacked_with_every_error_and_the_last_good_state_keeps_forwarding()
    {
        AgentMessage first = _applier.Apply(Full(_spec, "1"), out bool applied);
        Assert.True(applied);
        Assert.Equal(new Ack { Nonce = "1", Version = _spec.Version }, first.Ack);

        HostSpec bad = _spec.Clone();
        bad.Version++;
        bad.Interfaces.Single(i => i.Id == "web-1").Ipv4 = "10.0.0.300";
        bad.Interfaces.Single(i => i.Id == "db-1").Vni = 0;
        AgentMessage answer = _applier.Apply(Full(bad, "2"), out applied);
        Assert.False(applied);
        Assert.Equal(AgentMessage.MessageOneofCase.Nack, answer.MessageCase);
        Assert.Equal(("2", bad.Version, false), (answer.Nack.Nonce, answer.Nack.Version, answer.Nack.Resync));
        Assert.Contains(answer.Nack.Errors, e => e.Field.Contains("ipv4", StringComparison.Ordinal) && e.Value == "10.0.0.300");
        Assert.True(answer.Nack.Errors.Count >= 2);
        Assert.Equal(_spec.Version, _applier.Version);

        InMemoryPortExchange web1 = new(_backend.Port("web-1")!);
        byte[] reply = await web1.Exchange(Frames.ArpRequest(Frames.VmMac, "10.0.0.1"));
        Assert.Equal(ArpOperation.Response, Frames.Parse(reply).Extract<ArpPacket>().Operation);
        Assert.Equal(_spec, MetalAgent.Model.StateFiles.HostStateFile.Load(Path.Combine(_dir, "hostspec.json")));
    }

    [Fact]
    public void A_delta_on_another_base_or_with_the_wrong_digest_asks_for_a_resync()
    {
        _applier.Apply(Full(_spec, "1"), out _);
        HostSpec next = _spec.Clone();
        next.Version++;
        next.Interfaces.Single(i => i.Id == "web-1").Hostname = "web-1.example";
        HostSpecDelta delta = HostSpecDiff.Compute(_spec, next);

        HostSpecDelta wrongBase = delta.Clone();
        wrongBase.BaseVersion = _spec.Version + 7;
        AgentMessage answer = _applier.Apply(new StateUpdate { Version = next.Version, Nonce = "2", Delta = wrongBase, StateSha256 = HostSpecDiff.Sha256(next) }, out bool applied);
        Assert.False(applied);
        Assert.True(answer.Nack.Resync);

        answer = _applier.Apply(new StateUpdate { Version = next.Version, Nonce = "3", Delta = delta, StateSha256 = new string('0', 64) }, out applied);
        Assert.False(applied);
        Assert.True(answer.Nack.Resync);
        Assert.Equal(_spec.Version, _applier.Version);

        answer = _applier.Apply(new StateUpdate { Version = next.Version, Nonce = "4", Delta = delta, StateSha256 = HostSpecDiff.Sha256(next) }, out applied);
        Assert.True(applied);
        Assert.Equal(next.Version, answer.Ack.Version);
        Assert.Equal(next, _applier.Spec);
    }

    [Fact]
    public void A_port_that_fails_to_open_is_reported_in_error_and_the_others_available()
    {
        _backend.Failing["db-1"] = "no such device";
        _applier.Apply(Full(_spec, "1"), out bool applied);
        Assert.True(applied);
        InterfaceStatusReport report = _applier.StatusReport();
        Assert.Equal(_spec.Version, report.Version);
        InterfaceStatus db = report.Interfaces.Single(s => s.Id == "db-1");
        Assert.Equal(ControlPlane.V1.InterfaceState.Error, db.State);
        Assert.Contains("no such device", db.Reason, StringComparison.Ordinal);
        Assert.Equal(ControlPlane.V1.InterfaceState.Available, report.Interfaces.Single(s => s.Id == "web-1").State);
    }

    /// <summary>Inject a frame into a port and wait for the answer on the same port.</summary>
    private sealed class InMemoryPortExchange(Backends.Memory.InMemoryPort port)
    {
        public Task<byte[]> Exchange(byte[] frame) => AgentSyncTests.Exchange(port, frame, port);
    }
}
