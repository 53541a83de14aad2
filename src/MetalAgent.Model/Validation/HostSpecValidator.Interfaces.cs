using MetalAgent.Model.V1;

namespace MetalAgent.Model.Validation;

public sealed partial class HostSpecValidator
{
    private void ValidateInterfaces(FieldPath path)
    {
        for (int i = 0; i < _spec.Interfaces.Count; i++)
        {
            ValidateInterface(path.Index(i), _spec.Interfaces[i]);
        }
    }

    private void ValidateInterface(FieldPath path, InterfaceSpec iface)
    {
        FieldPath idPath = path.Child("id");
        bool idOk = CheckInterfaceId(idPath, iface.Id);
        if (idOk && !_interfacesById.TryAdd(iface.Id, iface))
        {
            _errors.Duplicate(idPath, iface.Id, "another interface has the same id");
        }

        bool vniOk = CheckVni(path.Child("vni"), iface.Vni, mustBeKnown: true);

        if (iface.Type is not (InterfaceType.Virtual or InterfaceType.BareMetal))
        {
            _errors.NotSupported(path.Child("type"), (int)iface.Type, "INTERFACE_TYPE_VIRTUAL", "INTERFACE_TYPE_BARE_METAL");
        }

        // An empty port means the interface id; the effective name must be unique among all ports.
        FieldPath portPath = path.Child("port");
        if (iface.Port.Length > 0)
        {
            if (CheckPortName(portPath, iface.Port))
            {
                ClaimPort(portPath, iface.Port, path);
            }
        }
        else if (idOk)
        {
            ClaimPort(portPath, iface.Id, path);
        }

        CheckMac(path.Child("mac"), iface.Mac);

        bool hasIpv4 = iface.Ipv4.Length > 0;
        bool hasIpv6 = iface.Ipv6.Length > 0;
        if (!hasIpv4 && !hasIpv6)
        {
            _errors.Required(path.Child("ipv4"), "at least one of ipv4 and ipv6 must be set");
        }
        CheckInterfaceIp(path.Child("ipv4"), iface.Ipv4, 4, iface.Vni, vniOk);
        CheckInterfaceIp(path.Child("ipv6"), iface.Ipv6, 6, iface.Vni, vniOk);

        CheckLocalUnderlay(path.Child("underlayAddress"), iface.UnderlayAddress);

        ValidateRoutedPrefixes(path.Child("prefixes"), iface.Prefixes, iface.Vni, vniOk, isAlias: false);
        ValidateRoutedPrefixes(path.Child("lbAliasPrefixes"), iface.LbAliasPrefixes, iface.Vni, vniOk, isAlias: true);

        ValidateVirtualIp(path.Child("virtualIpv4"), iface.VirtualIpv4, 4, hasIpv4);
        ValidateVirtualIp(path.Child("virtualIpv6"), iface.VirtualIpv6, 6, hasIpv6);
        ValidateNatSlice(path.Child("natIpv4"), iface.NatIpv4, 4, hasIpv4, iface.VirtualIpv4 is not null);
        ValidateNatSlice(path.Child("natIpv6"), iface.NatIpv6, 6, hasIpv6, iface.VirtualIpv6 is not null);

        if (iface.Hostname.Length > 0 && !IsDnsName(iface.Hostname))
        {
            _errors.Invalid(path.Child("hostname"), iface.Hostname,
                "must be a DNS name: labels of 1 to 63 letters, digits and '-' (not at either end), separated by dots, at most 253 characters");
        }

        if (iface.Pxe is PxeSpec pxe)
        {
            FieldPath serverPath = path.Child("pxe").Child("nextServer");
            if (pxe.NextServer.Length == 0 && pxe.BootFile.Length > 0)
            {
                _errors.Required(serverPath, "required when bootFile is set");
            }
            CheckIp(serverPath, pxe.NextServer, 0, required: false, out _);
        }

        if (iface.Metering is MeteringSpec metering && metering.TotalRateMbps != 0 && metering.PublicRateMbps > metering.TotalRateMbps)
        {
            _errors.Invalid(path.Child("metering").Child("publicRateMbps"), metering.PublicRateMbps,
                $"must not exceed totalRateMbps ({metering.TotalRateMbps})");
        }
    }

    /// <summary>The interface's own IP of one family: the right family, unicast, and unique in its VNI
    /// (it is the /32 or /128 route of the interface).</summary>
    private void CheckInterfaceIp(FieldPath path, string text, byte family, uint vni, bool vniOk)
    {
        if (CheckIp(path, text, family, required: false, out IpValue ip) && vniOk)
        {
            ClaimRoute(path, vni, new PrefixValue(ip.Version, ip.Value, (byte)(family == 4 ? 32 : 128)), text);
        }
    }

    /// <summary>Routed prefixes are routes of the VNI (unique per VNI); alias prefixes are addresses the
    /// interface accepts as load-balanced traffic (unique per interface). Both own an underlay /128.</summary>
    private void ValidateRoutedPrefixes(FieldPath path, Google.Protobuf.Collections.RepeatedField<RoutedPrefixSpec> prefixes, uint vni, bool vniOk, bool isAlias)
    {
        var seen = new HashSet<PrefixValue>();
        for (int k = 0; k < prefixes.Count; k++)
        {
            RoutedPrefixSpec routed = prefixes[k];
            FieldPath p = path.Index(k);
            FieldPath prefixPath = p.Child("prefix");
            if (CheckPrefix(prefixPath, routed.Prefix, 0, required: true, allowHostBits: false, out PrefixValue prefix))
            {
                if (isAlias)
                {
                    if (!seen.Add(prefix))
                    {
                        _errors.Duplicate(prefixPath, routed.Prefix, "alias prefix listed twice");
                    }
                }
                else if (vniOk)
                {
                    ClaimRoute(prefixPath, vni, prefix, routed.Prefix);
                }
            }
            if (CheckLocalUnderlay(p.Child("underlayAddress"), routed.UnderlayAddress, out IpValue underlay) && isAlias)
            {
                _aliasUnderlays.Add(underlay.Value);
            }
        }
    }

    /// <summary>A virtual IP translates the interface's own IP of its family, so that IP must exist.</summary>
    private void ValidateVirtualIp(FieldPath path, VirtualIpSpec? vip, byte family, bool interfaceHasFamily)
    {
        if (vip is null)
        {
            return;
        }
        if (!interfaceHasFamily)
        {
            _errors.Forbidden(path, $"the interface has no {(family == 4 ? "ipv4" : "ipv6")} address to translate");
        }
        FieldPath ipPath = path.Child("ip");
        if (CheckIp(ipPath, vip.Ip, family, required: true, out IpValue ip))
        {
            ClaimPublicIp(ipPath, ip, PublicIpKind.VirtualIp, vip.Ip);
        }
        CheckLocalUnderlay(path.Child("underlayAddress"), vip.UnderlayAddress);
    }

    /// <summary>A NAT slice serves an interface that has an IP of its family and no virtual IP of it.</summary>
    private void ValidateNatSlice(FieldPath path, NatSliceSpec? nat, byte family, bool interfaceHasFamily, bool hasVirtualIp)
    {
        if (nat is null)
        {
            return;
        }
        string familyField = family == 4 ? "ipv4" : "ipv6";
        if (!interfaceHasFamily)
        {
            _errors.Forbidden(path, $"the interface has no {familyField} address to translate");
        }
        else if (hasVirtualIp)
        {
            _errors.Forbidden(path, $"the interface has a virtual IP of this family (virtual{(family == 4 ? "Ipv4" : "Ipv6")}); it gets no NAT slice");
        }
        FieldPath ipPath = path.Child("publicIp");
        bool ipOk = CheckIp(ipPath, nat.PublicIp, family, required: true, out IpValue ip);
        if (ipOk)
        {
            ClaimPublicIp(ipPath, ip, PublicIpKind.Nat, nat.PublicIp);
        }
        if (CheckNatPorts(path, nat.FirstPort, nat.LastPort) && ipOk)
        {
            _natSlices.Add(new NatSliceUse(ip, nat.FirstPort, nat.LastPort, path));
        }
        CheckLocalUnderlay(path.Child("underlayAddress"), nat.UnderlayAddress);
    }

    /// <summary>RFC 1123 host name: dot-separated labels of letters, digits and '-', at most 253 characters.</summary>
    private static bool IsDnsName(string name)
    {
        if (name.Length > 253)
        {
            return false;
        }
        foreach (string label in name.Split('.'))
        {
            if (label.Length is 0 or > 63 || label[0] == '-' || label[^1] == '-')
            {
                return false;
            }
            foreach (char c in label)
            {
                if (!(char.IsAsciiLetterOrDigit(c) || c == '-'))
                {
                    return false;
                }
            }
        }
        return true;
    }
}
