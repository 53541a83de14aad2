using CsCheck;
using MetalAgent.Model.V1;
using MetalAgent.Model.Validation;

namespace MetalAgent.Model.Tests.Validation;

public sealed class HostSpecValidatorTests
{
    private static readonly Dictionary<string, Action<HostSpec>> s_validVariations = new()
    {
        ["mtu 0 and underlay mtu 0 mean defaults"] = s => { s.Host.Mtu = 0; s.Host.UnderlayMtu = 0; },
        ["jumbo mtu with jumbo underlay"] = s => { s.Host.Mtu = 9000; s.Host.UnderlayMtu = 9216; },
        ["no uplinks (local-only host)"] = s => s.Host.Uplinks.Clear(),
        ["gateway MAC not pinned"] = s => s.Host.Uplinks[0].GatewayMac = "",
        ["gateway with a global address"] = s => s.Host.Uplinks[0].GatewayAddress = "fc00:0:ff::2",
        ["peer VNI only on other hosts"] = s => s.Networks[2].Peerings.Add(new PeeringSpec { PeerVni = 300 }),
        ["IPv6 exported prefix"] = s => s.Networks[0].Peerings[0].ExportedPrefixes.Add("fd20::/48"),
        ["IPv6-only interface"] = s => { s.Interfaces[2].Ipv4 = ""; s.Interfaces[2].Ipv6 = "fd10::1"; },
        ["same IP in another VNI"] = s => s.Interfaces[2].Ipv6 = "fd10::1",
        ["uppercase IPv6 and MAC"] = s => { s.Interfaces[0].Ipv6 = "FD10::1"; s.Interfaces[0].Mac = "02:00:00:00:01:AB"; },
        ["IPv6 routed prefix"] = s => s.Interfaces[0].Prefixes.Add(new RoutedPrefixSpec { Prefix = "fd10:1::/64", UnderlayAddress = "fc00:1:a::6" }),
        ["IPv6 virtual IP"] = s => s.Interfaces[0].VirtualIpv6 = new VirtualIpSpec { Ip = "2001:db8:ffff::10", UnderlayAddress = "fc00:1:a::6" },
        ["NAT slice of a single port"] = s => s.Interfaces[1].NatIpv4.LastPort = 1024,
        ["NAT slice up to 65535"] = s => { s.NeighborNats[0].FirstPort = 65000; s.NeighborNats[0].LastPort = 65535; },
        ["adjacent NAT slices"] = s => s.Interfaces[2].NatIpv4 = new NatSliceSpec { PublicIp = "203.0.113.30", FirstPort = 1152, LastPort = 1215, UnderlayAddress = "fc00:1:a::22" },
        ["neighbor NAT for an IPv6 NAT IP"] = s => s.NeighborNats.Add(new NeighborNatSpec { PublicIp = "2001:db8:ffff::30", FirstPort = 2048, LastPort = 4095, Vni = 200, OwnerUnderlay = "fc00:1:b::7" }),
        ["single-label hostname"] = s => s.Interfaces[0].Hostname = "web-1",
        ["PXE not set"] = s => s.Interfaces[0].Pxe = null,
        ["PXE next server without boot file"] = s => s.Interfaces[0].Pxe.BootFile = "",
        ["metering without total"] = s => s.Interfaces[0].Metering.TotalRateMbps = 0,
        ["route next-hop VNI equal to its VNI"] = s => s.Routes[0].NextHopVni = 200,
        ["default route to another host"] = s => s.Routes.Add(new RemoteRouteSpec { Vni = 202, Prefix = "0.0.0.0/0", NextHopUnderlay = "fc00:1:b::99" }),
        ["same prefix in two VNIs"] = s => s.Routes.Add(new RemoteRouteSpec { Vni = 202, Prefix = "10.0.0.2/32", NextHopUnderlay = "fc00:1:b::99" }),
        ["LB without ports (all ports)"] = s => s.LoadBalancers[0].Ports.Clear(),
        ["LB without targets"] = s => s.LoadBalancers[1].Targets.Clear(),
        ["LB same port for different protocols"] = s => s.LoadBalancers[0].Ports.Add(new LoadBalancerPortSpec { Protocol = Protocol.Sctp, Port = 80 }),
        ["LB port range up to 65535"] = s => s.LoadBalancers[0].Ports.Add(new LoadBalancerPortSpec { Protocol = Protocol.Udp, Port = 60000, EndPort = 65535 }),
        ["dual-stack public LB"] = s => s.LoadBalancers[0].Ips.Add("2001:db8:ffff::20"),
        ["rule without ports (all protocols)"] = s => s.PolicyRules[0].Ports.Clear(),
        ["rule without peers (any peer)"] = s => s.PolicyRules[0].Peers.Clear(),
        ["deny rule"] = s => s.PolicyRules[0].Action = PolicyAction.Deny,
        ["peer cidr with host bits (masked)"] = s => s.PolicyRules[0].Peers[0].Cidr = "172.17.5.5/16",
        ["peer except with host bits (masked)"] = s => s.PolicyRules[0].Peers[0].Except[0] = "172.17.1.1/24",
        ["IPv6 peer with except"] = s => s.PolicyRules[0].Peers.Add(new PolicyPeerSpec { Cidr = "fd10::/64", Except = { "fd10::1/128" } }),
        ["ICMP type without code"] = s => s.PolicyRules[1].Ports[1].ClearIcmpCode(),
        ["ICMPv6 any type"] = s => s.PolicyRules[1].Ports.Add(new PolicyPortSpec { Protocol = Protocol.Icmpv6 }),
        ["SCTP port range"] = s => s.PolicyRules[1].Ports.Add(new PolicyPortSpec { Protocol = Protocol.Sctp, FirstPort = 1, LastPort = 65535 }),
    };

    public static TheoryData<string> VariationNames()
    {
        var data = new TheoryData<string>();
        foreach (string name in s_validVariations.Keys.Order(StringComparer.Ordinal))
        {
            data.Add(name);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(VariationNames))]
    public void Accepts_valid_variation(string name)
    {
        HostSpec spec = BaselineSpec.Create();
        s_validVariations[name](spec);
        Assert.Empty(HostSpecValidator.Validate(spec));
    }

    [Fact]
    public void Lists_every_problem_in_document_order_of_sections()
    {
        HostSpec spec = BaselineSpec.Create();
        spec.SchemaVersion = 3;
        spec.Host.Name = "";
        spec.Interfaces[2].Ipv4 = "10.0.0.300";
        spec.Interfaces[1].NatIpv4.FirstPort = 80;
        spec.Routes[0].NextHopUnderlay = "fc00:1:a::1";
        spec.LoadBalancers[0].Ports[1].EndPort = 1;
        spec.PolicyRules[0].Peers[0].Except.Add("10.0.0.0/8");

        IReadOnlyList<ValidationError> errors = HostSpecValidator.Validate(spec);

        Assert.Equal(
            [
                ("schemaVersion", ValidationErrorType.NotSupported),
                ("host.name", ValidationErrorType.Required),
                ("interfaces[1].natIpv4.firstPort", ValidationErrorType.Invalid),
                ("interfaces[2].ipv4", ValidationErrorType.Invalid),
                ("routes[0].nextHopUnderlay", ValidationErrorType.Invalid),
                ("loadBalancers[0].ports[1].endPort", ValidationErrorType.Invalid),
                ("policyRules[0].peers[0].except[1]", ValidationErrorType.Invalid),
            ],
            errors.Select(e => (e.Field, e.Type)));
    }

    [Fact]
    public void Empty_spec_reports_version_and_host()
    {
        IReadOnlyList<ValidationError> errors = HostSpecValidator.Validate(new HostSpec());
        Assert.Equal(["schemaVersion", "host"], errors.Select(e => e.Field));
    }

    [Fact]
    public void Errors_format_like_IronCore()
    {
        HostSpec spec = BaselineSpec.Create();
        spec.Interfaces[2].Ipv4 = "10.0.0.300";
        Assert.Equal("interfaces[2].ipv4: Invalid value: \"10.0.0.300\": not an IPv4 address",
            Assert.Single(HostSpecValidator.Validate(spec)).ToString());

        spec = BaselineSpec.Create();
        spec.SchemaVersion = 2;
        Assert.Equal("schemaVersion: Unsupported value: 2: supported values: \"1\"",
            Assert.Single(HostSpecValidator.Validate(spec)).ToString());

        spec = BaselineSpec.Create();
        spec.Host.Name = "";
        Assert.Equal("host.name: Required value", Assert.Single(HostSpecValidator.Validate(spec)).ToString());

        spec = BaselineSpec.Create();
        spec.Interfaces[2].Ipv4 = "fd10::7";
        Assert.Equal("interfaces[2].ipv4: Invalid value: \"fd10::7\": must be an IPv4 address, not IPv6",
            Assert.Single(HostSpecValidator.Validate(spec)).ToString());

        spec = BaselineSpec.Create();
        spec.Interfaces[0].Prefixes[0].Prefix = "10.0.1.7/24";
        Assert.Equal("interfaces[0].prefixes[0].prefix: Invalid value: \"10.0.1.7/24\": host bits set (did you mean 10.0.1.0/24?)",
            Assert.Single(HostSpecValidator.Validate(spec)).ToString());

        spec = BaselineSpec.Create();
        spec.NeighborNats[0].FirstPort = 1080;
        Assert.Equal("neighborNats[0].firstPort: Duplicate value: 1080: ports 1080..1151 of 203.0.113.30 overlap interfaces[1].natIpv4 (1024..1087)",
            Assert.Single(HostSpecValidator.Validate(spec)).ToString());

        Assert.Equal("a: Forbidden: no", new ValidationError("a", ValidationErrorType.Forbidden, "no", "ignored").ToString());
        Assert.Equal("a: Duplicate value: \"q\\\"\\\\\"", new ValidationError("a", ValidationErrorType.Duplicate, "", "q\"\\").ToString());
    }

    [Fact]
    public void Field_paths_follow_proto_json_names()
    {
        Assert.Equal("loadBalancers[0].ports[1].endPort",
            FieldPath.Root.Child("loadBalancers").Index(0).Child("ports").Index(1).Child("endPort").ToString());
        Assert.Equal("", FieldPath.Root.ToString());
        Assert.Equal("[3]", FieldPath.Root.Index(3).ToString());
        Assert.Equal("a.b[1].c", FieldPath.Root.Child("a").Child("b").Index(1).Child("c").ToString());
        Assert.Equal(FieldPath.Root.Child("a").Child("b"), FieldPath.Root.Child("a.b"));
    }

    /// <summary>Host-bit detection agrees with <see cref="MetalAgent.Packets.Addresses.TryParsePrefix"/> on random prefixes.</summary>
    [Fact]
    public void Prefix_host_bits_match_the_packets_parser()
    {
        Gen.Select(Gen.Bool, Gen.UInt, Gen.UInt, Gen.Int[0, 128]).Sample((v6, high, low, length) =>
        {
            string text = v6
                ? $"fd{high >> 24:x2}:{high & 0xffff:x}:{(high >> 8) & 0xffff:x}:{low >> 16:x}:{low & 0xffff:x}:{(low >> 4) & 0xffff:x}:1:{low & 0xff:x}/{length}"
                : $"{(high % 223) + 1}.{low >> 24}.{(low >> 16) & 255}.{low & 255}/{length % 33}";
            HostSpec spec = BaselineSpec.Create();
            spec.Interfaces[0].Prefixes[0].Prefix = text;
            Assert.True(MetalAgent.Packets.Addresses.TryParsePrefix(text, out _, out _, out _, out bool hostBitsSet));
            IReadOnlyList<ValidationError> errors = HostSpecValidator.Validate(spec);
            if (hostBitsSet)
            {
                Assert.Equal("interfaces[0].prefixes[0].prefix", Assert.Single(errors).Field);
            }
            else
            {
                // A prefix without host bits may still collide with a route the baseline already has.
                Assert.All(errors, e => Assert.Equal(ValidationErrorType.Duplicate, e.Type));
            }
        }, iter: 2000);
    }

    /// <summary>NAT overlap detection against a naive reference: a slice is reported exactly when it
    /// shares a port with an earlier slice (document order: interfaces, then neighbor NATs) of the same IP.</summary>
    [Fact]
    public void Nat_overlaps_match_a_naive_reference()
    {
        Gen<(int Ip, uint First, uint Length)> slice = Gen.Select(Gen.Int[0, 1], Gen.UInt[1024, 1300], Gen.UInt[0, 80]);
        slice.Array[1, 12].Sample(slices =>
        {
            HostSpec spec = BaselineSpec.Create();
            foreach (InterfaceSpec i in spec.Interfaces)
            {
                i.NatIpv4 = null;
                i.NatIpv6 = null;
            }
            spec.NeighborNats.Clear();
            for (int k = 0; k < slices.Length; k++)
            {
                (int ip, uint first, uint length) = slices[k];
                spec.NeighborNats.Add(new NeighborNatSpec
                {
                    PublicIp = ip == 0 ? "203.0.113.30" : "203.0.113.31",
                    FirstPort = first,
                    LastPort = first + length,
                    Vni = 200,
                    OwnerUnderlay = $"fc00:1:b::{k + 1:x}",
                });
            }

            var expected = new List<string>();
            for (int k = 0; k < slices.Length; k++)
            {
                for (int e = 0; e < k; e++)
                {
                    if (slices[e].Ip == slices[k].Ip
                        && slices[e].First <= slices[k].First + slices[k].Length
                        && slices[k].First <= slices[e].First + slices[e].Length)
                    {
                        expected.Add($"neighborNats[{k}].firstPort");
                        break;
                    }
                }
            }

            IReadOnlyList<ValidationError> errors = HostSpecValidator.Validate(spec);
            Assert.All(errors, e => Assert.Equal(ValidationErrorType.Duplicate, e.Type));
            Assert.Equal(expected, errors.Select(e => e.Field));
        }, iter: 2000);
    }

    [Fact]
    public void Validation_is_deterministic()
    {
        HostSpec spec = BaselineSpec.Create();
        spec.Interfaces[0].Id = "db-1";
        spec.Routes[1].NextHopVni = 202;
        spec.LoadBalancers[0].Targets.Add("fc00:1:a::77");
        string first = string.Join('\n', HostSpecValidator.Validate(spec));
        string second = string.Join('\n', HostSpecValidator.Validate(spec.Clone()));
        Assert.Equal(first, second);
        Assert.NotEmpty(first);
    }
}
