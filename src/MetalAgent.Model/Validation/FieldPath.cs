using System.Globalization;

namespace MetalAgent.Model.Validation;

/// <summary>A field path in proto JSON style (<c>loadBalancers[0].ports[1].endPort</c>), built one step at a time.</summary>
/// <remarks>Paths are built for every field checked but read only when an error is reported, so the last
/// named step is kept apart and joined lazily: <see cref="Child"/> of an element path costs nothing, and
/// only <see cref="Index"/> (or a second <see cref="Child"/>) builds a string.</remarks>
public readonly struct FieldPath : IEquatable<FieldPath>
{
    private readonly string? _prefix;
    private readonly string? _leaf;

    private FieldPath(string? prefix, string? leaf)
    {
        _prefix = prefix;
        _leaf = leaf;
    }

    /// <summary>The empty path (the message being validated).</summary>
    public static FieldPath Root => default;

    /// <summary>The path of a child field, given by its JSON name (lowerCamelCase).</summary>
    public FieldPath Child(string jsonName) => _leaf is null ? new(_prefix, jsonName) : new(ToString(), jsonName);

    /// <summary>The path of one element of a repeated field.</summary>
    public FieldPath Index(int index) => new(
        _leaf is null ? string.Create(CultureInfo.InvariantCulture, $"{_prefix}[{index}]")
        : string.IsNullOrEmpty(_prefix) ? string.Create(CultureInfo.InvariantCulture, $"{_leaf}[{index}]")
        : string.Create(CultureInfo.InvariantCulture, $"{_prefix}.{_leaf}[{index}]"),
        null);

    public override string ToString() =>
        _leaf is null ? _prefix ?? string.Empty
        : string.IsNullOrEmpty(_prefix) ? _leaf
        : string.Concat(_prefix, ".", _leaf);

    public bool Equals(FieldPath other) => string.Equals(ToString(), other.ToString(), StringComparison.Ordinal);

    public override bool Equals(object? obj) => obj is FieldPath other && Equals(other);

    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(ToString());

    public static bool operator ==(FieldPath left, FieldPath right) => left.Equals(right);

    public static bool operator !=(FieldPath left, FieldPath right) => !left.Equals(right);
}
