using MetalAgent.ControlPlane.Addressing;
using MetalAgent.Model.V1;
using MetalAgent.Model.Validation;
using YamlDotNet.RepresentationModel;

namespace MetalAgent.ControlPlane.Manifests;

internal sealed partial class ManifestReader
{
    private NetworkResource ReadNetwork(ObjectMeta meta, YamlMappingNode spec, FieldPath path)
    {
        _y.CheckKeys(spec, path, "peerings", "providerID", "incomingPeerings");
        var peerings = new List<NetworkPeering>();
        var names = new Dictionary<string, int>(StringComparer.Ordinal);
        var peers = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach ((YamlNode node, FieldPath p) in _y.List(spec, "peerings", path.Child("peerings")))
        {
            if (_y.AsMap(node, p) is not YamlMappingNode peering)
            {
                continue;
            }
            _y.CheckKeys(peering, p, "name", "networkRef");
            string? name = _y.String(peering, "name", p.Child("name"), required: true);
            if (name is not null && Names.CheckLabel(_errors, p.Child("name"), name) && !names.TryAdd(name, peerings.Count))
            {
                _errors.Duplicate(p.Child("name"), name, "peering name listed twice");
            }
            YamlMappingNode? reference = _y.Map(peering, "networkRef", p.Child("networkRef"), required: true);
            string? peerName = null;
            string peerNamespace = meta.Namespace;
            if (reference is not null)
            {
                FieldPath rp = p.Child("networkRef");
                _y.CheckKeys(reference, rp, "name", "namespace");
                peerName = _y.String(reference, "name", rp.Child("name"), required: true);
                if (peerName is not null && !Names.CheckSubdomain(_errors, rp.Child("name"), peerName))
                {
                    peerName = null;
                }
                string? ns = _y.String(reference, "namespace", rp.Child("namespace"));
                if (!string.IsNullOrEmpty(ns) && Names.CheckLabel(_errors, rp.Child("namespace"), ns))
                {
                    peerNamespace = ns;
                }
                if (peerName is not null)
                {
                    string peerKey = peerNamespace + "/" + peerName;
                    if (peerKey == meta.Key)
                    {
                        _errors.Invalid(rp.Child("name"), peerName, "a network cannot peer with itself");
                    }
                    else if (!peers.TryAdd(peerKey, peerings.Count))
                    {
                        _errors.Duplicate(rp.Child("name"), peerName, "the network is already peered with this network");
                    }
                }
            }
            if (name is not null && peerName is not null)
            {
                peerings.Add(new NetworkPeering(name, peerNamespace, peerName));
            }
        }
        return new NetworkResource(meta, peerings);
    }

    private NetworkInterfaceResource? ReadNetworkInterface(ObjectMeta meta, YamlMappingNode spec, FieldPath path)
    {
        _y.CheckKeys(spec, path, "networkRef", "ipFamilies", "ips", "prefixes", "virtualIP", "machineRef", "providerID", "attributes");
        string? network = ReadNetworkRef(spec, path);
        bool familiesGiven = YamlFields.Has(spec, "ipFamilies");
        List<IpFamily> families = ReadFamilies(spec, path.Child("ipFamilies"));

        var ips = new List<IpAddressValue>();
        var ipsPath = path.Child("ips");
        List<(YamlNode Node, FieldPath Path)> ipNodes = _y.List(spec, "ips", ipsPath);
        for (int i = 0; i < ipNodes.Count; i++)
        {
            IpAddressValueResult r = ReadIpSource(ipNodes[i].Node, ipNodes[i].Path);
            if (!r.Ok)
            {
                continue;
            }
            FieldPath valuePath = ipNodes[i].Path.Child("value");
            if (ips.Exists(x => x.Version == r.Ip.Version))
            {
                _errors.Duplicate(valuePath, r.Ip.ToString(), $"at most one {r.Ip.Family} address per network interface");
                continue;
            }
            if (familiesGiven && i < families.Count && (byte)families[i] != r.Ip.Version)
            {
                _errors.Invalid(valuePath, r.Ip.ToString(), $"IP family must match ipFamilies[{i}] ({families[i]})");
                continue;
            }
            ips.Add(r.Ip);
        }
        if (familiesGiven)
        {
            if (ipNodes.Count != families.Count)
            {
                _errors.Invalid(ipsPath, ipNodes.Count, $"must have one entry per IP family ({families.Count} in ipFamilies)");
            }
        }
        else
        {
            // As IronCore does, the families default to those of the given IPs.
            foreach (IpAddressValue ip in ips)
            {
                families.Add((IpFamily)ip.Version);
            }
        }
        if (families.Count == 0)
        {
            _errors.Required(path.Child("ipFamilies"), "at least one IP family");
        }

        var prefixes = new List<IpPrefixValue>();
        foreach ((YamlNode node, FieldPath p) in _y.List(spec, "prefixes", path.Child("prefixes")))
        {
            if (_y.AsMap(node, p) is not YamlMappingNode source)
            {
                continue;
            }
            _y.CheckKeys(source, p, "value", "ephemeral");
            if (YamlFields.Has(source, "ephemeral"))
            {
                _errors.NotSupported(p.Child("ephemeral"), "ephemeral", "value");
                continue;
            }
            string? text = _y.String(source, "value", p.Child("value"), required: true);
            if (text is null)
            {
                continue;
            }
            if (!IpPrefixValue.TryParse(text, out IpPrefixValue prefix, out bool hostBits))
            {
                _errors.Invalid(p.Child("value"), text, "must be a valid prefix (address/length)");
            }
            else if (hostBits)
            {
                _errors.Invalid(p.Child("value"), text, $"host bits set (did you mean {prefix}?)");
            }
            else if (!families.Contains((IpFamily)prefix.Version))
            {
                _errors.Invalid(p.Child("value"), text, $"the network interface has no {prefix.Family} family");
            }
            else if (prefixes.Contains(prefix))
            {
                _errors.Duplicate(p.Child("value"), text, "prefix listed twice");
            }
            else
            {
                prefixes.Add(prefix);
            }
        }

        string? virtualIp = null;
        YamlMappingNode? vip = _y.Map(spec, "virtualIP", path.Child("virtualIP"));
        if (vip is not null)
        {
            FieldPath vp = path.Child("virtualIP");
            _y.CheckKeys(vip, vp, "virtualIPRef", "ephemeral");
            if (YamlFields.Has(vip, "ephemeral"))
            {
                _errors.NotSupported(vp.Child("ephemeral"), "ephemeral", "virtualIPRef");
            }
            else
            {
                virtualIp = _y.RefName(vip, "virtualIPRef", vp.Child("virtualIPRef"), required: true);
            }
        }
        return network is null ? null : new NetworkInterfaceResource(meta, network, families, ips, prefixes, virtualIp);
    }

    private VirtualIpResource? ReadVirtualIp(ObjectMeta meta, YamlMappingNode spec, FieldPath path)
    {
        _y.CheckKeys(spec, path, "type", "ipFamily", "targetRef");
        ReadPublicType(spec, path.Child("type"));
        IpFamily? family = ReadRequiredFamily(spec, path.Child("ipFamily"));
        return family is IpFamily f ? new VirtualIpResource(meta, f) : null;
    }

    private IpFamily? ReadRequiredFamily(YamlMappingNode spec, FieldPath path)
    {
        YamlNode? node = YamlFields.Get(spec, "ipFamily");
        if (node is null)
        {
            _errors.Required(path);
            return null;
        }
        return ReadFamily(node, path);
    }

    private NatGatewayResource? ReadNatGateway(ObjectMeta meta, YamlMappingNode spec, FieldPath path)
    {
        _y.CheckKeys(spec, path, "type", "ipFamily", "portsPerNetworkInterface", "networkRef");
        ReadPublicType(spec, path.Child("type"));
        IpFamily? family = ReadRequiredFamily(spec, path.Child("ipFamily"));
        FieldPath portsPath = path.Child("portsPerNetworkInterface");
        long ports = _y.Integer(spec, "portsPerNetworkInterface", portsPath) ?? NatGatewayResource.DefaultPortsPerNetworkInterface;
        // Slots cut 1024..65535 (64512 ports): a slot must fit at least once.
        const long MaxPorts = 32768;
        if (ports <= 0 || ports > MaxPorts || (ports & (ports - 1)) != 0)
        {
            _errors.Invalid(portsPath, ports, $"must be a power of 2 between 1 and {MaxPorts}");
        }
        string? network = ReadNetworkRef(spec, path);
        return family is IpFamily f && network is not null ? new NatGatewayResource(meta, f, (int)ports, network) : null;
    }

    private LoadBalancerResource? ReadLoadBalancer(ObjectMeta meta, YamlMappingNode spec, FieldPath path)
    {
        _y.CheckKeys(spec, path, "type", "ipFamilies", "ips", "networkRef", "networkInterfaceSelector", "ports");
        string? type = _y.String(spec, "type", path.Child("type"), required: true);
        LoadBalancerKind? kind = type switch
        {
            "Public" => LoadBalancerKind.Public,
            "Internal" => LoadBalancerKind.Internal,
            _ => null,
        };
        if (type is not null && kind is null)
        {
            _errors.NotSupported(path.Child("type"), type, "Public", "Internal");
        }
        bool familiesGiven = YamlFields.Has(spec, "ipFamilies");
        List<IpFamily> families = ReadFamilies(spec, path.Child("ipFamilies"));

        var ips = new List<IpAddressValue>();
        FieldPath ipsPath = path.Child("ips");
        List<(YamlNode Node, FieldPath Path)> ipNodes = _y.List(spec, "ips", ipsPath);
        if (kind == LoadBalancerKind.Public && ipNodes.Count > 0)
        {
            _errors.Forbidden(ipsPath, "can only be used when type is Internal");
        }
        else
        {
            foreach ((YamlNode node, FieldPath p) in ipNodes)
            {
                IpAddressValueResult r = ReadIpSource(node, p);
                if (!r.Ok)
                {
                    continue;
                }
                if (ips.Exists(x => x.Version == r.Ip.Version))
                {
                    _errors.Duplicate(p.Child("value"), r.Ip.ToString(), $"at most one {r.Ip.Family} address per load balancer");
                }
                else if (familiesGiven && !families.Contains((IpFamily)r.Ip.Version))
                {
                    _errors.Invalid(p.Child("value"), r.Ip.ToString(), $"{r.Ip.Family} is not in ipFamilies");
                }
                else
                {
                    ips.Add(r.Ip);
                }
            }
        }
        if (!familiesGiven)
        {
            if (ips.Count > 0)
            {
                families.AddRange(ips.Select(ip => (IpFamily)ip.Version));
            }
            else if (kind == LoadBalancerKind.Public)
            {
                families.Add(IpFamily.IPv4);
            }
        }
        if (kind == LoadBalancerKind.Internal)
        {
            foreach (IpFamily family in families)
            {
                if (!ips.Exists(ip => ip.Version == (byte)family))
                {
                    _errors.Required(ipsPath, $"an internal load balancer needs an {family} address in ips (this control plane does not allocate internal addresses)");
                }
            }
        }
        if (families.Count == 0)
        {
            _errors.Required(path.Child("ipFamilies"), "at least one IP family");
        }

        string? network = ReadNetworkRef(spec, path);
        LabelSelector? selector = ReadSelector(spec, "networkInterfaceSelector", path.Child("networkInterfaceSelector"));
        List<PortRange> ports = ReadPorts(spec, path.Child("ports"), portRequired: true);
        return kind is LoadBalancerKind k && network is not null
            ? new LoadBalancerResource(meta, k, families, ips, network, selector, ports)
            : null;
    }

    /// <summary>Ports: protocol TCP (default), UDP or SCTP; port 1..65535; endPort (needs port) port..65535;
    /// no overlap within one protocol.</summary>
    private List<PortRange> ReadPorts(YamlMappingNode parent, FieldPath path, bool portRequired)
    {
        var ports = new List<PortRange>();
        var accepted = new List<(PortRange Range, FieldPath Path)>();
        foreach ((YamlNode node, FieldPath p) in _y.List(parent, "ports", path))
        {
            if (_y.AsMap(node, p) is not YamlMappingNode entry)
            {
                continue;
            }
            _y.CheckKeys(entry, p, "protocol", "port", "endPort");
            string protocolText = _y.String(entry, "protocol", p.Child("protocol")) ?? "TCP";
            Protocol protocol = protocolText switch
            {
                "TCP" => Protocol.Tcp,
                "UDP" => Protocol.Udp,
                "SCTP" => Protocol.Sctp,
                _ => Protocol.Unspecified,
            };
            bool ok = true;
            if (protocol == Protocol.Unspecified)
            {
                _errors.NotSupported(p.Child("protocol"), protocolText, "TCP", "UDP", "SCTP");
                ok = false;
            }
            long? port = _y.Integer(entry, "port", p.Child("port"), required: portRequired);
            long? endPort = _y.Integer(entry, "endPort", p.Child("endPort"));
            if (port is long pv && pv is < 1 or > 65535)
            {
                _errors.Invalid(p.Child("port"), pv, "must be between 1 and 65535, inclusive");
                ok = false;
            }
            if (endPort is long ev)
            {
                if (port is null)
                {
                    _errors.Required(p.Child("port"), "must be specified when endPort is specified");
                    ok = false;
                }
                else if (ev < port || ev > 65535)
                {
                    _errors.Invalid(p.Child("endPort"), ev, $"must be between port ({port}) and 65535, inclusive");
                    ok = false;
                }
            }
            if (!ok || (port is null && portRequired))
            {
                continue;
            }
            var range = new PortRange(protocol, (uint)(port ?? 0), (uint)(endPort ?? 0));
            uint first = range.Port == 0 ? 1 : range.Port;
            uint last = range.Port == 0 ? 65535 : range.Last;
            bool overlap = false;
            foreach ((PortRange other, FieldPath otherPath) in accepted)
            {
                uint oFirst = other.Port == 0 ? 1 : other.Port;
                uint oLast = other.Port == 0 ? 65535 : other.Last;
                if (other.Protocol == protocol && first <= oLast && oFirst <= last)
                {
                    _errors.Duplicate(p.Child("port"), (long)range.Port, $"overlaps {otherPath}");
                    overlap = true;
                    break;
                }
            }
            if (!overlap)
            {
                accepted.Add((range, p));
                ports.Add(range);
            }
        }
        return ports;
    }

    private NetworkPolicyResource? ReadNetworkPolicy(ObjectMeta meta, YamlMappingNode spec, FieldPath path)
    {
        _y.CheckKeys(spec, path, "networkRef", "networkInterfaceSelector", "policyTypes", "ingress", "egress", "priority");
        string? network = ReadNetworkRef(spec, path);
        LabelSelector selector = ReadSelector(spec, "networkInterfaceSelector", path.Child("networkInterfaceSelector")) ?? LabelSelector.Everything;
        List<NetworkPolicyRule> ingress = ReadRules(spec, "ingress", "from", path.Child("ingress"));
        List<NetworkPolicyRule> egress = ReadRules(spec, "egress", "to", path.Child("egress"));
        bool ingressSelected = false;
        bool egressSelected = false;
        if (YamlFields.Has(spec, "policyTypes"))
        {
            foreach ((YamlNode node, FieldPath p) in _y.List(spec, "policyTypes", path.Child("policyTypes")))
            {
                string? type = _y.AsString(node, p);
                ref bool flag = ref ingressSelected;
                if (type == "Egress")
                {
                    flag = ref egressSelected;
                }
                else if (type != "Ingress")
                {
                    if (type is not null)
                    {
                        _errors.NotSupported(p, type, "Ingress", "Egress");
                    }
                    continue;
                }
                if (flag)
                {
                    _errors.Duplicate(p, type, "policy type listed twice");
                }
                flag = true;
            }
        }
        else
        {
            // Kubernetes' default: Ingress always, Egress when egress rules are given.
            ingressSelected = true;
            egressSelected = egress.Count > 0 || YamlFields.Has(spec, "egress");
        }
        return network is null ? null : new NetworkPolicyResource(meta, network, selector, ingressSelected, egressSelected, ingress, egress);
    }

    private List<NetworkPolicyRule> ReadRules(YamlMappingNode spec, string key, string peersKey, FieldPath path)
    {
        var rules = new List<NetworkPolicyRule>();
        foreach ((YamlNode node, FieldPath p) in _y.List(spec, key, path))
        {
            if (_y.AsMap(node, p) is not YamlMappingNode rule)
            {
                continue;
            }
            _y.CheckKeys(rule, p, peersKey, "ports");
            var peers = new List<NetworkPolicyPeer>();
            foreach ((YamlNode peerNode, FieldPath pp) in _y.List(rule, peersKey, p.Child(peersKey)))
            {
                if (_y.AsMap(peerNode, pp) is YamlMappingNode peer && ReadPeer(peer, pp) is NetworkPolicyPeer parsed)
                {
                    peers.Add(parsed);
                }
            }
            List<PortRange> ports = ReadPorts(rule, p.Child("ports"), portRequired: false);
            if (!YamlFields.Has(rule, "ports") || (ports.Count == 0 && _y.List(rule, "ports", p.Child("ports")).Count == 0))
            {
                // IronCore: ports always have to be specified.
                _errors.Required(p.Child("ports"), "ports must be specified; only traffic matching them is allowed");
            }
            rules.Add(new NetworkPolicyRule(peers, ports));
        }
        return rules;
    }

    private NetworkPolicyPeer? ReadPeer(YamlMappingNode peer, FieldPath path)
    {
        _y.CheckKeys(peer, path, "ipBlock", "objectSelector");
        bool hasBlock = YamlFields.Has(peer, "ipBlock");
        bool hasSelector = YamlFields.Has(peer, "objectSelector");
        if (hasBlock == hasSelector)
        {
            if (hasBlock)
            {
                _errors.Forbidden(path, "must specify exactly one of ipBlock and objectSelector");
            }
            else
            {
                _errors.Required(path, "must specify exactly one of ipBlock and objectSelector");
            }
            return null;
        }
        if (hasBlock)
        {
            FieldPath bp = path.Child("ipBlock");
            YamlMappingNode? block = _y.Map(peer, "ipBlock", bp);
            if (block is null)
            {
                return null;
            }
            _y.CheckKeys(block, bp, "cidr", "except");
            string? cidrText = _y.String(block, "cidr", bp.Child("cidr"), required: true);
            if (cidrText is null)
            {
                return null;
            }
            // Host bits are masked, as IronCore accepts them.
            if (!IpPrefixValue.TryParse(cidrText, out IpPrefixValue cidr, out _))
            {
                _errors.Invalid(bp.Child("cidr"), cidrText, "must be a valid CIDR");
                return null;
            }
            var except = new List<IpPrefixValue>();
            foreach ((YamlNode node, FieldPath ep) in _y.List(block, "except", bp.Child("except")))
            {
                string? text = _y.AsString(node, ep);
                if (text is null)
                {
                    continue;
                }
                if (!IpPrefixValue.TryParse(text, out IpPrefixValue e, out _))
                {
                    _errors.Invalid(ep, text, "must be a valid CIDR");
                }
                else if (e.Version != cidr.Version || e.Length <= cidr.Length || !cidr.Contains(e))
                {
                    _errors.Invalid(ep, text, $"must be a strict subset of `cidr` ({cidr})");
                }
                else if (!except.Contains(e))
                {
                    except.Add(e);
                }
            }
            return new NetworkPolicyPeer(new IpBlock(cidr, except), null);
        }
        FieldPath sp = path.Child("objectSelector");
        YamlMappingNode? selectorMap = _y.Map(peer, "objectSelector", sp);
        if (selectorMap is null)
        {
            return null;
        }
        _y.CheckKeys(selectorMap, sp, "kind", "matchLabels", "matchExpressions");
        string? kind = _y.String(selectorMap, "kind", sp.Child("kind"), required: true);
        if (kind is not null && kind is not (ResourceKinds.NetworkInterface or ResourceKinds.LoadBalancer))
        {
            _errors.NotSupported(sp.Child("kind"), kind, ResourceKinds.NetworkInterface, ResourceKinds.LoadBalancer);
            kind = null;
        }
        // The selector fields sit next to kind (IronCore's ObjectSelector embeds a LabelSelector).
        var wrapper = new YamlMappingNode();
        foreach (KeyValuePair<YamlNode, YamlNode> pair in selectorMap.Children)
        {
            if (pair.Key is YamlScalarNode { Value: "matchLabels" or "matchExpressions" })
            {
                wrapper.Add(pair.Key, pair.Value);
            }
        }
        var holder = new YamlMappingNode { { "s", wrapper } };
        LabelSelector selector = ReadSelectorAt(holder, sp);
        return kind is null ? null : new NetworkPolicyPeer(null, new ObjectSelector(kind, selector));
    }

    private LabelSelector ReadSelectorAt(YamlMappingNode holder, FieldPath path) =>
        ReadSelector(holder, "s", path) ?? LabelSelector.Everything;

    private MachineResource ReadMachine(ObjectMeta meta, YamlMappingNode spec, FieldPath path)
    {
        // A Machine has many fields that do not concern networking; only these are read.
        string? pool = _y.RefName(spec, "machinePoolRef", path.Child("machinePoolRef"), required: false);
        var interfaces = new List<MachineNetworkInterface>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        var refs = new Dictionary<string, FieldPath>(StringComparer.Ordinal);
        foreach ((YamlNode node, FieldPath p) in _y.List(spec, "networkInterfaces", path.Child("networkInterfaces")))
        {
            if (_y.AsMap(node, p) is not YamlMappingNode nic)
            {
                continue;
            }
            string? name = _y.String(nic, "name", p.Child("name"), required: true);
            if (name is not null && Names.CheckLabel(_errors, p.Child("name"), name) && !names.Add(name))
            {
                _errors.Duplicate(p.Child("name"), name, "network interface name listed twice");
            }
            if (YamlFields.Has(nic, "ephemeral"))
            {
                _errors.NotSupported(p.Child("ephemeral"), "ephemeral", "networkInterfaceRef");
                continue;
            }
            string? target = _y.RefName(nic, "networkInterfaceRef", p.Child("networkInterfaceRef"), required: true);
            if (target is not null && !refs.TryAdd(target, p))
            {
                _errors.Duplicate(p.Child("networkInterfaceRef").Child("name"), target, $"already used by {refs[target]}");
            }
            else if (name is not null && target is not null)
            {
                interfaces.Add(new MachineNetworkInterface(name, target));
            }
        }
        return new MachineResource(meta, pool, interfaces);
    }
}
