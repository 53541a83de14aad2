using System.CommandLine;
using System.CommandLine.Parsing;

namespace MetalAgent.Agent.Commands;

/// <summary>The <c>--server URL</c> option: an absolute http:// or https:// URL (System.CommandLine has no
/// built-in <see cref="Uri"/> parser).</summary>
internal static class ServerOption
{
    public static Option<Uri?> Create(string description, Uri? defaultValue = null)
    {
        var option = new Option<Uri?>("--server") { Description = description, CustomParser = Parse };
        if (defaultValue is not null)
        {
            option.DefaultValueFactory = _ => defaultValue;
        }
        return option;
    }

    private static Uri? Parse(ArgumentResult result)
    {
        if (result.Tokens.Count == 0)
        {
            return null;
        }
        string text = result.Tokens[0].Value;
        if (Uri.TryCreate(text, UriKind.Absolute, out Uri? uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
        {
            return uri;
        }
        result.AddError($"--server {text}: expected an http:// or https:// URL");
        return null;
    }
}
