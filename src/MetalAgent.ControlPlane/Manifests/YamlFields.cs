using System.Globalization;
using MetalAgent.Model.Validation;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace MetalAgent.ControlPlane.Manifests;

/// <summary>Typed access to YAML nodes that records an IronCore-style error (with the field path) for every
/// value of the wrong shape, so one pass over a document reports everything wrong with it.</summary>
internal sealed class YamlFields
{
    public YamlFields(ErrorList errors) => Errors = errors;

    public ErrorList Errors { get; }

    public static bool IsNull(YamlNode? node) =>
        node is null || (node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any } s
            && s.Value is null or "" or "~" or "null" or "Null" or "NULL");

    /// <summary>The value of <paramref name="key"/>, or null when it is missing or null.</summary>
    public static YamlNode? Get(YamlMappingNode map, string key)
    {
        foreach (KeyValuePair<YamlNode, YamlNode> pair in map.Children)
        {
            if (pair.Key is YamlScalarNode k && string.Equals(k.Value, key, StringComparison.Ordinal))
            {
                return IsNull(pair.Value) ? null : pair.Value;
            }
        }
        return null;
    }

    /// <summary>Reports keys that are not in <paramref name="known"/> (a typo must not silently drop a setting).</summary>
    public void CheckKeys(YamlMappingNode map, FieldPath path, params string[] known)
    {
        foreach (KeyValuePair<YamlNode, YamlNode> pair in map.Children)
        {
            string key = pair.Key is YamlScalarNode k ? k.Value ?? string.Empty : pair.Key.ToString();
            if (Array.IndexOf(known, key) < 0)
            {
                Errors.Invalid(path.Child(key), key, "unknown field; known fields: " + string.Join(", ", known));
            }
        }
    }

    public YamlMappingNode? Map(YamlMappingNode map, string key, FieldPath path, bool required = false)
    {
        YamlNode? node = Get(map, key);
        if (node is null)
        {
            if (required)
            {
                Errors.Required(path);
            }
            return null;
        }
        if (node is YamlMappingNode m)
        {
            return m;
        }
        Errors.Invalid(path, Describe(node), "must be an object");
        return null;
    }

    /// <summary>Items of a list field (empty when missing); each item with its path.</summary>
    public List<(YamlNode Node, FieldPath Path)> List(YamlMappingNode map, string key, FieldPath path)
    {
        var items = new List<(YamlNode, FieldPath)>();
        YamlNode? node = Get(map, key);
        if (node is null)
        {
            return items;
        }
        if (node is not YamlSequenceNode seq)
        {
            Errors.Invalid(path, Describe(node), "must be a list");
            return items;
        }
        for (int i = 0; i < seq.Children.Count; i++)
        {
            items.Add((seq.Children[i], path.Index(i)));
        }
        return items;
    }

    /// <summary>True when the list field is present (even if empty).</summary>
    public static bool Has(YamlMappingNode map, string key) => Get(map, key) is not null;

    public YamlMappingNode? AsMap(YamlNode node, FieldPath path)
    {
        if (node is YamlMappingNode m)
        {
            return m;
        }
        Errors.Invalid(path, Describe(node), "must be an object");
        return null;
    }

    public string? String(YamlMappingNode map, string key, FieldPath path, bool required = false)
    {
        YamlNode? node = Get(map, key);
        if (node is null)
        {
            if (required)
            {
                Errors.Required(path);
            }
            return null;
        }
        return AsString(node, path);
    }

    public string? AsString(YamlNode node, FieldPath path)
    {
        if (node is YamlScalarNode s && !IsNull(s))
        {
            return s.Value ?? string.Empty;
        }
        Errors.Invalid(path, Describe(node), "must be a string");
        return null;
    }

    /// <summary>An integer field: a plain (unquoted) scalar, as a JSON number would be.</summary>
    public long? Integer(YamlMappingNode map, string key, FieldPath path, bool required = false)
    {
        YamlNode? node = Get(map, key);
        if (node is null)
        {
            if (required)
            {
                Errors.Required(path);
            }
            return null;
        }
        if (node is YamlScalarNode { Style: ScalarStyle.Plain } s
            && long.TryParse(s.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long value))
        {
            return value;
        }
        Errors.Invalid(path, Describe(node), "must be an integer");
        return null;
    }

    /// <summary>A reference object ({name: ...}); returns the validated name.</summary>
    public string? RefName(YamlMappingNode map, string key, FieldPath path, bool required, params string[] extraKeys)
    {
        YamlMappingNode? reference = Map(map, key, path, required);
        if (reference is null)
        {
            return null;
        }
        CheckKeys(reference, path, ["name", .. extraKeys]);
        string? name = String(reference, "name", path.Child("name"), required: true);
        if (name is not null && !Names.CheckSubdomain(Errors, path.Child("name"), name))
        {
            return null;
        }
        return name;
    }

    public static string Describe(YamlNode node) => node switch
    {
        YamlScalarNode s => s.Value ?? string.Empty,
        YamlSequenceNode => "<list>",
        YamlMappingNode => "<object>",
        _ => node.ToString(),
    };
}
