using System.Text;

namespace MetalAgent.Model.Validation;

/// <summary>Collects validation errors in the order they are found; one method per error type.</summary>
public sealed class ErrorList
{
    private readonly List<ValidationError> _errors = [];

    public int Count => _errors.Count;

    public IReadOnlyList<ValidationError> Errors => _errors;

    public void Add(ValidationError error) => _errors.Add(error);

    public void Required(FieldPath field, string detail = "") =>
        _errors.Add(new ValidationError(field.ToString(), ValidationErrorType.Required, detail));

    public void Invalid(FieldPath field, object? value, string detail) =>
        _errors.Add(new ValidationError(field.ToString(), ValidationErrorType.Invalid, detail, value));

    public void Duplicate(FieldPath field, object? value, string detail) =>
        _errors.Add(new ValidationError(field.ToString(), ValidationErrorType.Duplicate, detail, value));

    public void Forbidden(FieldPath field, string detail) =>
        _errors.Add(new ValidationError(field.ToString(), ValidationErrorType.Forbidden, detail));

    /// <summary>Adds a NotSupported error whose detail lists the supported values, quoted.</summary>
    public void NotSupported(FieldPath field, object? value, params string[] supported)
    {
        var sb = new StringBuilder("supported values: ");
        for (int i = 0; i < supported.Length; i++)
        {
            if (i > 0)
            {
                sb.Append(", ");
            }
            ValidationError.AppendQuoted(sb, supported[i]);
        }
        _errors.Add(new ValidationError(field.ToString(), ValidationErrorType.NotSupported, sb.ToString(), value));
    }
}
