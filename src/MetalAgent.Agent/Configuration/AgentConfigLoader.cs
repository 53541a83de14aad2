using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace MetalAgent.Agent.Configuration;

/// <summary>What <see cref="AgentConfigLoader.Load"/> produced: the configuration, every problem found
/// ("key: reason"), and where each set value came from (for <c>run --check</c>).</summary>
public sealed record AgentConfigResult(AgentConfig Config, IReadOnlyList<string> Problems, IReadOnlyDictionary<string, string> Sources);

/// <summary>
/// Builds the agent's configuration: defaults, then the YAML file, then command-line options. Nothing stops
/// at the first problem: every unknown key, bad value and missing setting is listed, so one start
/// attempt shows everything to fix.
/// </summary>
public static class AgentConfigLoader
{
    public const string DefaultPath = "/etc/metalagent/agent.yaml";

    /// <summary>
    /// Loads <paramref name="path"/> (a missing file is a problem only when <paramref name="pathExplicit"/>;
    /// null: no file) and applies <paramref name="overrides"/> (values given on the command line, in order).
    /// </summary>
    public static AgentConfigResult Load(string? path, bool pathExplicit, IReadOnlyList<(ConfigSetting Setting, IReadOnlyList<string> Values)> overrides)
    {
        var config = new AgentConfig();
        var problems = new List<string>();
        var sources = new Dictionary<string, string>(StringComparer.Ordinal);
        string? source = null;
        if (path is not null)
        {
            string? text = null;
            try
            {
                text = File.ReadAllText(path);
                source = path;
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
            {
                if (pathExplicit)
                {
                    problems.Add($"{path}: file not found");
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                problems.Add($"{path}: {e.Message}");
            }
            if (text is not null)
            {
                ReadYaml(text, path, config, problems, sources);
            }
        }
        foreach ((ConfigSetting setting, IReadOnlyList<string> values) in overrides)
        {
            if (setting.IsMap && values.Count > 0)
            {
                sources[setting.Key] = sources.TryGetValue(setting.Key, out string? from) ? from + " + command line" : "command line";
            }
            foreach (string value in values)
            {
                if (setting.Set(config, value) is { } problem)
                {
                    problems.Add($"{setting.OptionName}: {problem}");
                }
                else if (!setting.IsMap)
                {
                    sources[setting.Key] = "command line";
                }
            }
        }
        CheckComplete(config, source, problems);
        return new AgentConfigResult(config, problems, sources);
    }

    /// <summary>Reads YAML text into <paramref name="config"/>; problems name the key and the line.</summary>
    public static void ReadYaml(string text, string source, AgentConfig config, List<string> problems, Dictionary<string, string>? sources = null)
    {
        YamlMappingNode? root;
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(text));
            if (stream.Documents.Count == 0)
            {
                return;
            }
            root = stream.Documents[0].RootNode as YamlMappingNode;
        }
        catch (YamlException e)
        {
            problems.Add($"{source}: YAML syntax error at line {e.Start.Line}: {e.Message}");
            return;
        }
        if (root is null)
        {
            problems.Add($"{source}: the configuration must be a mapping of settings (key: value)");
            return;
        }
        foreach ((YamlNode keyNode, YamlNode valueNode) in root.Children)
        {
            string where = $"({Path.GetFileName(source)} line {keyNode.Start.Line})";
            string key = keyNode is YamlScalarNode { Value: { } k } ? k : string.Empty;
            ConfigSetting? setting = AgentConfigSchema.Find(key);
            if (setting is null)
            {
                string hint = Suggest(key) is { } near ? $" (did you mean {near}?)" : string.Empty;
                problems.Add($"{key}: unknown setting{hint} {where}");
                continue;
            }
            if (setting.IsMap)
            {
                ReadMap(setting, valueNode, where, config, problems);
            }
            else if (valueNode is YamlScalarNode scalar)
            {
                if (IsNull(scalar))
                {
                    continue;
                }
                if (setting.Set(config, scalar.Value!, Path.GetDirectoryName(Path.GetFullPath(source))) is { } problem)
                {
                    problems.Add($"{key}: {problem} {where}");
                    continue;
                }
            }
            else
            {
                problems.Add($"{key}: must be a single value, not a {(valueNode is YamlSequenceNode ? "list" : "mapping")} {where}");
                continue;
            }
            if (sources is not null)
            {
                sources[key] = source;
            }
        }
    }

    private static void ReadMap(ConfigSetting setting, YamlNode node, string where, AgentConfig config, List<string> problems)
    {
        if (node is YamlScalarNode scalar && IsNull(scalar))
        {
            return;
        }
        if (node is not YamlMappingNode map)
        {
            problems.Add($"{setting.Key}: must be a mapping (name: value) {where}");
            return;
        }
        foreach ((YamlNode k, YamlNode v) in map.Children)
        {
            string name = k is YamlScalarNode { Value: { } n } ? n : string.Empty;
            if (v is not YamlScalarNode { Value: { } value } || value.Length == 0)
            {
                problems.Add($"{setting.Key}.{name}: must be a single value {where}");
                continue;
            }
            if (setting.Set(config, name + "=" + value) is { } problem)
            {
                problems.Add($"{setting.Key}.{problem} {where}");
            }
        }
    }

    private static bool IsNull(YamlScalarNode scalar) =>
        scalar.Style == ScalarStyle.Plain && (scalar.Value is null or "" or "~" or "null");

    /// <summary>Checks that need the whole configuration: required settings and settings that need each other.</summary>
    public static void CheckComplete(AgentConfig config, string? source, List<string> problems)
    {
        string file = source ?? DefaultPath;
        foreach (ConfigSetting setting in AgentConfigSchema.All)
        {
            // A setting whose value was refused is already listed; "required" would only repeat it.
            bool refused = problems.Exists(p => p.StartsWith(setting.Key + ":", StringComparison.Ordinal) || p.StartsWith(setting.OptionName + ":", StringComparison.Ordinal));
            if (setting.Required && setting.Show(config).Length == 0 && !refused)
            {
                problems.Add($"{setting.Key}: required (set {setting.Key} in {file} or pass {setting.OptionName})");
            }
        }
        if (config.Backend == "linux" && config.Uplink is null)
        {
            problems.Add("uplink: required by backend linux (the underlay device, for example eth1)");
        }
        if (config.UplinkGatewayMac is not null && config.UplinkGateway is null)
        {
            problems.Add("uplinkGatewayMac: needs uplinkGateway (the MAC pins that next hop)");
        }
        if (config.ReconnectMin > config.ReconnectMax)
        {
            problems.Add($"reconnectMin: must not exceed reconnectMax ({ConfigSetting.FormatDuration(config.ReconnectMax)})");
        }
        if (config.FlowCapacity < config.Workers * 16)
        {
            problems.Add($"flowCapacity: must be at least 16 per worker ({config.Workers * 16})");
        }
        if (config.Server is not null && config.Host is not null && config.UnderlayPrefix is not null)
        {
            // https needs a CA, a client certificate and its key that load and match.
            problems.AddRange(config.ToSettings().CheckServerTls());
        }
    }

    /// <summary>A known key close to a misspelt one (case-insensitive match or at most two edits).</summary>
    private static string? Suggest(string key)
    {
        string? best = null;
        int bestDistance = 3;
        foreach (ConfigSetting setting in AgentConfigSchema.All)
        {
            int d = string.Equals(setting.Key, key, StringComparison.OrdinalIgnoreCase) ? 0 : Distance(setting.Key.ToLowerInvariant(), key.ToLowerInvariant());
            if (d < bestDistance)
            {
                (best, bestDistance) = (setting.Key, d);
            }
        }
        return best;
    }

    private static int Distance(string a, string b)
    {
        int[] previous = new int[b.Length + 1];
        int[] current = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }
        for (int i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }
}
