using System.Globalization;
using System.Net;
using System.Text;

namespace MetalAgent.Agent.Configuration;

/// <summary>
/// One setting of <c>metalagent run</c>: its key in the configuration file, its command-line option, its
/// documentation, and how text becomes a value of <see cref="AgentConfig"/>. File and command line share
/// the parser, so both are validated alike. Maps (<c>portBindings</c>) take <c>key=value</c> entries.
/// </summary>
public sealed class ConfigSetting
{
    private readonly Func<AgentConfig, string> _show;
    private readonly Func<AgentConfig, string, string, string?> _set;

    private ConfigSetting(string key, string? option, string description, bool required, bool isMap, Func<AgentConfig, string> show, Func<AgentConfig, string, string?> set)
        : this(key, option, description, required, isMap, show, (c, text, _) => set(c, text))
    {
    }

    private ConfigSetting(string key, string? option, string description, bool required, bool isMap, Func<AgentConfig, string> show, Func<AgentConfig, string, string, string?> set)
    {
        Key = key;
        OptionName = option ?? "--" + Kebab(key);
        Description = description;
        Required = required;
        IsMap = isMap;
        _show = show;
        _set = set;
        Default = show(new AgentConfig());
    }

    /// <summary>The key in the configuration file (camelCase).</summary>
    public string Key { get; }

    /// <summary>The command-line option (the key in kebab-case unless named otherwise).</summary>
    public string OptionName { get; }

    public string Description { get; }

    public bool Required { get; }

    /// <summary>A mapping in the file, a repeatable <c>key=value</c> option on the command line.</summary>
    public bool IsMap { get; }

    /// <summary>The default, formatted like <see cref="Show"/> (empty: unset).</summary>
    public string Default { get; }

    /// <summary>The current value as text (empty: unset).</summary>
    public string Show(AgentConfig config) => _show(config);

    /// <summary>Sets the value from <paramref name="text"/> (one <c>key=value</c> entry for a map); returns
    /// why the text is not acceptable, or null. Relative paths are resolved against <paramref name="baseDirectory"/>
    /// (the configuration file's directory, or the working directory for options).</summary>
    public string? Set(AgentConfig config, string text, string? baseDirectory = null) => _set(config, text, baseDirectory ?? Directory.GetCurrentDirectory());

    /// <summary>A file or directory path; a relative one is resolved against the file that sets it (or the
    /// working directory on the command line).</summary>
    public static ConfigSetting FilePath(string key, string description, Func<AgentConfig, string?> get, Action<AgentConfig, string> set, bool required = false, string? option = null) =>
        new(key, option, description, required, isMap: false, c => get(c) ?? string.Empty, (c, text, baseDirectory) =>
        {
            if (text.Length == 0)
            {
                return "must not be empty";
            }
            set(c, Path.GetFullPath(text, baseDirectory));
            return null;
        });

    public static ConfigSetting Text(string key, string description, Func<AgentConfig, string?> get, Action<AgentConfig, string> set, Func<string, string?>? check = null, bool required = false, string? option = null) =>
        new(key, option, description, required, isMap: false, c => get(c) ?? string.Empty, (c, text) =>
        {
            if (text.Length == 0)
            {
                return "must not be empty";
            }
            string? problem = check?.Invoke(text);
            if (problem is null)
            {
                set(c, text);
            }
            return problem;
        });

    public static ConfigSetting Choice(string key, string description, string[] choices, Func<AgentConfig, string> get, Action<AgentConfig, string> set) =>
        Text(key, description, get, set, text => Array.IndexOf(choices, text) >= 0 ? null : $"must be one of {string.Join(", ", choices)}, got '{text}'");

    public static ConfigSetting Integer(string key, string description, int min, int max, Func<AgentConfig, int> get, Action<AgentConfig, int> set) =>
        new(key, null, description, required: false, isMap: false, c => get(c).ToString(CultureInfo.InvariantCulture), (c, text) =>
        {
            if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) || value < min || value > max)
            {
                return $"must be an integer from {min} to {max}, got '{text}'";
            }
            set(c, value);
            return null;
        });

    /// <summary>A duration: a number with a unit (ms, s, m, h), for example 200ms or 5s.</summary>
    public static ConfigSetting Duration(string key, string description, TimeSpan min, TimeSpan max, Func<AgentConfig, TimeSpan> get, Action<AgentConfig, TimeSpan> set) =>
        new(key, null, description, required: false, isMap: false, c => FormatDuration(get(c)), (c, text) =>
        {
            if (!TryParseDuration(text, out TimeSpan value) || value < min || value > max)
            {
                return $"must be a duration from {FormatDuration(min)} to {FormatDuration(max)} (a number with ms, s, m or h), got '{text}'";
            }
            set(c, value);
            return null;
        });

    /// <summary>An absolute http or https URL.</summary>
    public static ConfigSetting Url(string key, string description, Func<AgentConfig, Uri?> get, Action<AgentConfig, Uri> set) =>
        new(key, null, description, required: false, isMap: false, c => get(c)?.ToString() ?? string.Empty, (c, text) =>
        {
            if (!Uri.TryCreate(text, UriKind.Absolute, out Uri? uri) || uri.Scheme is not ("http" or "https"))
            {
                return $"must be an absolute http:// or https:// URL, got '{text}'";
            }
            set(c, uri);
            return null;
        });

    /// <summary>An IP endpoint (address:port, [v6]:port), or <c>off</c>.</summary>
    public static ConfigSetting Endpoint(string key, string description, Func<AgentConfig, IPEndPoint?> get, Action<AgentConfig, IPEndPoint?> set) =>
        new(key, null, description, required: false, isMap: false, c => get(c)?.ToString() ?? "off", (c, text) =>
        {
            if (text == "off")
            {
                set(c, null);
                return null;
            }
            if (!IPEndPoint.TryParse(text, out IPEndPoint? endpoint) || endpoint.Port == 0 || !text.Contains(':', StringComparison.Ordinal) || text.EndsWith(']'))
            {
                return $"must be address:port (for example 127.0.0.1:9464 or [::1]:9464) or off, got '{text}'";
            }
            set(c, endpoint);
            return null;
        });

    /// <summary>An absolute path, or <c>off</c>.</summary>
    public static ConfigSetting PathOrOff(string key, string description, int maxBytes, Func<AgentConfig, string?> get, Action<AgentConfig, string?> set) =>
        new(key, null, description, required: false, isMap: false, c => get(c) ?? "off", (c, text) =>
        {
            if (text == "off")
            {
                set(c, null);
                return null;
            }
            if (!Path.IsPathFullyQualified(text))
            {
                return $"must be an absolute path or off, got '{text}'";
            }
            if (Encoding.UTF8.GetByteCount(text) > maxBytes)
            {
                return $"must be at most {maxBytes} bytes long";
            }
            set(c, text);
            return null;
        });

    /// <summary>A mapping of names to values; <paramref name="option"/> is the repeatable <c>key=value</c> option.</summary>
    public static ConfigSetting Map(string key, string option, string description, Func<AgentConfig, SortedDictionary<string, string>> get, Func<string, string, string?>? check = null) =>
        new(key, option, description, required: false, isMap: true,
            c => string.Join(",", get(c).Select(e => e.Key + "=" + e.Value)),
            (c, entry) =>
            {
                int eq = entry.IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0 || eq == entry.Length - 1)
                {
                    return $"expected name=value, got '{entry}'";
                }
                string name = entry[..eq];
                string value = entry[(eq + 1)..];
                string? problem = check?.Invoke(name, value);
                if (problem is null)
                {
                    get(c)[name] = value;
                }
                return problem;
            });

    public static bool TryParseDuration(string text, out TimeSpan value)
    {
        value = default;
        (string unit, double scale)[] units = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000)];
        foreach ((string unit, double scale) in units)
        {
            if (text.EndsWith(unit, StringComparison.Ordinal)
                && !(unit == "s" && text.EndsWith("ms", StringComparison.Ordinal))
                && double.TryParse(text.AsSpan(0, text.Length - unit.Length), NumberStyles.Float, CultureInfo.InvariantCulture, out double n)
                && n >= 0 && double.IsFinite(n))
            {
                value = TimeSpan.FromMilliseconds(n * scale);
                return true;
            }
        }
        return false;
    }

    public static string FormatDuration(TimeSpan value) =>
        value.TotalMilliseconds % 1000 != 0 || value == TimeSpan.Zero ? FormattableString.Invariant($"{value.TotalMilliseconds}ms")
        : value.TotalSeconds % 3600 == 0 ? FormattableString.Invariant($"{value.TotalHours}h")
        : value.TotalSeconds % 60 == 0 ? FormattableString.Invariant($"{value.TotalMinutes}m")
        : FormattableString.Invariant($"{value.TotalSeconds}s");

    private static string Kebab(string key)
    {
        var b = new StringBuilder(key.Length + 4);
        foreach (char ch in key)
        {
            if (char.IsUpper(ch))
            {
                b.Append('-').Append(char.ToLowerInvariant(ch));
            }
            else
            {
                b.Append(ch);
            }
        }
        return b.ToString();
    }
}
