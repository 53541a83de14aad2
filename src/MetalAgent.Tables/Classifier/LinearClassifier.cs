namespace MetalAgent.Tables.Classifier;

/// <summary>The reference classifier: a scan over the rules in the order given that keeps the best match by
/// (priority, rule index). Exactly the first-match-in-priority-order answer; the fast tables are tested against it.</summary>
public static class LinearClassifier
{
    /// <summary>Index of the best rule matching <paramref name="key"/>, or -1.</summary>
    public static int Classify(ReadOnlySpan<ClassifierRule4> rules, in FlowKey4 key)
    {
        int best = -1;
        int bestPriority = int.MaxValue;
        for (int i = 0; i < rules.Length; i++)
        {
            ref readonly ClassifierRule4 rule = ref rules[i];
            // The priority test first: once a match is found, rules that cannot beat it cost one compare.
            if ((rule.Priority < bestPriority || best < 0) && rule.Matches(in key))
            {
                best = i;
                bestPriority = rule.Priority;
            }
        }
        return best;
    }

    /// <summary>Index of the best rule matching <paramref name="key"/>, or -1.</summary>
    public static int Classify(ReadOnlySpan<ClassifierRule6> rules, in FlowKey6 key)
    {
        int best = -1;
        int bestPriority = int.MaxValue;
        for (int i = 0; i < rules.Length; i++)
        {
            ref readonly ClassifierRule6 rule = ref rules[i];
            if ((rule.Priority < bestPriority || best < 0) && rule.Matches(in key))
            {
                best = i;
                bestPriority = rule.Priority;
            }
        }
        return best;
    }

    /// <summary>Classifies every key; <paramref name="results"/> must be at least as long as <paramref name="keys"/>.</summary>
    public static void Classify(ReadOnlySpan<ClassifierRule4> rules, ReadOnlySpan<FlowKey4> keys, Span<int> results)
    {
        results = results[..keys.Length];
        for (int i = 0; i < keys.Length; i++)
        {
            results[i] = Classify(rules, in keys[i]);
        }
    }

    /// <summary>Classifies every key; <paramref name="results"/> must be at least as long as <paramref name="keys"/>.</summary>
    public static void Classify(ReadOnlySpan<ClassifierRule6> rules, ReadOnlySpan<FlowKey6> keys, Span<int> results)
    {
        results = results[..keys.Length];
        for (int i = 0; i < keys.Length; i++)
        {
            results[i] = Classify(rules, in keys[i]);
        }
    }
}
