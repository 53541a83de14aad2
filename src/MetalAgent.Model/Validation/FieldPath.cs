using System.Globalization;

namespace MetalAgent.Model.Validation;

/// <summary>A field path in proto JSON style (<c>loadBalancers[0].ports[1].endPort</c>), built one step at a time.</summary>
public readonly record struct FieldPath
{
    private readonly string? _value;

    private FieldPath(string value) => _value = value;

    /// <summary>The empty path (the message being validated).</summary>
    public static FieldPath Root => default;

    /// <summary>The path of a child field, given by its JSON name (lowerCamelCase).</summary>
    public FieldPath Child(string jsonName) =>
        new(string.IsNullOrEmpty(_value) ? jsonName : string.Concat(_value, ".", jsonName));

    /// <summary>The path of one element of a repeated field.</summary>
    public FieldPath Index(int index) =>
        new(string.Concat(_value, "[", index.ToString(CultureInfo.InvariantCulture), "]"));

    public override string ToString() => _value ?? string.Empty;
}
