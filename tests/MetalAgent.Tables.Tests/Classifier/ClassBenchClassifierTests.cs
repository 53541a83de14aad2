using MetalAgent.Tables.Classifier;

namespace MetalAgent.Tables.Tests.Classifier;

/// <summary>The classifier against the linear scan on the ClassBench acl1, fw1 and ipc1 rule sets and traces.</summary>
public sealed class ClassBenchClassifierTests
{
    [Theory]
    [InlineData("acl1_1000", 950)]
    [InlineData("acl1_10000", 9806)]
    [InlineData("fw1_1000", 828)]
    [InlineData("fw1_10000", 9401)]
    [InlineData("ipc1_1000", 980)]
    [InlineData("ipc1_10000", 9485)]
    public void Rule_sets_parse_to_the_documented_sizes(string name, int count)
    {
        ClassifierRule4[] rules = ClassifierTestData.Rules(name).Rules;
        Assert.Equal(count, rules.Length);
        // Every set ends with the catch-all rule.
        Assert.Equal(ClassifierRule4.Any(count - 1, (uint)(count - 1)), rules[^1]);
    }

    [Fact]
    public void Parser_reads_fields_of_a_rule_and_a_trace_line()
    {
        ClassBenchRuleSet set = ClassBenchRuleSet.Parse(
            new StringReader("@141.214.13.126/32\t55.135.70.0/24\t0 : 65535\t1525 : 1530\t0x06/0xFF\t0x0000/0x0200\t\n"), "t");
        Assert.Equal(new ClassifierRule4(0x8DD60D7Eu, 32, 0x37874600u, 24, 0, 65535, 1525, 1530, 6, 0xFF, 0, 0), Assert.Single(set.Rules));
        ClassBenchTrace trace = ClassBenchTrace.Parse(new StringReader("2728039676\t1910062860\t0\t61900\t6\t268439552\t4995\n"), "t");
        Assert.Equal(new FlowKey4(2728039676, 1910062860, 0, 61900, 6), Assert.Single(trace.Keys));
        Assert.Equal(4995, Assert.Single(trace.GeneratorRules));
        Assert.Throws<FormatException>(() => ClassBenchRuleSet.Parse(new StringReader("@1.2.3.4/33\t0.0.0.0/0\t0 : 1\t0 : 1\t0x00/0x00\n"), "t"));
        Assert.Throws<FormatException>(() => ClassBenchTrace.Parse(new StringReader("1 2 3\n"), "t"));
    }

    [Theory]
    [InlineData("acl1", "acl1_1000_trace", 1)]
    [InlineData("fw1", "fw1_10000_trace", 4)]
    [InlineData("ipc1", "ipc1_10000_trace", 4)]
    public void Small_sets_agree_with_the_linear_scan(string seed, string traceName, int traceStride)
    {
        // Only acl1 has a 1K trace (compared on every header); fw1 and ipc1 use every 4th header of their 10K
        // trace plus headers on and around every rule.
        ClassifierRule4[] rules = ClassifierTestData.Rules(seed + "_1000").Rules;
        FlowKey4[] traceKeys = ClassifierTestData.Trace(traceName).Keys;
        var keys = new List<FlowKey4>();
        for (int i = 0; i < traceKeys.Length; i += traceStride)
        {
            keys.Add(traceKeys[i]);
        }
        keys.AddRange(ClassifierTestData.KeysAround(rules, 1));
        var table = Classifier4Table.Build(rules);
        var batched = new int[keys.Count];
        table.Classify(keys.ToArray(), batched);
        for (int i = 0; i < keys.Count; i++)
        {
            FlowKey4 key = keys[i];
            int expected = LinearClassifier.Classify(rules, in key);
            if (expected != batched[i] || expected != table.Classify(in key))
            {
                Assert.Fail($"{seed}_1000 key {i} {key}: linear {expected}, batched {batched[i]}, single {table.Classify(in key)}");
            }
        }
    }

    [Theory]
    [InlineData("acl1")]
    [InlineData("fw1")]
    [InlineData("ipc1")]
    public void Large_sets_agree_with_the_linear_scan_on_the_trace(string seed)
    {
        ClassifierRule4[] rules = ClassifierTestData.Rules(seed + "_10000").Rules;
        ClassBenchTrace trace = ClassifierTestData.Trace(seed + "_10000_trace");
        FlowKey4[] keys = trace.Keys;
        var table = Classifier4Table.Build(rules);
        var batched = new int[keys.Length];
        table.Classify(keys, batched);
        int compared = 0;
        for (int i = 0; i < keys.Length; i++)
        {
            int single = table.Classify(in keys[i]);
            Assert.True(single == batched[i], $"key {i}: batched {batched[i]}, single {single}");
            // The header was generated from rule RULE (a 0-based index in these files), so the best match is
            // that rule or a better one.
            Assert.InRange(single, 0, trace.GeneratorRules[i]);
            // The linear scan is the slow part: every 4th header (over 23,000 per set) keeps the test quick.
            if (i % 4 == 0)
            {
                int expected = LinearClassifier.Classify(rules, in keys[i]);
                Assert.True(expected == single, $"{seed}_10000 key {i} {keys[i]}: linear {expected}, classifier {single}");
                compared++;
            }
        }
        Assert.True(compared >= 20_000, $"only {compared} headers compared");
    }
}
