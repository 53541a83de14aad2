using MetalAgent.Model.Validation;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace MetalAgent.ControlPlane.Manifests;

/// <summary>Reads one YAML document into a <see cref="ManifestObject"/> (validated as IronCore's API server
/// would, every error listed with its field path) or a <see cref="ManifestProblem"/> when the document is
/// not an object the control plane can identify.</summary>
internal sealed partial class ManifestReader
{
    private const string DefaultNamespace = "default";

    private readonly ErrorList _errors = new();
    private readonly YamlFields _y;

    private ManifestReader() => _y = new YamlFields(_errors);

    /// <summary>Reads a document; <paramref name="firstLine"/> is its 1-based first line in the file, so
    /// syntax errors name the file's line.</summary>
    public static (ManifestObject? Object, ManifestProblem? Problem) Read(string text, string source, int firstLine = 1)
    {
        YamlNode? root;
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(text));
            root = stream.Documents.Count == 0 ? null : stream.Documents[0].RootNode;
        }
        catch (YamlException e)
        {
            long line = e.Start.Line + firstLine - 1;
            string message = e.InnerException is { } inner ? $"{e.Message} {inner.Message}" : e.Message;
            return (null, Problem(source, new ValidationError(string.Empty, ValidationErrorType.Invalid, $"YAML syntax error at line {line}: {message}")));
        }
        if (YamlFields.IsNull(root))
        {
            return (null, null);
        }
        if (root is not YamlMappingNode map)
        {
            return (null, Problem(source, new ValidationError(string.Empty, ValidationErrorType.Invalid, "a manifest document must be an object")));
        }
        return new ManifestReader().ReadObject(map, text, source);
    }

    private static ManifestProblem Problem(string source, params ValidationError[] errors) => new(source, errors);

    private (ManifestObject?, ManifestProblem?) ReadObject(YamlMappingNode map, string text, string source)
    {
        FieldPath root = FieldPath.Root;
        string? apiVersion = _y.String(map, "apiVersion", root.Child("apiVersion"), required: true);
        string? kind = _y.String(map, "kind", root.Child("kind"), required: true);
        YamlMappingNode? metadata = _y.Map(map, "metadata", root.Child("metadata"), required: true);
        string? name = metadata is null ? null : _y.String(metadata, "name", root.Child("metadata").Child("name"), required: true);
        if (kind is not null && ResourceKinds.ApiVersionOf(kind) is null)
        {
            _errors.NotSupported(root.Child("kind"), kind, ResourceKinds.All);
        }
        if (kind is null || name is null || ResourceKinds.ApiVersionOf(kind) is null)
        {
            return (null, Problem(source, [.. _errors.Errors]));
        }
        string expectedApi = ResourceKinds.ApiVersionOf(kind)!;
        if (apiVersion is not null && !string.Equals(apiVersion, expectedApi, StringComparison.Ordinal))
        {
            _errors.NotSupported(root.Child("apiVersion"), apiVersion, expectedApi);
        }
        _y.CheckKeys(map, root, "apiVersion", "kind", "metadata", "spec", "status");

        ObjectMeta meta = ReadMetadata(metadata!, root.Child("metadata"), name);
        YamlMappingNode spec = _y.Map(map, "spec", root.Child("spec")) ?? new YamlMappingNode();
        FieldPath specPath = root.Child("spec");
        Resource? resource = kind switch
        {
            ResourceKinds.Network => ReadNetwork(meta, spec, specPath),
            ResourceKinds.NetworkInterface => ReadNetworkInterface(meta, spec, specPath),
            ResourceKinds.VirtualIP => ReadVirtualIp(meta, spec, specPath),
            ResourceKinds.NATGateway => ReadNatGateway(meta, spec, specPath),
            ResourceKinds.LoadBalancer => ReadLoadBalancer(meta, spec, specPath),
            ResourceKinds.NetworkPolicy => ReadNetworkPolicy(meta, spec, specPath),
            _ => ReadMachine(meta, spec, specPath),
        };
        IReadOnlyList<ValidationError> errors = [.. _errors.Errors];
        return (new ManifestObject(kind, meta.Namespace, meta.Name, source, text, errors, errors.Count == 0 ? resource : null), null);
    }

    private ObjectMeta ReadMetadata(YamlMappingNode metadata, FieldPath path, string name)
    {
        Names.CheckSubdomain(_errors, path.Child("name"), name);
        string ns = _y.String(metadata, "namespace", path.Child("namespace")) ?? DefaultNamespace;
        if (ns.Length == 0)
        {
            ns = DefaultNamespace;
        }
        Names.CheckLabel(_errors, path.Child("namespace"), ns);
        string uid = _y.String(metadata, "uid", path.Child("uid")) ?? string.Empty;
        var labels = new SortedDictionary<string, string>(StringComparer.Ordinal);
        YamlMappingNode? labelMap = _y.Map(metadata, "labels", path.Child("labels"));
        if (labelMap is not null)
        {
            ReadStringMap(labelMap, path.Child("labels"), labels);
        }
        return new ObjectMeta(ns, name, labels, uid);
    }

    /// <summary>Labels (metadata.labels, matchLabels): valid keys and values.</summary>
    private void ReadStringMap(YamlMappingNode map, FieldPath path, SortedDictionary<string, string> into)
    {
        foreach (KeyValuePair<YamlNode, YamlNode> pair in map.Children)
        {
            string key = pair.Key is YamlScalarNode k ? k.Value ?? string.Empty : string.Empty;
            FieldPath p = path.Child(key);
            if (!Names.IsLabelKey(key))
            {
                _errors.Invalid(p, key, "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (at most 63 characters), with an optional DNS subdomain prefix and '/'");
                continue;
            }
            string value = YamlFields.IsNull(pair.Value) ? string.Empty : _y.AsString(pair.Value, p) ?? string.Empty;
            if (!Names.IsLabelValue(value))
            {
                _errors.Invalid(p, value, "a valid label value must be 63 characters or less and consist of alphanumeric characters, '-', '_' or '.', starting and ending with an alphanumeric character");
                continue;
            }
            into[key] = value;
        }
    }

    private LabelSelector? ReadSelector(YamlMappingNode parent, string key, FieldPath path)
    {
        YamlMappingNode? map = _y.Map(parent, key, path);
        if (map is null)
        {
            return null;
        }
        _y.CheckKeys(map, path, "matchLabels", "matchExpressions");
        var labels = new SortedDictionary<string, string>(StringComparer.Ordinal);
        YamlMappingNode? matchLabels = _y.Map(map, "matchLabels", path.Child("matchLabels"));
        if (matchLabels is not null)
        {
            ReadStringMap(matchLabels, path.Child("matchLabels"), labels);
        }
        var expressions = new List<LabelSelectorRequirement>();
        foreach ((YamlNode node, FieldPath p) in _y.List(map, "matchExpressions", path.Child("matchExpressions")))
        {
            if (_y.AsMap(node, p) is not YamlMappingNode expr)
            {
                continue;
            }
            _y.CheckKeys(expr, p, "key", "operator", "values");
            string? exprKey = _y.String(expr, "key", p.Child("key"), required: true);
            if (exprKey is not null && !Names.IsLabelKey(exprKey))
            {
                _errors.Invalid(p.Child("key"), exprKey, "not a valid label key");
            }
            string? op = _y.String(expr, "operator", p.Child("operator"), required: true);
            var values = new List<string>();
            foreach ((YamlNode v, FieldPath vp) in _y.List(expr, "values", p.Child("values")))
            {
                if (_y.AsString(v, vp) is string value)
                {
                    values.Add(value);
                }
            }
            LabelSelectorOperator? parsed = op switch
            {
                "In" => LabelSelectorOperator.In,
                "NotIn" => LabelSelectorOperator.NotIn,
                "Exists" => LabelSelectorOperator.Exists,
                "DoesNotExist" => LabelSelectorOperator.DoesNotExist,
                _ => null,
            };
            if (op is not null && parsed is null)
            {
                _errors.NotSupported(p.Child("operator"), op, "In", "NotIn", "Exists", "DoesNotExist");
            }
            if (parsed is LabelSelectorOperator.In or LabelSelectorOperator.NotIn && values.Count == 0)
            {
                _errors.Required(p.Child("values"), "must be specified when `operator` is 'In' or 'NotIn'");
            }
            if (parsed is LabelSelectorOperator.Exists or LabelSelectorOperator.DoesNotExist && values.Count > 0)
            {
                _errors.Forbidden(p.Child("values"), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
            }
            if (exprKey is not null && parsed is LabelSelectorOperator o)
            {
                expressions.Add(new LabelSelectorRequirement(exprKey, o, values));
            }
        }
        return new LabelSelector(labels, expressions);
    }

    private IpFamily? ReadFamily(YamlNode node, FieldPath path)
    {
        string? text = _y.AsString(node, path);
        switch (text)
        {
            case null:
                return null;
            case "IPv4":
                return IpFamily.IPv4;
            case "IPv6":
                return IpFamily.IPv6;
            default:
                _errors.NotSupported(path, text, "IPv4", "IPv6");
                return null;
        }
    }

    /// <summary>A list of IP families: supported values, each at most once.</summary>
    private List<IpFamily> ReadFamilies(YamlMappingNode spec, FieldPath path)
    {
        var families = new List<IpFamily>();
        foreach ((YamlNode node, FieldPath p) in _y.List(spec, "ipFamilies", path))
        {
            if (ReadFamily(node, p) is IpFamily family)
            {
                if (families.Contains(family))
                {
                    _errors.Duplicate(p, family.ToString(), "IP family listed twice");
                }
                else
                {
                    families.Add(family);
                }
            }
        }
        return families;
    }

    /// <summary>"Public" is the only type of VirtualIP and NATGateway.</summary>
    private void ReadPublicType(YamlMappingNode spec, FieldPath path)
    {
        string? type = _y.String(spec, "type", path, required: true);
        if (type is not null && type != "Public")
        {
            _errors.NotSupported(path, type, "Public");
        }
    }

    private string? ReadNetworkRef(YamlMappingNode spec, FieldPath specPath) =>
        _y.RefName(spec, "networkRef", specPath.Child("networkRef"), required: true);

    /// <summary>A unicast interface or load-balancer address given as {value: ...}.</summary>
    private IpAddressValueResult ReadIpSource(YamlNode node, FieldPath path)
    {
        if (_y.AsMap(node, path) is not YamlMappingNode source)
        {
            return default;
        }
        _y.CheckKeys(source, path, "value", "ephemeral");
        if (YamlFields.Has(source, "ephemeral"))
        {
            _errors.NotSupported(path.Child("ephemeral"), "ephemeral", "value");
            return default;
        }
        string? text = _y.String(source, "value", path.Child("value"), required: true);
        if (text is null)
        {
            return default;
        }
        if (!Addressing.IpAddressValue.TryParse(text, out Addressing.IpAddressValue ip))
        {
            _errors.Invalid(path.Child("value"), text, "must be a valid IP address");
            return default;
        }
        if (!ip.IsUnicast)
        {
            _errors.Invalid(path.Child("value"), text, "must be a unicast address (not unspecified, loopback, link-local, multicast or broadcast)");
            return default;
        }
        return new IpAddressValueResult(true, ip);
    }

    private readonly record struct IpAddressValueResult(bool Ok, Addressing.IpAddressValue Ip);
}
