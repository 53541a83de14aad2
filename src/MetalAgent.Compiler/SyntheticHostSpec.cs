using System.Globalization;
using MetalAgent.Model.V1;

namespace MetalAgent.Compiler;

/// <summary>Deterministic synthetic host states of a given size, for tests and benchmarks.</summary>
public static class SyntheticHostSpec
{
    /// <summary>A host with <paramref name="count"/> interfaces spread round-robin over
    /// <paramref name="networks"/> VNIs, and <paramref name="rulesPerInterface"/> ingress rules each.</summary>
    public static HostSpec Create(int count, int networks, int rulesPerInterface = 0)
    {
        var spec = new HostSpec
        {
            SchemaVersion = 1,
            Version = 1,
            Host = new HostInfo
            {
                Name = "synthetic",
                UnderlayPrefix = "fc00:9::/64",
                RouterUnderlayAddress = "fc00:0:ff::1",
                Uplinks = { new UplinkSpec { Name = "uplink0", GatewayAddress = "fe80::1" } },
            },
        };
        for (int n = 0; n < networks; n++)
        {
            spec.Networks.Add(new NetworkSpec { Vni = (uint)(1000 + n) });
        }
        for (int i = 0; i < count; i++)
        {
            var iface = new InterfaceSpec
            {
                Id = string.Create(CultureInfo.InvariantCulture, $"if-{i:D5}"),
                Vni = (uint)(1000 + (i % networks)),
                Ipv4 = string.Create(CultureInfo.InvariantCulture, $"10.{(i / 65536) % 256}.{(i / 256) % 256}.{i % 256}"),
                UnderlayAddress = string.Create(CultureInfo.InvariantCulture, $"fc00:9::{i + 1:x}"),
                IngressPolicy = rulesPerInterface > 0,
            };
            spec.Interfaces.Add(iface);
            for (int r = 0; r < rulesPerInterface; r++)
            {
                spec.PolicyRules.Add(new PolicyRuleSpec
                {
                    Id = string.Create(CultureInfo.InvariantCulture, $"r-{i}-{r}"),
                    TargetInterfaces = { iface.Id },
                    Direction = PolicyDirection.Ingress,
                    Priority = (uint)r,
                    Peers = { new PolicyPeerSpec { Cidr = string.Create(CultureInfo.InvariantCulture, $"172.{16 + (r % 16)}.{(i + r) % 256}.0/24") } },
                    Ports = { new PolicyPortSpec { Protocol = Protocol.Tcp, FirstPort = (uint)(1000 + r), LastPort = (uint)(1000 + r) } },
                });
            }
        }
        return spec;
    }
}
