using MetalAgent.Model.V1;

namespace MetalAgent.Model.Validation;

public sealed partial class HostSpecValidator
{
    private void ValidateHost(FieldPath path, HostInfo? host)
    {
        if (host is null)
        {
            _errors.Required(path, "host information (name, underlay prefix, router) is required");
            return;
        }
        if (string.IsNullOrWhiteSpace(host.Name))
        {
            _errors.Required(path.Child("name"));
        }

        FieldPath prefixPath = path.Child("underlayPrefix");
        if (CheckPrefix(prefixPath, host.UnderlayPrefix, 6, required: true, allowHostBits: false, out PrefixValue underlay))
        {
            if (underlay.Length != 64)
            {
                _errors.Invalid(prefixPath, host.UnderlayPrefix, "must be a /64");
            }
            else if (!AddressText.IsUnicast(new IpValue(6, underlay.Network)))
            {
                _errors.Invalid(prefixPath, host.UnderlayPrefix, "must be a unicast prefix (not link-local or multicast)");
            }
            else
            {
                _underlayPrefix = underlay;
            }
        }

        FieldPath routerPath = path.Child("routerUnderlayAddress");
        if (CheckIp(routerPath, host.RouterUnderlayAddress, 6, required: true, out IpValue router)
            && _underlayPrefix is PrefixValue local && local.Contains(router))
        {
            _errors.Invalid(routerPath, host.RouterUnderlayAddress, $"must not be inside the host's underlay prefix {local.Format()}");
        }

        ValidateUplinks(path.Child("uplinks"), host);

        FieldPath mtuPath = path.Child("mtu");
        if (host.Mtu != 0 && host.Mtu is < MinMtu or > MaxMtu)
        {
            _errors.Invalid(mtuPath, host.Mtu, $"must be 0 (meaning 1500) or between {MinMtu} and {MaxMtu}");
        }
        uint mtu = host.Mtu == 0 ? 1500 : host.Mtu;
        // An underlay MTU that cannot carry a full-size VM packet after encapsulation would turn every
        // large packet into an ICMP "too big": a misconfiguration, not a tuning choice.
        uint minUnderlayMtu = mtu + EncapsulationOverhead;
        if (host.UnderlayMtu != 0 && (host.UnderlayMtu < minUnderlayMtu || host.UnderlayMtu > MaxUnderlayMtu))
        {
            _errors.Invalid(path.Child("underlayMtu"), host.UnderlayMtu,
                $"must be 0 (meaning mtu + {EncapsulationOverhead}) or between {minUnderlayMtu} and {MaxUnderlayMtu}");
        }

        FieldPath dnsPath = path.Child("dnsServers");
        var dns = new Dictionary<IpValue, int>();
        for (int i = 0; i < host.DnsServers.Count; i++)
        {
            if (CheckIp(dnsPath.Index(i), host.DnsServers[i], 0, required: true, out IpValue server)
                && !dns.TryAdd(server, i))
            {
                _errors.Duplicate(dnsPath.Index(i), host.DnsServers[i], $"same as {dnsPath.Index(dns[server])}");
            }
        }
    }

    private void ValidateUplinks(FieldPath path, HostInfo host)
    {
        for (int i = 0; i < host.Uplinks.Count; i++)
        {
            UplinkSpec uplink = host.Uplinks[i];
            FieldPath p = path.Index(i);
            if (CheckPortName(p.Child("name"), uplink.Name))
            {
                ClaimPort(p.Child("name"), uplink.Name, p);
            }
            // The gateway is a next hop on the link, so link-local (fe80::1) is the usual form.
            CheckIp(p.Child("gatewayAddress"), uplink.GatewayAddress, 6, required: true, out _, allowLinkLocal: true);
            CheckMac(p.Child("gatewayMac"), uplink.GatewayMac);
        }
    }

    private void ValidateNetworks(FieldPath path)
    {
        for (int i = 0; i < _spec.Networks.Count; i++)
        {
            NetworkSpec network = _spec.Networks[i];
            FieldPath p = path.Index(i);
            if (CheckVni(p.Child("vni"), network.Vni, mustBeKnown: false) && !_networks.TryAdd(network.Vni, network))
            {
                _errors.Duplicate(p.Child("vni"), network.Vni, "another network has the same VNI");
            }
            ValidatePeerings(p.Child("peerings"), network);
        }
    }

    private void ValidatePeerings(FieldPath path, NetworkSpec network)
    {
        var peers = new HashSet<uint>();
        for (int j = 0; j < network.Peerings.Count; j++)
        {
            PeeringSpec peering = network.Peerings[j];
            FieldPath p = path.Index(j);
            FieldPath vniPath = p.Child("peerVni");
            // The peer may live only on other hosts, so it need not be listed in networks.
            if (CheckVni(vniPath, peering.PeerVni, mustBeKnown: false))
            {
                if (peering.PeerVni == network.Vni)
                {
                    _errors.Invalid(vniPath, peering.PeerVni, "a network cannot peer with itself");
                }
                else if (!peers.Add(peering.PeerVni))
                {
                    _errors.Duplicate(vniPath, peering.PeerVni, "the network already peers with this VNI");
                }
            }
            FieldPath exportedPath = p.Child("exportedPrefixes");
            var exported = new HashSet<PrefixValue>();
            for (int k = 0; k < peering.ExportedPrefixes.Count; k++)
            {
                if (CheckPrefix(exportedPath.Index(k), peering.ExportedPrefixes[k], 0, required: true, allowHostBits: false, out PrefixValue prefix)
                    && !exported.Add(prefix))
                {
                    _errors.Duplicate(exportedPath.Index(k), peering.ExportedPrefixes[k], "prefix listed twice");
                }
            }
        }
    }
}
