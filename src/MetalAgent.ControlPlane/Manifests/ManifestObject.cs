using MetalAgent.Model.Validation;

namespace MetalAgent.ControlPlane.Manifests;

/// <summary>One object read from a manifest: its identity, where it came from, its text, every validation
/// error found and, when there is none, the validated <see cref="Resource"/>.</summary>
public sealed record ManifestObject(
    string Kind,
    string Namespace,
    string Name,
    string Source,
    string Text,
    IReadOnlyList<ValidationError> Errors,
    Resource? Resource)
{
    /// <summary>"Kind/namespace/name".</summary>
    public string Key => string.Concat(Kind, "/", Namespace, "/", Name);

    public bool IsValid => Resource is not null;
}

/// <summary>A document that could not be read as an object (YAML syntax, not a mapping, missing or
/// unsupported kind, missing name, the same object twice).</summary>
public sealed record ManifestProblem(string Source, IReadOnlyList<ValidationError> Errors)
{
    public override string ToString() => $"{Source}: {string.Join("; ", Errors)}";
}
