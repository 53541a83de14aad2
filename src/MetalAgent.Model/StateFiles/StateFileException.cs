namespace MetalAgent.Model.StateFiles;

/// <summary>A host state file could not be read: malformed JSON, an unknown field, or a schema version
/// this agent does not understand. <see cref="Path"/> is null when parsing text that has no file.</summary>
public sealed class StateFileException : Exception
{
    public StateFileException()
        : this(null, "invalid host state file")
    {
    }

    public StateFileException(string message)
        : this(null, message)
    {
    }

    public StateFileException(string message, Exception innerException)
        : this(null, message, innerException)
    {
    }

    public StateFileException(string? path, string reason, Exception? innerException = null)
        : base(path is null ? reason : $"{path}: {reason}", innerException)
    {
        Path = path;
        Reason = reason;
    }

    /// <summary>The file that failed, or null for text parsed with <see cref="HostStateFile.Parse"/>.</summary>
    public string? Path { get; }

    /// <summary>Why the file was refused, without the path.</summary>
    public string Reason { get; }
}
