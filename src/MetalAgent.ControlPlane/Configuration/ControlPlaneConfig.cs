using System.Globalization;
using System.Net;
using MetalAgent.ControlPlane.Addressing;
using MetalAgent.ControlPlane.Manifests;
using MetalAgent.Model.Validation;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace MetalAgent.ControlPlane.Configuration;

/// <summary>The control plane's own configuration: hosts and their underlay /64s, the router, public
/// address pools, what every host is told (MTU, DNS), where to listen and TLS material.</summary>
/// <remarks>File format (YAML):
/// <code>
/// listen: 127.0.0.1:7443
/// routerUnderlayAddress: fc00:0:ff::1
/// publicPools: [203.0.113.0/24, 2001:db8:ffff::/48]
/// mtu: 1500            # optional, 0 = 1500
/// underlayMtu: 0       # optional, 0 = mtu + 40
/// dnsServers: [198.51.100.53]
/// stateFile: state.json   # relative to the config file
/// hosts:
/// - name: host-a
///   underlayPrefix: fc00:1:a::/64
/// tls:                 # omitted: plaintext, loopback listen addresses only
///   certificate: server.crt
///   key: server.key
///   clientCa: ca.crt
/// </code></remarks>
public sealed class ControlPlaneConfig
{
    public const string DefaultListen = "127.0.0.1:7443";

    public required IReadOnlyList<HostConfig> Hosts { get; init; }

    public required IpAddressValue RouterUnderlayAddress { get; init; }

    /// <summary>Public pools in allocation order.</summary>
    public IReadOnlyList<IpPrefixValue> PublicPools { get; init; } = [];

    public uint Mtu { get; init; }

    public uint UnderlayMtu { get; init; }

    public IReadOnlyList<IpAddressValue> DnsServers { get; init; } = [];

    /// <summary>IP endpoint to listen on; port 0 picks a free port.</summary>
    public IPEndPoint Listen { get; init; } = IPEndPoint.Parse(DefaultListen);

    /// <summary>Allocation store file (JSON); null keeps allocations in memory only.</summary>
    public string? StateFile { get; init; }

    public TlsConfig? Tls { get; init; }

    public HostConfig? FindHost(string name)
    {
        foreach (HostConfig host in Hosts)
        {
            if (string.Equals(host.Name, name, StringComparison.Ordinal))
            {
                return host;
            }
        }
        return null;
    }

    /// <summary>Reads and validates a configuration file; relative paths in it are resolved against its
    /// directory. Throws <see cref="ConfigException"/> listing every problem.</summary>
    public static ControlPlaneConfig Load(string path)
    {
        string text = File.ReadAllText(path);
        return Parse(text, Path.GetDirectoryName(Path.GetFullPath(path))!);
    }

    /// <summary>Parses and validates configuration text. Throws <see cref="ConfigException"/> listing every problem.</summary>
    public static ControlPlaneConfig Parse(string yaml, string baseDirectory)
    {
        var errors = new ErrorList();
        YamlMappingNode? root;
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(yaml));
            root = stream.Documents.Count == 0 ? null : stream.Documents[0].RootNode as YamlMappingNode;
        }
        catch (YamlException e)
        {
            throw new ConfigException([new ValidationError(string.Empty, ValidationErrorType.Invalid, $"YAML syntax error at line {e.Start.Line}: {e.Message}")]);
        }
        if (root is null)
        {
            throw new ConfigException([new ValidationError(string.Empty, ValidationErrorType.Invalid, "the configuration must be an object")]);
        }
        ControlPlaneConfig? config = new ConfigReader(errors, baseDirectory).Read(root);
        if (errors.Count > 0 || config is null)
        {
            throw new ConfigException(errors.Errors);
        }
        return config;
    }

    private sealed class ConfigReader(ErrorList errors, string baseDirectory)
    {
        private readonly YamlFields _y = new(errors);

        public ControlPlaneConfig? Read(YamlMappingNode root)
        {
            FieldPath r = FieldPath.Root;
            _y.CheckKeys(root, r, "listen", "routerUnderlayAddress", "publicPools", "mtu", "underlayMtu", "dnsServers", "stateFile", "hosts", "tls");

            List<HostConfig> hosts = ReadHosts(root, r.Child("hosts"));

            IpAddressValue router = default;
            FieldPath routerPath = r.Child("routerUnderlayAddress");
            string? routerText = _y.String(root, "routerUnderlayAddress", routerPath, required: true);
            if (routerText is not null)
            {
                if (!IpAddressValue.TryParse(routerText, out router) || router.Version != 6 || !router.IsUnicast)
                {
                    errors.Invalid(routerPath, routerText, "must be a unicast IPv6 address");
                }
                else if (hosts.Find(h => h.UnderlayPrefix.Contains(router)) is HostConfig inside)
                {
                    errors.Invalid(routerPath, routerText, $"inside host {inside.Name}'s underlay prefix {inside.UnderlayPrefix}");
                }
            }

            var pools = new List<IpPrefixValue>();
            foreach ((YamlNode node, FieldPath p) in _y.List(root, "publicPools", r.Child("publicPools")))
            {
                string? text = _y.AsString(node, p);
                if (text is null)
                {
                    continue;
                }
                if (!IpPrefixValue.TryParse(text, out IpPrefixValue pool, out bool hostBits) || !pool.NetworkAddress.IsUnicast && pool.Version == 6)
                {
                    errors.Invalid(p, text, "must be a unicast prefix (address/length)");
                }
                else if (hostBits)
                {
                    errors.Invalid(p, text, $"host bits set (did you mean {pool}?)");
                }
                else if (pool.HostBits < 1 || (pool.Version == 4 && pool.HostBits < 2))
                {
                    errors.Invalid(p, text, "too small to hand out addresses");
                }
                else if (pools.FindIndex(o => o.Overlaps(pool)) is int other and >= 0)
                {
                    errors.Duplicate(p, text, $"overlaps pool {pools[other]}");
                }
                else if (hosts.Find(h => h.UnderlayPrefix.Overlaps(pool)) is HostConfig h)
                {
                    errors.Invalid(p, text, $"overlaps host {h.Name}'s underlay prefix");
                }
                else
                {
                    pools.Add(pool);
                }
            }

            uint mtu = ReadUInt(root, "mtu", r.Child("mtu"));
            if (mtu != 0 && mtu is < HostSpecValidator.MinMtu or > HostSpecValidator.MaxMtu)
            {
                errors.Invalid(r.Child("mtu"), mtu, $"must be 0 (meaning 1500) or between {HostSpecValidator.MinMtu} and {HostSpecValidator.MaxMtu}");
            }
            uint underlayMtu = ReadUInt(root, "underlayMtu", r.Child("underlayMtu"));
            uint minUnderlay = (mtu == 0 ? 1500 : mtu) + HostSpecValidator.EncapsulationOverhead;
            if (underlayMtu != 0 && (underlayMtu < minUnderlay || underlayMtu > HostSpecValidator.MaxUnderlayMtu))
            {
                errors.Invalid(r.Child("underlayMtu"), underlayMtu, $"must be 0 (meaning mtu + 40) or between {minUnderlay} and {HostSpecValidator.MaxUnderlayMtu}");
            }

            var dns = new List<IpAddressValue>();
            foreach ((YamlNode node, FieldPath p) in _y.List(root, "dnsServers", r.Child("dnsServers")))
            {
                string? text = _y.AsString(node, p);
                if (text is null)
                {
                    continue;
                }
                if (!IpAddressValue.TryParse(text, out IpAddressValue server) || !server.IsUnicast)
                {
                    errors.Invalid(p, text, "must be a unicast IP address");
                }
                else if (dns.Contains(server))
                {
                    errors.Duplicate(p, text, "DNS server listed twice");
                }
                else
                {
                    dns.Add(server);
                }
            }

            IPEndPoint listen = IPEndPoint.Parse(DefaultListen);
            string? listenText = _y.String(root, "listen", r.Child("listen"));
            if (listenText is not null && !IPEndPoint.TryParse(listenText, out listen!))
            {
                errors.Invalid(r.Child("listen"), listenText, "must be address:port (for example 127.0.0.1:7443 or [::1]:7443)");
                listen = IPEndPoint.Parse(DefaultListen);
            }

            string? stateFile = _y.String(root, "stateFile", r.Child("stateFile"));
            TlsConfig? tls = ReadTls(root, r.Child("tls"));
            // A tls block that failed to read has its own errors; only a missing one is reported here.
            if (tls is null && !root.Children.ContainsKey(new YamlScalarNode("tls")) && listenText is not null && !IPAddress.IsLoopback(listen.Address))
            {
                errors.Required(r.Child("tls"), $"listening on {listen} (not loopback) requires TLS with client certificates");
            }

            if (hosts.Count == 0 && errors.Count == 0)
            {
                errors.Required(r.Child("hosts"), "at least one host");
            }
            return new ControlPlaneConfig
            {
                Hosts = hosts,
                RouterUnderlayAddress = router,
                PublicPools = pools,
                Mtu = mtu,
                UnderlayMtu = underlayMtu,
                DnsServers = dns,
                Listen = listen,
                StateFile = stateFile is null ? null : Path.GetFullPath(stateFile, baseDirectory),
                Tls = tls,
            };
        }

        private List<HostConfig> ReadHosts(YamlMappingNode root, FieldPath path)
        {
            var hosts = new List<HostConfig>();
            foreach ((YamlNode node, FieldPath p) in _y.List(root, "hosts", path))
            {
                if (_y.AsMap(node, p) is not YamlMappingNode host)
                {
                    continue;
                }
                _y.CheckKeys(host, p, "name", "underlayPrefix");
                string? name = _y.String(host, "name", p.Child("name"), required: true);
                bool nameOk = name is not null && Names.CheckLabel(errors, p.Child("name"), name);
                if (nameOk && hosts.Exists(h => h.Name == name))
                {
                    errors.Duplicate(p.Child("name"), name, "host listed twice");
                    nameOk = false;
                }
                FieldPath prefixPath = p.Child("underlayPrefix");
                string? prefixText = _y.String(host, "underlayPrefix", prefixPath, required: true);
                bool prefixOk = false;
                IpPrefixValue prefix = default;
                if (prefixText is not null)
                {
                    if (!IpPrefixValue.TryParse(prefixText, out prefix, out bool hostBits) || prefix.Version != 6)
                    {
                        errors.Invalid(prefixPath, prefixText, "must be an IPv6 prefix");
                    }
                    else if (hostBits)
                    {
                        errors.Invalid(prefixPath, prefixText, $"host bits set (did you mean {prefix}?)");
                    }
                    else if (prefix.Length != 64)
                    {
                        errors.Invalid(prefixPath, prefixText, "must be a /64");
                    }
                    else if (!prefix.NetworkAddress.IsUnicast)
                    {
                        errors.Invalid(prefixPath, prefixText, "must be a unicast prefix (not link-local or multicast)");
                    }
                    else if (hosts.Find(h => h.UnderlayPrefix == prefix) is HostConfig other)
                    {
                        errors.Duplicate(prefixPath, prefixText, $"already the underlay prefix of host {other.Name}");
                    }
                    else
                    {
                        prefixOk = true;
                    }
                }
                if (nameOk && prefixOk)
                {
                    hosts.Add(new HostConfig(name!, prefix));
                }
            }
            return hosts;
        }

        private uint ReadUInt(YamlMappingNode root, string key, FieldPath path)
        {
            long? value = _y.Integer(root, key, path);
            if (value is null)
            {
                return 0;
            }
            if (value is < 0 or > uint.MaxValue)
            {
                errors.Invalid(path, value.Value, "must not be negative");
                return 0;
            }
            return (uint)value.Value;
        }

        private TlsConfig? ReadTls(YamlMappingNode root, FieldPath path)
        {
            YamlMappingNode? tls = _y.Map(root, "tls", path);
            if (tls is null)
            {
                return null;
            }
            _y.CheckKeys(tls, path, "certificate", "key", "clientCa");
            string? certificate = ReadFile(tls, "certificate", path.Child("certificate"));
            string? key = ReadFile(tls, "key", path.Child("key"));
            string? ca = ReadFile(tls, "clientCa", path.Child("clientCa"));
            return certificate is null || key is null || ca is null ? null : new TlsConfig(certificate, key, ca);
        }

        private string? ReadFile(YamlMappingNode map, string key, FieldPath path)
        {
            string? text = _y.String(map, key, path, required: true);
            if (text is null)
            {
                return null;
            }
            string full = Path.GetFullPath(text, baseDirectory);
            if (!File.Exists(full))
            {
                errors.Invalid(path, text, string.Create(CultureInfo.InvariantCulture, $"file not found ({full})"));
                return null;
            }
            return full;
        }
    }
}

/// <summary>One hypervisor host: its name (the Machines' machinePoolRef) and its underlay /64.</summary>
public sealed record HostConfig(string Name, IpPrefixValue UnderlayPrefix);

/// <summary>TLS material: the server's certificate and key (PEM) and the CA that signs client certificates.</summary>
public sealed record TlsConfig(string CertificatePath, string KeyPath, string ClientCaPath);

/// <summary>The configuration is invalid; <see cref="Errors"/> lists every problem with its field path.</summary>
public sealed class ConfigException : Exception
{
    public ConfigException()
        : this([])
    {
    }

    public ConfigException(string message)
        : base(message)
    {
        Errors = [];
    }

    public ConfigException(string message, Exception innerException)
        : base(message, innerException)
    {
        Errors = [];
    }

    public ConfigException(IReadOnlyList<ValidationError> errors)
        : base("invalid control-plane configuration:" + string.Concat(errors.Select(e => "\n  " + e)))
    {
        Errors = errors;
    }

    public IReadOnlyList<ValidationError> Errors { get; }
}
