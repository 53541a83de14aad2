using System.Security.Cryptography;
using System.Text;
using MetalAgent.ControlPlane.Manifests;

namespace MetalAgent.ControlPlane.State;

/// <summary>Ids of objects in a HostSpec (at most 63 characters of [A-Za-z0-9_-], dpservice's rule).</summary>
public static class ObjectIds
{
    private const int MaxLength = 63;

    /// <summary>The object's name in namespace "default" (names without dots), otherwise
    /// "namespace_name" with dots turned into '_' (names never contain '_', so this is unambiguous).
    /// Longer ids keep 50 characters and add '-' and 12 hex digits of the SHA-256 of namespace/name.</summary>
    public static string For(ObjectMeta meta)
    {
        string id = meta.Namespace == "default" && !meta.Name.Contains('.', StringComparison.Ordinal)
            ? meta.Name
            : string.Concat(meta.Namespace, "_", meta.Name.Replace('.', '_'));
        return Shorten(id, meta.Key);
    }

    /// <summary>Keeps ids within 63 characters; <paramref name="identity"/> makes shortened ids unique.</summary>
    public static string Shorten(string id, string identity)
    {
        if (id.Length <= MaxLength)
        {
            return id;
        }
        string hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(identity)))[..12];
        return string.Concat(id.AsSpan(0, 50), "-", hash);
    }
}
