using System.Runtime.InteropServices;
using System.Text;
using Google.Protobuf;
using MetalAgent.Model.V1;

namespace MetalAgent.Model.StateFiles;

/// <summary>Reads and writes host state files: a <see cref="HostSpec"/> in its canonical protobuf JSON
/// mapping. Unknown fields are errors (a typo must not silently drop configuration); the schema
/// version must be <see cref="SchemaVersion"/>. Reading does not validate semantics: use
/// <see cref="Validation.HostSpecValidator"/> for that.</summary>
public static partial class HostStateFile
{
    public const uint SchemaVersion = 1;

    private static readonly JsonParser s_parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(false));

    private static readonly JsonFormatter s_formatter = new(JsonFormatter.Settings.Default
        .WithFormatDefaultValues(false)
        .WithIndentation("  "));

    private static readonly UTF8Encoding s_utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Parses a host state from JSON text. Throws <see cref="StateFileException"/> (with a null path)
    /// for malformed JSON, unknown fields, wrong value types and unsupported schema versions.</summary>
    public static HostSpec Parse(string json) => Parse(json, path: null);

    /// <summary>Reads and parses a host state file. I/O errors (such as a missing file) are thrown as they
    /// are, so callers can tell "no state yet" from "bad state".</summary>
    public static HostSpec Load(string path)
    {
        string json;
        try
        {
            json = File.ReadAllText(path, s_utf8);
        }
        catch (DecoderFallbackException e)
        {
            throw new StateFileException(path, "not valid UTF-8", e);
        }
        return Parse(json, path);
    }

    /// <summary>Formats a host state as indented JSON (two spaces, proto JSON field names, enums by name,
    /// default values omitted) with a trailing newline.</summary>
    public static string Format(HostSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return s_formatter.Format(spec) + "\n";
    }

    /// <summary>Writes a host state file atomically: a temporary file in the same directory is written and
    /// flushed to disk, then renamed over <paramref name="path"/>, then the directory is flushed (on Linux),
    /// so a crash leaves either the old or the new file, never a torn one.</summary>
    public static void Save(string path, HostSpec spec)
    {
        string text = Format(spec);
        string fullPath = System.IO.Path.GetFullPath(path);
        string directory = System.IO.Path.GetDirectoryName(fullPath)!;
        string temp = System.IO.Path.Combine(directory, $".{System.IO.Path.GetFileName(fullPath)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                stream.Write(s_utf8.GetBytes(text));
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, fullPath, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
        FlushDirectory(directory);
    }

    private static HostSpec Parse(string json, string? path)
    {
        ArgumentNullException.ThrowIfNull(json);
        HostSpec spec;
        try
        {
            spec = s_parser.Parse<HostSpec>(json);
        }
        catch (InvalidJsonException e)
        {
            throw new StateFileException(path, $"malformed JSON: {e.Message}", e);
        }
        catch (InvalidProtocolBufferException e)
        {
            // Unknown fields, wrong value types, out-of-range numbers, unknown enum names.
            throw new StateFileException(path, $"invalid host state: {e.Message}", e);
        }
        catch (FormatException e)
        {
            throw new StateFileException(path, $"invalid host state: {e.Message}", e);
        }
        if (spec.SchemaVersion != SchemaVersion)
        {
            throw new StateFileException(path, spec.SchemaVersion == 0
                ? $"schemaVersion is missing (this agent reads version {SchemaVersion})"
                : $"unsupported schemaVersion {spec.SchemaVersion} (this agent reads version {SchemaVersion})");
        }
        return spec;
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Makes the rename durable. .NET cannot open a directory as a file, so this calls
    /// open(2)/fsync(2) directly; it is best effort and a no-op where that is not available.</summary>
    private static void FlushDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }
        const int ReadOnlyCloseOnExec = 0x80000; // O_RDONLY | O_CLOEXEC (same value on x86-64 and arm64)
        try
        {
            int fd = Open(directory, ReadOnlyCloseOnExec);
            if (fd < 0)
            {
                return;
            }
            _ = Fsync(fd);
            _ = Close(fd);
        }
        catch (DllNotFoundException)
        {
        }
        catch (EntryPointNotFoundException)
        {
        }
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync")]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
