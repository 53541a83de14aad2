using MetalAgent.ControlPlane.Allocation;
using MetalAgent.ControlPlane.Manifests;
using MetalAgent.ControlPlane.State;
using MetalAgent.ControlPlane.V1;
using MetalAgent.Model.V1;
using MetalAgent.Model.Validation;

namespace MetalAgent.ControlPlane.Tests;

public class ManifestChangeTests
{
    /// <summary>The quickstart with web-2's label app: web turned into app: db.</summary>
    internal static string Web2AsDb(string yaml) => yaml.Replace(
        "  name: web-2\n  labels:\n    app: web\n", "  name: web-2\n  labels:\n    app: db\n", StringComparison.Ordinal);

    private static void AssertValid(ControlPlaneSnapshot snapshot)
    {
        foreach (VersionedHostState state in snapshot.Hosts.Values)
        {
            Assert.Empty(HostSpecValidator.Validate(state.Spec));
        }
    }

    [Fact]
    public void A_label_change_moves_an_interface_out_of_the_load_balancer_and_into_the_policy()
    {
        var engine = new ControlPlaneEngine(TestData.Config(), new MemoryStateStore());
        ControlPlaneSnapshot before = engine.Apply(TestData.Quickstart());
        string changed = Web2AsDb(TestData.QuickstartYaml);
        Assert.NotEqual(TestData.QuickstartYaml, changed);
        ControlPlaneSnapshot after = engine.Apply(ManifestSet.Parse(changed));
        AssertValid(after);

        HostSpec a = after.Hosts["host-a"].Spec;
        HostSpec b = after.Hosts["host-b"].Spec;
        // web-2 left the LB: host-b no longer carries it, host-a's has one target left.
        Assert.Empty(b.LoadBalancers);
        Assert.Empty(b.Interfaces.Single(i => i.Id == "web-2").LbAliasPrefixes);
        Assert.Equal([a.Interfaces.Single(i => i.Id == "web-1").LbAliasPrefixes[0].UnderlayAddress], a.LoadBalancers.Single().Targets);
        Assert.Single(after.RouterView.Routes.Single(r => r.Kind == PublicIpKind.LoadBalancer).Owners);
        // web-2 is now selected by the db policy, on host-b; and no longer an app=web peer of db-1.
        InterfaceSpec web2 = b.Interfaces.Single(i => i.Id == "web-2");
        Assert.True(web2.IngressPolicy);
        Assert.True(web2.EgressPolicy);
        Assert.Equal(2, b.PolicyRules.Count);
        Assert.All(b.PolicyRules, r => Assert.Equal(["web-2"], r.TargetInterfaces));
        PolicyRuleSpec ingressA = a.PolicyRules.Single(r => r.Direction == PolicyDirection.Ingress);
        Assert.DoesNotContain(ingressA.Peers, p => p.Cidr is "10.0.0.2/32" or "fd10::2/128");
        Assert.Contains(ingressA.Peers, p => p.Cidr == "10.0.0.1/32");

        // Both hosts changed, so both versions moved on; nothing else (allocations) moved.
        Assert.Equal(2UL, after.Hosts["host-a"].Version);
        Assert.Equal(2UL, after.Hosts["host-b"].Version);
        Assert.Equal(before.Hosts["host-a"].Spec.Interfaces.Select(i => i.UnderlayAddress), a.Interfaces.Select(i => i.UnderlayAddress));

        // And back: web-2 is a target again, at a fresh alias /128 (the old one was released).
        ControlPlaneSnapshot back = engine.Apply(TestData.Quickstart());
        AssertValid(back);
        Assert.Equal(2, back.Hosts["host-b"].Spec.LoadBalancers.Single().Targets.Count);
        Assert.False(back.Hosts["host-b"].Spec.Interfaces.Single(i => i.Id == "web-2").IngressPolicy);
        Assert.Equal(3UL, back.Hosts["host-b"].Version);
    }

    [Fact]
    public void Versions_only_move_for_hosts_whose_state_changed()
    {
        var engine = new ControlPlaneEngine(TestData.Config(), new MemoryStateStore());
        engine.Apply(TestData.Quickstart());
        ControlPlaneSnapshot same = engine.Apply(TestData.Quickstart());
        Assert.Equal(1UL, same.Hosts["host-a"].Version);
        Assert.Equal(1UL, same.Hosts["host-b"].Version);
        Assert.Equal(1UL, same.RouterView.Version);

        // other-1 lives alone in network-isolated on host-a: a new prefix there changes host-a only.
        string yaml = TestData.QuickstartYaml.Replace(
            "  - value: 10.0.0.1\n---\napiVersion: compute.ironcore.dev/v1alpha1",
            "  - value: 10.0.0.1\n  prefixes:\n  - value: 10.9.0.0/24\n---\napiVersion: compute.ironcore.dev/v1alpha1", StringComparison.Ordinal);
        Assert.NotEqual(TestData.QuickstartYaml, yaml);
        ControlPlaneSnapshot changed = engine.Apply(ManifestSet.Parse(yaml));
        AssertValid(changed);
        Assert.Equal(2UL, changed.Hosts["host-a"].Version);
        Assert.Equal(1UL, changed.Hosts["host-b"].Version);
        RoutedPrefixSpec prefix = changed.Hosts["host-a"].Spec.Interfaces.Single(i => i.Id == "other-1").Prefixes.Single();
        Assert.Equal("10.9.0.0/24", prefix.Prefix);
    }

    [Fact]
    public void A_bad_manifest_is_reported_with_field_paths_and_the_rest_is_served()
    {
        string bad = TestData.QuickstartYaml + """
            ---
            apiVersion: networking.ironcore.dev/v1alpha1
            kind: NetworkInterface
            metadata:
              name: broken-1
            spec:
              networkRef:
                name: network-sample
              ipFamilies: [IPv4]
              ips:
              - value: 10.0.0.300
            ---
            apiVersion: networking.ironcore.dev/v1alpha1
            kind: NetworkPolicy
            metadata:
              name: no-ports
            spec:
              networkRef: {name: network-sample}
              policyTypes: [Ingress, Sideways]
              ingress:
              - from:
                - ipBlock: {cidr: 10.0.0.0/8, except: [11.0.0.0/16]}
            ---
            apiVersion: networking.ironcore.dev/v1alpha1
            kind: LoadBalancer
            metadata:
              name: bad-lb
            spec:
              type: Public
              ips: [{value: 10.0.0.5}]
              networkRef: {name: network-sample}
              ports:
              - {protocol: ICMP, port: 80}
              - {port: 90, endPort: 80}
            ---
            kind: Gateway
            apiVersion: networking.ironcore.dev/v1alpha1
            metadata: {name: what}
            ---
            this: [is not yaml
            """;
        var engine = new ControlPlaneEngine(TestData.Config(), new MemoryStateStore());
        ControlPlaneSnapshot snapshot = engine.Apply(ManifestSet.Parse(bad, "bad.yaml"));
        AssertValid(snapshot);
        Assert.Equal(["db-1", "other-1", "web-1"], snapshot.Hosts["host-a"].Spec.Interfaces.Select(i => i.Id));

        static IEnumerable<(string, FieldErrorType)> Errors(ControlPlaneSnapshot s, string name) =>
            s.Objects.Single(o => o.Name == name).Errors.Select(e => (e.Field, e.Type));
        Assert.Equal([("spec.ips[0].value", FieldErrorType.Invalid)], Errors(snapshot, "broken-1"));
        Assert.Equal(
            [
                ("spec.ingress[0].from[0].ipBlock.except[0]", FieldErrorType.Invalid),
                ("spec.ingress[0].ports", FieldErrorType.Required),
                ("spec.policyTypes[1]", FieldErrorType.NotSupported),
            ],
            Errors(snapshot, "no-ports"));
        Assert.Equal(
            [
                ("spec.ips", FieldErrorType.Forbidden),
                ("spec.ports[0].protocol", FieldErrorType.NotSupported),
                ("spec.ports[1].endPort", FieldErrorType.Invalid),
            ],
            Errors(snapshot, "bad-lb"));
        Assert.False(snapshot.Objects.Single(o => o.Name == "broken-1").InForce);

        Assert.Equal(2, snapshot.Problems.Count);
        Assert.Equal("kind", snapshot.Problems[0].Errors.Single().Field);
        Assert.Equal(ValidationErrorType.NotSupported, snapshot.Problems[0].Errors.Single().Type);
        Assert.Contains("YAML syntax error", snapshot.Problems[1].Errors.Single().Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void An_object_that_becomes_invalid_keeps_its_last_valid_version_in_force()
    {
        var store = new MemoryStateStore();
        var engine = new ControlPlaneEngine(TestData.Config(), store);
        engine.Apply(TestData.Quickstart());
        // A broken edit of the policy: its ingress rule loses its ports.
        string broken = TestData.QuickstartYaml.Replace(
            "    ports:\n    - protocol: TCP\n      port: 5432\n", string.Empty, StringComparison.Ordinal);
        Assert.NotEqual(TestData.QuickstartYaml, broken);
        ControlPlaneSnapshot snapshot = engine.Apply(ManifestSet.Parse(broken));
        ObjectStatus policy = snapshot.Objects.Single(o => o.Kind == "NetworkPolicy");
        Assert.Equal("spec.ingress[0].ports", Assert.Single(policy.Errors).Field);
        Assert.True(policy.Stale);
        Assert.True(policy.InForce);
        HostSpec a = snapshot.Hosts["host-a"].Spec;
        Assert.True(a.Interfaces.Single(i => i.Id == "db-1").IngressPolicy);
        Assert.Equal(5432u, a.PolicyRules.Single(r => r.Direction == PolicyDirection.Ingress).Ports.Single().FirstPort);
        Assert.Equal(1UL, snapshot.Hosts["host-a"].Version);

        // Also after a restart: the last valid version is persisted.
        var restarted = new ControlPlaneEngine(TestData.Config(), store);
        ControlPlaneSnapshot again = restarted.Apply(ManifestSet.Parse(broken));
        Assert.True(again.Objects.Single(o => o.Kind == "NetworkPolicy").Stale);
        Assert.Equal(snapshot.Hosts["host-a"].Sha256, again.Hosts["host-a"].Sha256);
    }

    private const string Extra = """

        ---
        apiVersion: networking.ironcore.dev/v1alpha1
        kind: NetworkInterface
        metadata: {name: aaa-extra}
        spec:
          networkRef: {name: network-sample}
          ips: [{value: 10.0.0.99}]
        ---
        apiVersion: compute.ironcore.dev/v1alpha1
        kind: Machine
        metadata: {name: aaa-extra}
        spec:
          machinePoolRef: {name: host-b}
          networkInterfaces:
          - name: primary
            networkInterfaceRef: {name: aaa-extra}
        """;

    [Fact]
    public void Allocations_and_versions_survive_a_restart_with_the_same_store()
    {
        string dir = TestData.TempDirectory();
        try
        {
            string path = Path.Combine(dir, "state.json");
            var first = new ControlPlaneEngine(TestData.Config(), new JsonFileStateStore(path));
            // An interface that comes first and goes: the others keep the /128s they got after it.
            first.Apply(ManifestSet.Parse(TestData.QuickstartYaml + Extra));
            ControlPlaneSnapshot before = first.Apply(TestData.Quickstart());
            Assert.True(File.Exists(path));

            // A new server reads the manifests in another order: nothing moves.
            var reordered = ManifestSet.FromFiles(
                TestData.QuickstartYaml.Split("\n---\n").Reverse().Select((doc, i) => ($"part{i}.yaml", doc)));
            var second = new ControlPlaneEngine(TestData.Config(), new JsonFileStateStore(path));
            ControlPlaneSnapshot after = second.Apply(reordered);
            foreach (string host in new[] { "host-a", "host-b" })
            {
                Assert.Equal(before.Hosts[host].Spec, after.Hosts[host].Spec);
                Assert.Equal(before.Hosts[host].Sha256, after.Hosts[host].Sha256);
            }
            Assert.Equal(before.RouterView, after.RouterView);
            Assert.Equal(
                before.Objects.Single(o => o.Name == "network-sample").Network.ProviderId,
                after.Objects.Single(o => o.Name == "network-sample").Network.ProviderId);

            // A fresh store would hand batch-1 the lowest /128; the restarted server kept the old one.
            var fresh = new ControlPlaneEngine(TestData.Config(), new MemoryStateStore()).Apply(TestData.Quickstart());
            Assert.Equal("fc00:1:b::1", fresh.Hosts["host-b"].Spec.Interfaces.Single(i => i.Id == "batch-1").UnderlayAddress);
            Assert.Equal("fc00:1:b::2", after.Hosts["host-b"].Spec.Interfaces.Single(i => i.Id == "batch-1").UnderlayAddress);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void An_address_already_used_in_the_network_is_refused_for_the_newcomer()
    {
        string yaml = TestData.QuickstartYaml + """
            ---
            apiVersion: networking.ironcore.dev/v1alpha1
            kind: NetworkInterface
            metadata: {name: aaa-copycat}
            spec:
              networkRef: {name: network-sample}
              ips: [{value: 10.0.0.2}]
            """;
        var engine = new ControlPlaneEngine(TestData.Config(), new MemoryStateStore());
        engine.Apply(TestData.Quickstart());
        ControlPlaneSnapshot snapshot = engine.Apply(ManifestSet.Parse(yaml));
        AssertValid(snapshot);
        ObjectStatus copycat = snapshot.Objects.Single(o => o.Name == "aaa-copycat");
        Assert.Contains("10.0.0.2/32 is already used in network network-sample by NetworkInterface/default/web-2", copycat.Conditions);
        Assert.Equal("Error", copycat.NetworkInterface.State);
        Assert.Equal(1UL, snapshot.Hosts["host-b"].Version);
    }
}
