namespace MetalAgent.ControlPlane.Manifests;

/// <summary>A Kubernetes label selector: every matchLabels pair and every matchExpression must hold.
/// An empty selector matches every object.</summary>
public sealed class LabelSelector
{
    public static readonly LabelSelector Everything = new(new SortedDictionary<string, string>(StringComparer.Ordinal), []);

    public LabelSelector(IReadOnlyDictionary<string, string> matchLabels, IReadOnlyList<LabelSelectorRequirement> matchExpressions)
    {
        MatchLabels = matchLabels;
        MatchExpressions = matchExpressions;
    }

    public IReadOnlyDictionary<string, string> MatchLabels { get; }

    public IReadOnlyList<LabelSelectorRequirement> MatchExpressions { get; }

    public bool Matches(IReadOnlyDictionary<string, string> labels)
    {
        foreach (KeyValuePair<string, string> pair in MatchLabels)
        {
            if (!labels.TryGetValue(pair.Key, out string? value) || !string.Equals(value, pair.Value, StringComparison.Ordinal))
            {
                return false;
            }
        }
        foreach (LabelSelectorRequirement requirement in MatchExpressions)
        {
            if (!requirement.Matches(labels))
            {
                return false;
            }
        }
        return true;
    }
}

/// <summary>Operators of a label selector's matchExpressions.</summary>
public enum LabelSelectorOperator
{
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

/// <summary>One matchExpressions entry of a label selector.</summary>
public sealed record LabelSelectorRequirement(string Key, LabelSelectorOperator Operator, IReadOnlyList<string> Values)
{
    public bool Matches(IReadOnlyDictionary<string, string> labels)
    {
        bool has = labels.TryGetValue(Key, out string? value);
        return Operator switch
        {
            LabelSelectorOperator.In => has && Values.Contains(value!, StringComparer.Ordinal),
            LabelSelectorOperator.NotIn => !has || !Values.Contains(value!, StringComparer.Ordinal),
            LabelSelectorOperator.Exists => has,
            _ => !has,
        };
    }
}
