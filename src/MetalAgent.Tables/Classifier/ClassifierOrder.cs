namespace MetalAgent.Tables.Classifier;

/// <summary>Match order of classifier rules: ascending priority number, ties by ascending rule index.</summary>
internal static class ClassifierOrder
{
    public static int[] ByPriority(int count, Func<int, int> priority)
    {
        var keys = new long[count];
        var order = new int[count];
        for (int i = 0; i < count; i++)
        {
            keys[i] = ((long)priority(i) << 32) | (uint)i;
            order[i] = i;
        }
        Array.Sort(keys, order); // keys are distinct, so the result does not depend on the sort's stability
        return order;
    }
}
