using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace MetalAgent.Agent.Sync;

/// <summary>The learned VM MACs by interface id, persisted as a small versioned JSON file
/// (<c>{"schemaVersion":1,"macs":{"web-1":"52:54:00:00:00:0a"}}</c>) written atomically.</summary>
public static class VmMacFile
{
    public const int SchemaVersion = 1;

    private static readonly JsonSerializerOptions s_options = new() { WriteIndented = true };

    /// <summary>Reads the file; an absent, unreadable or other-version file gives no MACs (they are learned again).</summary>
    public static SortedDictionary<string, ulong> Load(string path)
    {
        var macs = new SortedDictionary<string, ulong>(StringComparer.Ordinal);
        Envelope? envelope;
        try
        {
            envelope = JsonSerializer.Deserialize<Envelope>(File.ReadAllText(path), s_options);
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            return macs;
        }
        if (envelope is not { SchemaVersion: SchemaVersion, Macs: { } entries })
        {
            return macs;
        }
        foreach ((string id, string text) in entries)
        {
            if (TryParseMac(text, out ulong mac) && mac != 0)
            {
                macs[id] = mac;
            }
        }
        return macs;
    }

    public static void Save(string path, IReadOnlyDictionary<string, ulong> macs)
    {
        var entries = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach ((string id, ulong mac) in macs)
        {
            entries[id] = FormatMac(mac);
        }
        byte[] bytes = JsonSerializer.SerializeToUtf8Bytes(new Envelope { SchemaVersion = SchemaVersion, Macs = entries }, s_options);
        string full = Path.GetFullPath(path);
        string temp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                stream.Write(bytes);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    public static string FormatMac(ulong mac) => string.Create(CultureInfo.InvariantCulture,
        $"{(byte)(mac >> 40):x2}:{(byte)(mac >> 32):x2}:{(byte)(mac >> 24):x2}:{(byte)(mac >> 16):x2}:{(byte)(mac >> 8):x2}:{(byte)mac:x2}");

    public static bool TryParseMac(string text, out ulong mac)
    {
        mac = 0;
        string[] parts = text.Split(':', '-');
        if (parts.Length != 6)
        {
            return false;
        }
        foreach (string part in parts)
        {
            if (part.Length != 2 || !byte.TryParse(part, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out byte b))
            {
                mac = 0;
                return false;
            }
            mac = (mac << 8) | b;
        }
        return true;
    }

    private sealed class Envelope
    {
        [JsonPropertyName("schemaVersion")]
        public int SchemaVersion { get; set; }

        [JsonPropertyName("macs")]
        public SortedDictionary<string, string>? Macs { get; set; }
    }
}
