using System.Globalization;
using System.Text;

namespace MetalAgent.Agent.Metrics;

/// <summary>Writes the Prometheus text exposition format (version 0.0.4): one HELP and TYPE line per
/// family, then its samples with escaped label values.</summary>
public sealed class PrometheusTextWriter
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private readonly StringBuilder _text = new(16 * 1024);

    /// <summary>Starts a metric family; <paramref name="type"/> is counter, gauge or histogram.</summary>
    public void Family(string name, string type, string help)
    {
        _text.Append("# HELP ").Append(name).Append(' ').Append(help.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal)).Append('\n');
        _text.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
    }

    public void Sample(string name, long value, params ReadOnlySpan<(string Name, string Value)> labels)
    {
        Start(name, labels);
        _text.Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');
    }

    public void Sample(string name, double value, params ReadOnlySpan<(string Name, string Value)> labels)
    {
        Start(name, labels);
        _text.Append(Format(value)).Append('\n');
    }

    public void Sample(string name, bool value, params ReadOnlySpan<(string Name, string Value)> labels) => Sample(name, value ? 1L : 0L, labels);

    private void Start(string name, ReadOnlySpan<(string Name, string Value)> labels)
    {
        _text.Append(name);
        if (labels.Length > 0)
        {
            _text.Append('{');
            for (int i = 0; i < labels.Length; i++)
            {
                if (i > 0)
                {
                    _text.Append(',');
                }
                _text.Append(labels[i].Name).Append("=\"");
                foreach (char ch in labels[i].Value)
                {
                    _ = ch switch
                    {
                        '\\' => _text.Append("\\\\"),
                        '"' => _text.Append("\\\""),
                        '\n' => _text.Append("\\n"),
                        _ => _text.Append(ch),
                    };
                }
                _text.Append('"');
            }
            _text.Append('}');
        }
        _text.Append(' ');
    }

    public static string Format(double value) =>
        double.IsPositiveInfinity(value) ? "+Inf"
        : double.IsNegativeInfinity(value) ? "-Inf"
        : double.IsNaN(value) ? "NaN"
        : value.ToString("R", CultureInfo.InvariantCulture);

    public override string ToString() => _text.ToString();
}
