namespace MetalAgent.Model.Validation;

/// <summary>The kind of a validation error, as in IronCore (Kubernetes field errors).</summary>
public enum ValidationErrorType
{
    /// <summary>A required value is missing.</summary>
    Required,

    /// <summary>The value is malformed or inconsistent with the rest of the spec.</summary>
    Invalid,

    /// <summary>The value is well-formed but not one of the supported values.</summary>
    NotSupported,

    /// <summary>The value must be unique but is already used elsewhere.</summary>
    Duplicate,

    /// <summary>The field must not be set in this context.</summary>
    Forbidden,
}
