using MetalAgent.ControlPlane.Addressing;
using MetalAgent.Model.V1;

namespace MetalAgent.ControlPlane.Manifests;

/// <summary>IP family of an IronCore object.</summary>
public enum IpFamily
{
    IPv4 = 4,
    IPv6 = 6,
}

/// <summary>Identity and labels of a manifest object.</summary>
public sealed record ObjectMeta(string Namespace, string Name, IReadOnlyDictionary<string, string> Labels, string Uid)
{
    /// <summary>"namespace/name".</summary>
    public string Key => string.Concat(Namespace, "/", Name);
}

/// <summary>A validated IronCore object read from a manifest.</summary>
public abstract record Resource(ObjectMeta Metadata)
{
    public abstract string Kind { get; }

    /// <summary>"Kind/namespace/name": unique among all objects.</summary>
    public string Key => string.Concat(Kind, "/", Metadata.Namespace, "/", Metadata.Name);
}

/// <summary>networking.ironcore.dev/v1alpha1 Network.</summary>
public sealed record NetworkResource(ObjectMeta Metadata, IReadOnlyList<NetworkPeering> Peerings) : Resource(Metadata)
{
    public override string Kind => ResourceKinds.Network;
}

/// <summary>One spec.peerings entry: the peering's name and the peer network.</summary>
public sealed record NetworkPeering(string Name, string NetworkNamespace, string NetworkName)
{
    public string NetworkKey => string.Concat(NetworkNamespace, "/", NetworkName);
}

/// <summary>networking.ironcore.dev/v1alpha1 NetworkInterface (ips and prefixes by value).</summary>
public sealed record NetworkInterfaceResource(
    ObjectMeta Metadata,
    string NetworkName,
    IReadOnlyList<IpFamily> IpFamilies,
    IReadOnlyList<IpAddressValue> Ips,
    IReadOnlyList<IpPrefixValue> Prefixes,
    string? VirtualIpName) : Resource(Metadata)
{
    public override string Kind => ResourceKinds.NetworkInterface;

    public string NetworkKey => string.Concat(Metadata.Namespace, "/", NetworkName);

    public IpAddressValue? Ip(IpFamily family)
    {
        foreach (IpAddressValue ip in Ips)
        {
            if (ip.Version == (byte)family)
            {
                return ip;
            }
        }
        return null;
    }
}

/// <summary>networking.ironcore.dev/v1alpha1 VirtualIP (type Public).</summary>
public sealed record VirtualIpResource(ObjectMeta Metadata, IpFamily IpFamily) : Resource(Metadata)
{
    public override string Kind => ResourceKinds.VirtualIP;
}

/// <summary>networking.ironcore.dev/v1alpha1 NATGateway (type Public).</summary>
public sealed record NatGatewayResource(ObjectMeta Metadata, IpFamily IpFamily, int PortsPerNetworkInterface, string NetworkName) : Resource(Metadata)
{
    public const int DefaultPortsPerNetworkInterface = 2048;

    public override string Kind => ResourceKinds.NATGateway;

    public string NetworkKey => string.Concat(Metadata.Namespace, "/", NetworkName);
}

/// <summary>Type of a load balancer.</summary>
public enum LoadBalancerKind
{
    Public,
    Internal,
}

/// <summary>networking.ironcore.dev/v1alpha1 LoadBalancer. <see cref="Ips"/> only for Internal.</summary>
public sealed record LoadBalancerResource(
    ObjectMeta Metadata,
    LoadBalancerKind Type,
    IReadOnlyList<IpFamily> IpFamilies,
    IReadOnlyList<IpAddressValue> Ips,
    string NetworkName,
    LabelSelector? NetworkInterfaceSelector,
    IReadOnlyList<PortRange> Ports) : Resource(Metadata)
{
    public override string Kind => ResourceKinds.LoadBalancer;

    public string NetworkKey => string.Concat(Metadata.Namespace, "/", NetworkName);
}

/// <summary>A protocol and an inclusive port range; <see cref="Port"/> 0 means every port of the protocol.</summary>
public sealed record PortRange(Protocol Protocol, uint Port, uint EndPort)
{
    public uint Last => EndPort == 0 ? Port : EndPort;
}

/// <summary>networking.ironcore.dev/v1alpha1 NetworkPolicy.</summary>
public sealed record NetworkPolicyResource(
    ObjectMeta Metadata,
    string NetworkName,
    LabelSelector NetworkInterfaceSelector,
    bool IngressSelected,
    bool EgressSelected,
    IReadOnlyList<NetworkPolicyRule> Ingress,
    IReadOnlyList<NetworkPolicyRule> Egress) : Resource(Metadata)
{
    public override string Kind => ResourceKinds.NetworkPolicy;

    public string NetworkKey => string.Concat(Metadata.Namespace, "/", NetworkName);
}

/// <summary>One ingress or egress rule. No peers means any peer; ports are always given.</summary>
public sealed record NetworkPolicyRule(IReadOnlyList<NetworkPolicyPeer> Peers, IReadOnlyList<PortRange> Ports);

/// <summary>A rule peer: exactly one of an IP block and an object selector.</summary>
public sealed record NetworkPolicyPeer(IpBlock? IpBlock, ObjectSelector? ObjectSelector);

/// <summary>A CIDR with excepted sub-blocks, all masked.</summary>
public sealed record IpBlock(IpPrefixValue Cidr, IReadOnlyList<IpPrefixValue> Except);

/// <summary>Objects of one kind (NetworkInterface or LoadBalancer) selected by labels.</summary>
public sealed record ObjectSelector(string Kind, LabelSelector Selector);

/// <summary>compute.ironcore.dev/v1alpha1 Machine: which pool (host) its interfaces live on.</summary>
public sealed record MachineResource(ObjectMeta Metadata, string? MachinePoolName, IReadOnlyList<MachineNetworkInterface> NetworkInterfaces) : Resource(Metadata)
{
    public override string Kind => ResourceKinds.Machine;
}

/// <summary>One spec.networkInterfaces entry of a Machine.</summary>
public sealed record MachineNetworkInterface(string Name, string NetworkInterfaceName);

/// <summary>Kind names and API groups the control plane reads.</summary>
public static class ResourceKinds
{
    public const string NetworkingApiVersion = "networking.ironcore.dev/v1alpha1";
    public const string ComputeApiVersion = "compute.ironcore.dev/v1alpha1";

    public const string Network = "Network";
    public const string NetworkInterface = "NetworkInterface";
    public const string VirtualIP = "VirtualIP";
    public const string NATGateway = "NATGateway";
    public const string LoadBalancer = "LoadBalancer";
    public const string NetworkPolicy = "NetworkPolicy";
    public const string Machine = "Machine";

    /// <summary>Every kind, in the order objects are listed.</summary>
    public static readonly string[] All = [Network, NetworkInterface, VirtualIP, NATGateway, LoadBalancer, NetworkPolicy, Machine];

    public static string? ApiVersionOf(string kind) => kind switch
    {
        Machine => ComputeApiVersion,
        Network or NetworkInterface or VirtualIP or NATGateway or LoadBalancer or NetworkPolicy => NetworkingApiVersion,
        _ => null,
    };
}
