using System.Globalization;
using System.Text;
using MetalAgent.Model.Validation;

namespace MetalAgent.ControlPlane.Manifests;

/// <summary>Every object read from a set of IronCore manifests (multi-document YAML files), each validated on
/// its own, plus the documents that could not be read. Objects are ordered by kind (as in
/// <see cref="ResourceKinds.All"/>), namespace and name.</summary>
public sealed class ManifestSet
{
    private ManifestSet(IReadOnlyList<ManifestObject> objects, IReadOnlyList<ManifestProblem> problems)
    {
        Objects = objects;
        Problems = problems;
    }

    public static ManifestSet Empty { get; } = new([], []);

    public IReadOnlyList<ManifestObject> Objects { get; }

    public IReadOnlyList<ManifestProblem> Problems { get; }

    /// <summary>Reads a file, or every *.yaml and *.yml file under a directory (recursively, in ordinal
    /// order of their relative paths). Sources are named relative to <paramref name="path"/>.</summary>
    public static ManifestSet Load(string path)
    {
        var files = new List<(string Source, string Text)>();
        if (Directory.Exists(path))
        {
            var names = Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories)
                .Where(f => f.EndsWith(".yaml", StringComparison.Ordinal) || f.EndsWith(".yml", StringComparison.Ordinal))
                .Select(f => Path.GetRelativePath(path, f))
                .Where(f => !Path.GetFileName(f).StartsWith('.'))
                .Order(StringComparer.Ordinal);
            foreach (string name in names)
            {
                files.Add((name, File.ReadAllText(Path.Combine(path, name), Encoding.UTF8)));
            }
        }
        else
        {
            files.Add((Path.GetFileName(path), File.ReadAllText(path, Encoding.UTF8)));
        }
        return FromFiles(files);
    }

    /// <summary>Reads YAML text (one or more documents).</summary>
    public static ManifestSet Parse(string yaml, string source = "manifest.yaml") => FromFiles([(source, yaml)]);

    /// <summary>Reads several files given as (source name, text).</summary>
    public static ManifestSet FromFiles(IEnumerable<(string Source, string Text)> files)
    {
        var objects = new List<ManifestObject>();
        var problems = new List<ManifestProblem>();
        var seen = new Dictionary<string, ManifestObject>(StringComparer.Ordinal);
        foreach ((string source, string text) in files)
        {
            foreach ((string docText, int index, int firstLine) in SplitDocuments(text))
            {
                string docSource = string.Concat(source, "#", index.ToString(CultureInfo.InvariantCulture));
                (ManifestObject? obj, ManifestProblem? problem) = ManifestReader.Read(docText, docSource, firstLine);
                if (problem is not null)
                {
                    problems.Add(problem);
                }
                if (obj is null)
                {
                    continue;
                }
                if (seen.TryGetValue(obj.Key, out ManifestObject? first))
                {
                    problems.Add(new ManifestProblem(docSource, [new ValidationError("metadata.name", ValidationErrorType.Duplicate,
                        $"{obj.Kind} {obj.Namespace}/{obj.Name} is already defined in {first.Source}; this copy is ignored", obj.Name)]));
                    continue;
                }
                seen.Add(obj.Key, obj);
                objects.Add(obj);
            }
        }
        objects.Sort(static (a, b) =>
        {
            int c = Array.IndexOf(ResourceKinds.All, a.Kind).CompareTo(Array.IndexOf(ResourceKinds.All, b.Kind));
            if (c == 0)
            {
                c = string.CompareOrdinal(a.Namespace, b.Namespace);
            }
            return c != 0 ? c : string.CompareOrdinal(a.Name, b.Name);
        });
        return new ManifestSet(objects, problems);
    }

    /// <summary>Splits a YAML stream at "---" lines (and "..." end markers). Such a line at column 0 always
    /// separates documents (block scalar content is indented), so one broken document does not hide the
    /// others. Returns each document's text, its 0-based index and its first line number.</summary>
    internal static IEnumerable<(string Text, int Index, int FirstLine)> SplitDocuments(string text)
    {
        string[] lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        var current = new StringBuilder();
        int index = 0;
        int firstLine = 1;
        bool hasContent = false;
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i];
            bool separator = IsMarker(line, "---");
            bool end = IsMarker(line, "...");
            if (separator || end)
            {
                if (hasContent)
                {
                    yield return (current.ToString(), index, firstLine);
                    index++;
                }
                current.Clear();
                hasContent = false;
                firstLine = i + 2;
                // "--- {inline}" documents keep the text after the marker.
                string rest = separator ? line[3..].Trim() : string.Empty;
                if (rest.Length > 0 && !rest.StartsWith('#'))
                {
                    current.Append(rest).Append('\n');
                    hasContent = true;
                    firstLine = i + 1;
                }
                continue;
            }
            current.Append(line).Append('\n');
            string trimmed = line.Trim();
            if (trimmed.Length > 0 && !trimmed.StartsWith('#') && !trimmed.StartsWith('%'))
            {
                hasContent = true;
            }
        }
        if (hasContent)
        {
            yield return (current.ToString(), index, firstLine);
        }
    }

    private static bool IsMarker(string line, string marker) =>
        line.StartsWith(marker, StringComparison.Ordinal) && (line.Length == 3 || line[3] is ' ' or '\t');
}
