using MetalAgent.Model.V1;

namespace MetalAgent.Model.Validation;

public sealed partial class HostSpecValidator
{
    private void ValidateLoadBalancers(FieldPath path)
    {
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < _spec.LoadBalancers.Count; i++)
        {
            LoadBalancerSpec lb = _spec.LoadBalancers[i];
            FieldPath p = path.Index(i);
            FieldPath idPath = p.Child("id");
            if (CheckObjectId(idPath, lb.Id) && !ids.TryAdd(lb.Id, i))
            {
                _errors.Duplicate(idPath, lb.Id, $"same id as {path.Index(ids[lb.Id])}");
            }
            bool vniOk = CheckVni(p.Child("vni"), lb.Vni, mustBeKnown: true);
            if (lb.Type is not (LoadBalancerType.Public or LoadBalancerType.Internal))
            {
                _errors.NotSupported(p.Child("type"), (int)lb.Type, "LOAD_BALANCER_TYPE_PUBLIC", "LOAD_BALANCER_TYPE_INTERNAL");
            }
            ValidateLoadBalancerIps(p.Child("ips"), lb, vniOk);
            ValidateLoadBalancerPorts(p.Child("ports"), lb);
            ValidateLoadBalancerTargets(p.Child("targets"), lb);
            CheckLocalUnderlay(p.Child("underlayAddress"), lb.UnderlayAddress);
        }
    }

    /// <summary>One or two IPs, at most one per family. A public LB's IP is a public IP of this
    /// deployment; an internal LB's IP is an address inside its VNI, so it takes a route there.</summary>
    private void ValidateLoadBalancerIps(FieldPath path, LoadBalancerSpec lb, bool vniOk)
    {
        if (lb.Ips.Count == 0)
        {
            _errors.Required(path, "at least one IP");
            return;
        }
        bool seen4 = false;
        bool seen6 = false;
        for (int k = 0; k < lb.Ips.Count; k++)
        {
            FieldPath ipPath = path.Index(k);
            string text = lb.Ips[k];
            if (!CheckIp(ipPath, text, 0, required: true, out IpValue ip))
            {
                continue;
            }
            ref bool seen = ref ip.Version == 4 ? ref seen4 : ref seen6;
            if (seen)
            {
                _errors.Invalid(ipPath, text, $"a load balancer has at most one {ip.Family} address");
                continue;
            }
            seen = true;
            if (lb.Type == LoadBalancerType.Internal)
            {
                if (vniOk)
                {
                    ClaimRoute(ipPath, lb.Vni, new PrefixValue(ip.Version, ip.Value, (byte)(ip.Version == 4 ? 32 : 128)), text);
                }
            }
            else
            {
                ClaimPublicIp(ipPath, ip, PublicIpKind.LoadBalancer, text);
            }
        }
    }

    /// <summary>Ports: TCP, UDP or SCTP (unspecified means TCP), port 1..65535, endPort 0 (port alone)
    /// or port..65535; no port may be listed twice for one protocol.</summary>
    private void ValidateLoadBalancerPorts(FieldPath path, LoadBalancerSpec lb)
    {
        var accepted = new List<(Protocol Protocol, uint First, uint Last, int Index)>();
        for (int j = 0; j < lb.Ports.Count; j++)
        {
            LoadBalancerPortSpec port = lb.Ports[j];
            FieldPath p = path.Index(j);
            Protocol protocol = port.Protocol == Protocol.Unspecified ? Protocol.Tcp : port.Protocol;
            bool ok = true;
            if (protocol is not (Protocol.Tcp or Protocol.Udp or Protocol.Sctp))
            {
                _errors.NotSupported(p.Child("protocol"), ProtocolName(port.Protocol), "PROTOCOL_TCP", "PROTOCOL_UDP", "PROTOCOL_SCTP");
                ok = false;
            }
            if (port.Port is 0 or > MaxPort)
            {
                _errors.Invalid(p.Child("port"), port.Port, $"must be between 1 and {MaxPort}");
                ok = false;
            }
            else if (port.EndPort != 0 && (port.EndPort < port.Port || port.EndPort > MaxPort))
            {
                _errors.Invalid(p.Child("endPort"), port.EndPort, $"must be 0 (port alone) or between port ({port.Port}) and {MaxPort}");
                ok = false;
            }
            if (!ok)
            {
                continue;
            }
            uint last = port.EndPort == 0 ? port.Port : port.EndPort;
            foreach (var other in accepted)
            {
                if (other.Protocol == protocol && port.Port <= other.Last && other.First <= last)
                {
                    _errors.Duplicate(p.Child("port"), port.Port, $"overlaps {path.Index(other.Index)} ({other.First}..{other.Last})");
                    ok = false;
                    break;
                }
            }
            if (ok)
            {
                accepted.Add((protocol, port.Port, last, j));
            }
        }
    }

    /// <summary>Targets are underlay /128s of interfaces' alias prefixes, local or remote. A target inside
    /// this host's /64 must be the underlay address of one of this host's alias prefixes.</summary>
    private void ValidateLoadBalancerTargets(FieldPath path, LoadBalancerSpec lb)
    {
        var seen = new Dictionary<UInt128, int>();
        for (int k = 0; k < lb.Targets.Count; k++)
        {
            FieldPath p = path.Index(k);
            string text = lb.Targets[k];
            if (!CheckIp(p, text, 6, required: true, out IpValue target))
            {
                continue;
            }
            if (!seen.TryAdd(target.Value, k))
            {
                _errors.Duplicate(p, text, $"same target as {path.Index(seen[target.Value])}");
                continue;
            }
            if (_underlayPrefix is PrefixValue local && local.Contains(target) && !_aliasUnderlays.Contains(target.Value))
            {
                _errors.Invalid(p, text, "local target is not the underlay address of any interface's lbAliasPrefixes");
            }
        }
    }

    private static string ProtocolName(Protocol protocol) => protocol switch
    {
        Protocol.Unspecified => "PROTOCOL_UNSPECIFIED",
        Protocol.Icmp => "PROTOCOL_ICMP",
        Protocol.Tcp => "PROTOCOL_TCP",
        Protocol.Udp => "PROTOCOL_UDP",
        Protocol.Icmpv6 => "PROTOCOL_ICMPV6",
        Protocol.Sctp => "PROTOCOL_SCTP",
        _ => ((int)protocol).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
