using CsCheck;
using MetalAgent.ControlPlane.Allocation;
using MetalAgent.ControlPlane.Manifests;
using MetalAgent.ControlPlane.State;
using MetalAgent.ControlPlane.Sync;
using MetalAgent.ControlPlane.V1;
using MetalAgent.Model.V1;

namespace MetalAgent.ControlPlane.Tests;

public class HostSpecDiffTests
{
    /// <summary>Every element of the quickstart states (both hosts, before and after a label change): the
    /// pool random specs are drawn from, so keys collide and contents differ as they do in practice.</summary>
    private static readonly HostSpec[] s_pool = BuildPool();

    private static HostSpec[] BuildPool()
    {
        var engine = new ControlPlaneEngine(TestData.Config(), new MemoryStateStore());
        var before = engine.Apply(TestData.Quickstart());
        var after = engine.Apply(ManifestSet.Parse(ManifestChangeTests.Web2AsDb(TestData.QuickstartYaml)));
        return [before.Hosts["host-a"].Spec, before.Hosts["host-b"].Spec, after.Hosts["host-a"].Spec, after.Hosts["host-b"].Spec];
    }

    /// <summary>A spec made of a random subset of the pool's elements, one element per key.</summary>
    private static Gen<HostSpec> SpecGen =>
        Gen.Select(Gen.Int[0, 3], Gen.ULong[0, 1000], Gen.Bool.Array[64], (hostIndex, version, mask) =>
        {
            var spec = new HostSpec { SchemaVersion = 1, Version = version, Host = s_pool[hostIndex].Host.Clone() };
            int bit = 0;
            bool Take() => mask[bit++ % mask.Length];
            void Pick<T, TKey>(Func<HostSpec, IEnumerable<T>> items, Func<T, TKey> key, Google.Protobuf.Collections.RepeatedField<T> into)
                where TKey : notnull
            {
                var seen = new HashSet<TKey>();
                foreach (T item in s_pool.SelectMany(items))
                {
                    if (Take() && seen.Add(key(item)))
                    {
                        into.Add(item);
                    }
                }
            }
            Pick(s => s.Networks, n => n.Vni, spec.Networks);
            Pick(s => s.Interfaces, i => i.Id, spec.Interfaces);
            Pick(s => s.Routes, r => (r.Vni, r.Prefix), spec.Routes);
            Pick(s => s.NeighborNats, n => (n.PublicIp, n.FirstPort), spec.NeighborNats);
            Pick(s => s.LoadBalancers, l => l.Id, spec.LoadBalancers);
            Pick(s => s.PolicyRules, p => p.Id, spec.PolicyRules);
            HostSpecOrder.Sort(spec);
            return spec;
        });

    [Fact]
    public void Applying_the_delta_gives_the_target_spec()
    {
        Gen.Select(SpecGen, SpecGen).Sample((from, to) =>
        {
            HostSpecDelta delta = HostSpecDiff.Compute(from, to);
            HostSpec applied = HostSpecDiff.Apply(from, delta, to.Version);
            Assert.Equal(to, applied);
            Assert.Equal(HostSpecDiff.Sha256(to), HostSpecDiff.Sha256(applied));
            Assert.Equal(from.Equals(new HostSpec(to) { Version = from.Version }), HostSpecDiff.IsEmpty(delta));
        }, iter: 300);
    }

    [Fact]
    public void A_delta_for_another_base_version_is_refused()
    {
        HostSpec spec = s_pool[0];
        HostSpecDelta delta = HostSpecDiff.Compute(spec, s_pool[2]);
        Assert.Throws<InvalidOperationException>(() => HostSpecDiff.Apply(new HostSpec(spec) { Version = spec.Version + 1 }, delta, 9));
    }
}
