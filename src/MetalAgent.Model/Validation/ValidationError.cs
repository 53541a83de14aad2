using System.Globalization;
using System.Text;

namespace MetalAgent.Model.Validation;

/// <summary>One problem found in a spec: the field path in proto JSON style (for example
/// <c>interfaces[2].ipv4</c>), its type, a human-readable detail and, optionally, the offending value.</summary>
/// <remarks>Equality covers all four members; tests usually compare <see cref="Field"/> and <see cref="Type"/>.</remarks>
public sealed record ValidationError(string Field, ValidationErrorType Type, string Detail, object? Value = null)
{
    /// <summary>Formats like IronCore / Kubernetes field errors, for example
    /// <c>interfaces[2].ipv4: Invalid value: "10.0.0.300": not an IPv4 address</c>.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append(Field).Append(": ").Append(TypeText(Type));
        // Kubernetes omits the value for Required and Forbidden errors.
        if (Value is not null && Type is not (ValidationErrorType.Required or ValidationErrorType.Forbidden))
        {
            sb.Append(": ");
            AppendValue(sb, Value);
        }
        if (Detail.Length > 0)
        {
            sb.Append(": ").Append(Detail);
        }
        return sb.ToString();
    }

    /// <summary>The text Kubernetes uses for each error type.</summary>
    public static string TypeText(ValidationErrorType type) => type switch
    {
        ValidationErrorType.Required => "Required value",
        ValidationErrorType.Invalid => "Invalid value",
        ValidationErrorType.NotSupported => "Unsupported value",
        ValidationErrorType.Duplicate => "Duplicate value",
        ValidationErrorType.Forbidden => "Forbidden",
        _ => type.ToString(),
    };

    internal static void AppendValue(StringBuilder sb, object value)
    {
        if (value is string s)
        {
            AppendQuoted(sb, s);
        }
        else if (value is IFormattable f)
        {
            sb.Append(f.ToString(null, CultureInfo.InvariantCulture));
        }
        else
        {
            sb.Append(value);
        }
    }

    internal static void AppendQuoted(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"':
                    sb.Append("\\\"");
                    break;
                case '\\':
                    sb.Append("\\\\");
                    break;
                default:
                    if (char.IsControl(c))
                    {
                        sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        sb.Append(c);
                    }
                    break;
            }
        }
        sb.Append('"');
    }
}
