using MetalAgent.Tables.Classifier;

namespace MetalAgent.Tables.Snapshot;

/// <summary>The action value classifier rules carry for policy.</summary>
public static class PolicyActions
{
    public const uint Allow = 0;
    public const uint Deny = 1;
}

/// <summary>
/// Policy of one interface: a classifier per direction and family. A null classifier in a
/// selected direction means "no rule", so everything is denied there; directions the interface's
/// <see cref="InterfaceEntry.IngressPolicy"/> / <see cref="InterfaceEntry.EgressPolicy"/> does not
/// select are not classified at all. Identical rule groups share one classifier instance.
/// </summary>
public sealed class InterfacePolicy
{
    public static InterfacePolicy None { get; } = new();

    public Classifier4Table? Ingress4 { get; init; }
    public Classifier6Table? Ingress6 { get; init; }
    public Classifier4Table? Egress4 { get; init; }
    public Classifier6Table? Egress6 { get; init; }
}
