using MetalAgent.Model.V1;

namespace MetalAgent.Model.Validation;

public sealed partial class HostSpecValidator
{
    /// <summary>Policy rules, already resolved to addresses. Unlike IronCore, a rule without ports is
    /// accepted here (it means every protocol and port); requiring ports is the control plane's job.</summary>
    private void ValidatePolicyRules(FieldPath path)
    {
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < _spec.PolicyRules.Count; i++)
        {
            PolicyRuleSpec rule = _spec.PolicyRules[i];
            FieldPath p = path.Index(i);
            FieldPath idPath = p.Child("id");
            if (CheckObjectId(idPath, rule.Id) && !ids.TryAdd(rule.Id, i))
            {
                _errors.Duplicate(idPath, rule.Id, $"same id as {path.Index(ids[rule.Id])}");
            }
            bool directionOk = rule.Direction is PolicyDirection.Ingress or PolicyDirection.Egress;
            if (!directionOk)
            {
                _errors.NotSupported(p.Child("direction"), (int)rule.Direction, "POLICY_DIRECTION_INGRESS", "POLICY_DIRECTION_EGRESS");
            }
            if (rule.Action is not (PolicyAction.Allow or PolicyAction.Deny))
            {
                _errors.NotSupported(p.Child("action"), (int)rule.Action, "POLICY_ACTION_ALLOW", "POLICY_ACTION_DENY");
            }
            ValidatePolicyTargets(p.Child("targetInterfaces"), rule, directionOk);
            FieldPath peersPath = p.Child("peers");
            for (int j = 0; j < rule.Peers.Count; j++)
            {
                ValidatePolicyPeer(peersPath.Index(j), rule.Peers[j]);
            }
            FieldPath portsPath = p.Child("ports");
            for (int j = 0; j < rule.Ports.Count; j++)
            {
                ValidatePolicyPort(portsPath.Index(j), rule.Ports[j]);
            }
        }
    }

    /// <summary>Targets must be interfaces of this spec that select the rule's direction: a rule for a
    /// direction the interface does not select would silently have no effect.</summary>
    private void ValidatePolicyTargets(FieldPath path, PolicyRuleSpec rule, bool directionOk)
    {
        if (rule.TargetInterfaces.Count == 0)
        {
            _errors.Required(path, "at least one target interface");
            return;
        }
        // Element paths are built only for errors: rules are the most numerous objects of a spec.
        Dictionary<string, int>? seen = rule.TargetInterfaces.Count > 1 ? new(StringComparer.Ordinal) : null;
        for (int k = 0; k < rule.TargetInterfaces.Count; k++)
        {
            string id = rule.TargetInterfaces[k];
            if (seen is not null && !seen.TryAdd(id, k))
            {
                _errors.Duplicate(path.Index(k), id, $"same interface as {path.Index(seen[id])}");
                continue;
            }
            if (!_interfacesById.TryGetValue(id, out InterfaceSpec? iface))
            {
                _errors.Invalid(path.Index(k), id, "interface not found");
                continue;
            }
            if (directionOk)
            {
                bool selected = rule.Direction == PolicyDirection.Ingress ? iface.IngressPolicy : iface.EgressPolicy;
                if (!selected)
                {
                    string flag = rule.Direction == PolicyDirection.Ingress ? "ingressPolicy" : "egressPolicy";
                    _errors.Invalid(path.Index(k), id, $"the interface does not select this direction ({flag} is false), so the rule would have no effect");
                }
            }
        }
    }

    /// <summary>A peer CIDR may have host bits set (they are masked, as IronCore does). Each except block
    /// must be of the same family and strictly inside the CIDR.</summary>
    private void ValidatePolicyPeer(FieldPath path, PolicyPeerSpec peer)
    {
        bool cidrOk = CheckPrefix(path.Child("cidr"), peer.Cidr, 0, required: true, allowHostBits: true, out PrefixValue cidr);
        FieldPath exceptPath = path.Child("except");
        for (int k = 0; k < peer.Except.Count; k++)
        {
            FieldPath p = exceptPath.Index(k);
            string text = peer.Except[k];
            if (!CheckPrefix(p, text, cidrOk ? cidr.Version : (byte)0, required: true, allowHostBits: true, out PrefixValue block) || !cidrOk)
            {
                continue;
            }
            if (block.Length <= cidr.Length || !cidr.Contains(block))
            {
                _errors.Invalid(p, text, $"must be strictly inside cidr {cidr.Format()}");
            }
        }
    }

    /// <summary>TCP, UDP and SCTP take a destination port range (0..0 means every port); ICMP and ICMPv6
    /// take an optional type and code instead.</summary>
    private void ValidatePolicyPort(FieldPath path, PolicyPortSpec port)
    {
        switch (port.Protocol)
        {
            case Protocol.Tcp or Protocol.Udp or Protocol.Sctp:
                ValidatePolicyPortRange(path, port);
                if (port.HasIcmpType)
                {
                    _errors.Forbidden(path.Child("icmpType"), "only for PROTOCOL_ICMP and PROTOCOL_ICMPV6");
                }
                if (port.HasIcmpCode)
                {
                    _errors.Forbidden(path.Child("icmpCode"), "only for PROTOCOL_ICMP and PROTOCOL_ICMPV6");
                }
                break;
            case Protocol.Icmp or Protocol.Icmpv6:
                if (port.FirstPort != 0)
                {
                    _errors.Forbidden(path.Child("firstPort"), "ports apply to TCP, UDP and SCTP only");
                }
                if (port.LastPort != 0)
                {
                    _errors.Forbidden(path.Child("lastPort"), "ports apply to TCP, UDP and SCTP only");
                }
                if (port.HasIcmpType && port.IcmpType > 255)
                {
                    _errors.Invalid(path.Child("icmpType"), port.IcmpType, "must be between 0 and 255");
                }
                if (port.HasIcmpCode && port.IcmpCode > 255)
                {
                    _errors.Invalid(path.Child("icmpCode"), port.IcmpCode, "must be between 0 and 255");
                }
                break;
            default:
                _errors.NotSupported(path.Child("protocol"), ProtocolName(port.Protocol),
                    "PROTOCOL_TCP", "PROTOCOL_UDP", "PROTOCOL_SCTP", "PROTOCOL_ICMP", "PROTOCOL_ICMPV6");
                break;
        }
    }

    private void ValidatePolicyPortRange(FieldPath path, PolicyPortSpec port)
    {
        if (port.FirstPort == 0 && port.LastPort == 0)
        {
            return;
        }
        bool ok = true;
        if (port.FirstPort is 0 or > MaxPort)
        {
            _errors.Invalid(path.Child("firstPort"), port.FirstPort, $"must be between 1 and {MaxPort} (or firstPort and lastPort both 0 for every port)");
            ok = false;
        }
        if (port.LastPort is 0 or > MaxPort)
        {
            _errors.Invalid(path.Child("lastPort"), port.LastPort, $"must be between 1 and {MaxPort} (or firstPort and lastPort both 0 for every port)");
            ok = false;
        }
        if (ok && port.LastPort < port.FirstPort)
        {
            _errors.Invalid(path.Child("lastPort"), port.LastPort, $"must not be less than firstPort ({port.FirstPort})");
        }
    }
}
