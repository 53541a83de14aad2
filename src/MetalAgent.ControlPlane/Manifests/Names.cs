using MetalAgent.Model.Validation;

namespace MetalAgent.ControlPlane.Manifests;

/// <summary>Kubernetes name and label syntax checks.</summary>
internal static class Names
{
    /// <summary>DNS-1123 subdomain (object names): at most 253 characters, lower-case labels separated by dots.</summary>
    public static bool IsSubdomain(string name)
    {
        if (name.Length is 0 or > 253)
        {
            return false;
        }
        foreach (string label in name.Split('.'))
        {
            if (!IsLabelSyntax(label, 63))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>DNS-1123 label (namespaces, peering names): 1..63 of [a-z0-9-], alphanumeric at both ends.</summary>
    public static bool IsLabel(string name) => IsLabelSyntax(name, 63);

    public static bool CheckSubdomain(ErrorList errors, FieldPath path, string name)
    {
        if (IsSubdomain(name))
        {
            return true;
        }
        errors.Invalid(path, name, "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character");
        return false;
    }

    public static bool CheckLabel(ErrorList errors, FieldPath path, string name)
    {
        if (IsLabel(name))
        {
            return true;
        }
        errors.Invalid(path, name, "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (at most 63 characters)");
        return false;
    }

    /// <summary>Label keys: an optional DNS subdomain prefix and '/', then a name of at most 63 characters.</summary>
    public static bool IsLabelKey(string key)
    {
        int slash = key.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            if (!IsSubdomain(key[..slash]))
            {
                return false;
            }
            key = key[(slash + 1)..];
        }
        return key.Length > 0 && IsLabelValue(key);
    }

    /// <summary>Label values: empty, or at most 63 of [A-Za-z0-9-_.], alphanumeric at both ends.</summary>
    public static bool IsLabelValue(string value)
    {
        if (value.Length == 0)
        {
            return true;
        }
        if (value.Length > 63 || !char.IsAsciiLetterOrDigit(value[0]) || !char.IsAsciiLetterOrDigit(value[^1]))
        {
            return false;
        }
        foreach (char c in value)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            {
                return false;
            }
        }
        return true;
    }

    private static bool IsLabelSyntax(string label, int max)
    {
        if (label.Length == 0 || label.Length > max || !IsLowerAlnum(label[0]) || !IsLowerAlnum(label[^1]))
        {
            return false;
        }
        foreach (char c in label)
        {
            if (!(IsLowerAlnum(c) || c == '-'))
            {
                return false;
            }
        }
        return true;
    }

    private static bool IsLowerAlnum(char c) => c is (>= 'a' and <= 'z') or (>= '0' and <= '9');
}
