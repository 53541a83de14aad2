using System.Globalization;
using MetalAgent.ControlPlane.V1;
using MetalAgent.Model.Validation;

namespace MetalAgent.ControlPlane.Sync;

/// <summary>Conversions between <see cref="ValidationError"/> and the wire's <see cref="FieldError"/>.</summary>
public static class FieldErrors
{
    public static FieldError ToWire(ValidationError error) => new()
    {
        Field = error.Field,
        Type = error.Type switch
        {
            ValidationErrorType.Required => FieldErrorType.Required,
            ValidationErrorType.Invalid => FieldErrorType.Invalid,
            ValidationErrorType.NotSupported => FieldErrorType.NotSupported,
            ValidationErrorType.Duplicate => FieldErrorType.Duplicate,
            ValidationErrorType.Forbidden => FieldErrorType.Forbidden,
            _ => FieldErrorType.Unspecified,
        },
        Detail = error.Detail,
        Value = error.Value switch
        {
            null => string.Empty,
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            object o => o.ToString() ?? string.Empty,
        },
    };

    /// <summary>Kubernetes-style text: <c>field: Type: "value": detail</c>.</summary>
    public static string Format(FieldError error)
    {
        string type = error.Type switch
        {
            FieldErrorType.Required => "Required value",
            FieldErrorType.Invalid => "Invalid value",
            FieldErrorType.NotSupported => "Unsupported value",
            FieldErrorType.Duplicate => "Duplicate value",
            FieldErrorType.Forbidden => "Forbidden",
            FieldErrorType.Internal => "Internal error",
            _ => "Error",
        };
        string value = error.Value.Length > 0 ? $": \"{error.Value}\"" : string.Empty;
        string detail = error.Detail.Length > 0 ? ": " + error.Detail : string.Empty;
        return $"{error.Field}: {type}{value}{detail}";
    }
}
