using System.Net.Http;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace MetalAgent.Agent.Sync;

/// <summary>A control-plane client's TLS material: its own certificate and key (PEM; certificates after the
/// first in the certificate file are sent as intermediates) and the CA bundle the server's certificate must
/// chain to. The system trust store is never consulted.</summary>
public sealed class ClientTlsMaterial : IDisposable
{
    private static readonly Oid s_serverAuth = new("1.3.6.1.5.5.7.3.1");

    private ClientTlsMaterial(X509Certificate2 certificate, X509Certificate2Collection intermediates, X509Certificate2Collection serverCas)
    {
        Certificate = certificate;
        Intermediates = intermediates;
        ServerCas = serverCas;
    }

    /// <summary>The client certificate with its private key; its subject names the caller (for example
    /// <c>CN=host-a, OU=host</c>).</summary>
    public X509Certificate2 Certificate { get; }

    public X509Certificate2Collection Intermediates { get; }

    /// <summary>The trust anchors for the server's certificate.</summary>
    public X509Certificate2Collection ServerCas { get; }

    /// <summary>The material for <paramref name="server"/>: null for an http:// URL (plaintext, which the server
    /// allows on loopback only); for https:// all three files are required. Throws <see cref="ArgumentException"/>
    /// listing every problem.</summary>
    public static ClientTlsMaterial? ForServer(Uri server, string? serverCaPath, string? certificatePath, string? keyPath)
    {
        var problems = new List<string>();
        ClientTlsMaterial? material = TryForServer(server, serverCaPath, certificatePath, keyPath, problems);
        return problems.Count == 0 ? material : throw new ArgumentException(string.Join("; ", problems));
    }

    /// <summary>As <see cref="ForServer"/>, adding problems to <paramref name="problems"/> instead of throwing
    /// (the result is null when there are any).</summary>
    public static ClientTlsMaterial? TryForServer(Uri server, string? serverCaPath, string? certificatePath, string? keyPath, List<string> problems)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(problems);
        int before = problems.Count;
        if (server.Scheme == Uri.UriSchemeHttp)
        {
            if (serverCaPath is not null || certificatePath is not null || keyPath is not null)
            {
                problems.Add($"{server}: a CA, client certificate or key is given, but the server URL is plaintext http:// (use https://)");
            }
            return null;
        }
        if (server.Scheme != Uri.UriSchemeHttps)
        {
            problems.Add($"{server}: the server URL must be https:// (or http:// on loopback)");
            return null;
        }
        if (serverCaPath is null)
        {
            problems.Add($"{server}: https needs the CA bundle that signs the server's certificate (--ca)");
        }
        if (certificatePath is null)
        {
            problems.Add($"{server}: https needs a client certificate (--cert)");
        }
        if (keyPath is null)
        {
            problems.Add($"{server}: https needs the client certificate's private key (--key)");
        }
        X509Certificate2Collection? cas = serverCaPath is null ? null : ReadCertificates(serverCaPath, "CA bundle", problems);
        X509Certificate2Collection? chain = certificatePath is null ? null : ReadCertificates(certificatePath, "client certificate", problems);
        X509Certificate2? certificate = null;
        if (chain is not null && keyPath is not null)
        {
            try
            {
                certificate = X509Certificate2.CreateFromPemFile(certificatePath!, keyPath);
            }
            catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
            {
                problems.Add($"{keyPath}: not the private key of the certificate in {certificatePath} ({e.Message})");
            }
        }
        if (problems.Count > before || certificate is null || chain is null || cas is null)
        {
            certificate?.Dispose();
            return null;
        }
        chain[0].Dispose(); // the leaf again, without its key
        var intermediates = new X509Certificate2Collection();
        for (int i = 1; i < chain.Count; i++)
        {
            intermediates.Add(chain[i]);
        }
        return new ClientTlsMaterial(certificate, intermediates, cas);
    }

    /// <summary>Presents <see cref="Certificate"/> (with its intermediates) and accepts only a server
    /// certificate that chains to <see cref="ServerCas"/>, allows server authentication, and names the
    /// host of the URL (the usual name check stays on).</summary>
    public void ApplyTo(SocketsHttpHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            // No CRL/OCSP infrastructure is assumed; revoke by replacing the CA bundle.
            RevocationMode = X509RevocationMode.NoCheck,
        };
        policy.CustomTrustStore.AddRange(ServerCas);
        policy.ApplicationPolicy.Add(s_serverAuth);
        handler.SslOptions = new SslClientAuthenticationOptions
        {
            ClientCertificateContext = SslStreamCertificateContext.Create(Certificate, Intermediates, offline: true),
            CertificateChainPolicy = policy,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        };
    }

    public void Dispose()
    {
        Certificate.Dispose();
        foreach (X509Certificate2 certificate in Intermediates)
        {
            certificate.Dispose();
        }
        foreach (X509Certificate2 certificate in ServerCas)
        {
            certificate.Dispose();
        }
    }

    private static X509Certificate2Collection? ReadCertificates(string path, string what, List<string> problems)
    {
        var certificates = new X509Certificate2Collection();
        try
        {
            certificates.ImportFromPemFile(path);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            problems.Add($"{path}: cannot read the {what}: {e.Message}");
            return null;
        }
        if (certificates.Count == 0)
        {
            problems.Add($"{path}: no PEM certificate in the {what} file");
            return null;
        }
        return certificates;
    }
}
