using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using MetalAgent.ControlPlane.Configuration;
using MetalAgent.Model.Validation;

namespace MetalAgent.ControlPlane.Server;

/// <summary>The server's TLS material loaded from <see cref="TlsConfig"/>: its certificate with key (plus any
/// intermediates that follow it in the certificate file) and the CA bundle that client certificates must chain
/// to. Client chains are validated against that bundle only, never the system store.</summary>
public sealed class ServerTlsMaterial : IDisposable
{
    private static readonly Oid s_clientAuth = new("1.3.6.1.5.5.7.3.2");

    private ServerTlsMaterial(X509Certificate2 certificate, X509Certificate2Collection intermediates, X509Certificate2Collection clientCas)
    {
        Certificate = certificate;
        Intermediates = intermediates;
        ClientCas = clientCas;
    }

    /// <summary>The server certificate with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>Certificates after the first one in the certificate file, sent along in the handshake.</summary>
    public X509Certificate2Collection Intermediates { get; }

    /// <summary>The trust anchors for client certificates.</summary>
    public X509Certificate2Collection ClientCas { get; }

    /// <summary>Loads the PEM files; throws <see cref="ConfigException"/> listing every problem with its
    /// configuration path (tls.certificate, tls.key, tls.clientCa).</summary>
    public static ServerTlsMaterial Load(TlsConfig tls)
    {
        ArgumentNullException.ThrowIfNull(tls);
        var errors = new List<ValidationError>();
        X509Certificate2Collection? chain = ReadCertificates(tls.CertificatePath, "tls.certificate", errors);
        X509Certificate2Collection? cas = ReadCertificates(tls.ClientCaPath, "tls.clientCa", errors);
        X509Certificate2? certificate = null;
        if (chain is not null)
        {
            try
            {
                // The key file may hold any PEM private key the runtime reads (PKCS#8, SEC1 EC, PKCS#1 RSA).
                certificate = X509Certificate2.CreateFromPemFile(tls.CertificatePath, tls.KeyPath);
            }
            catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
            {
                errors.Add(new ValidationError("tls.key", ValidationErrorType.Invalid, $"{tls.KeyPath}: not the private key of the certificate in {tls.CertificatePath} ({e.Message})"));
            }
        }
        if (certificate is not null)
        {
            DateTime now = DateTime.Now;
            if (now < certificate.NotBefore || now > certificate.NotAfter)
            {
                errors.Add(new ValidationError("tls.certificate", ValidationErrorType.Invalid, string.Create(CultureInfo.InvariantCulture,
                    $"{tls.CertificatePath}: valid from {certificate.NotBefore.ToUniversalTime():u} to {certificate.NotAfter.ToUniversalTime():u}, not now")));
            }
        }
        if (cas is not null)
        {
            foreach (X509Certificate2 ca in cas)
            {
                if (ca.Extensions["2.5.29.19"] is X509BasicConstraintsExtension { CertificateAuthority: false })
                {
                    errors.Add(new ValidationError("tls.clientCa", ValidationErrorType.Invalid, $"{tls.ClientCaPath}: {ca.Subject} is not a CA certificate"));
                }
            }
        }
        if (errors.Count > 0 || certificate is null || chain is null || cas is null)
        {
            certificate?.Dispose();
            throw new ConfigException(errors);
        }
        chain[0].Dispose(); // the leaf again, without its key
        var intermediates = new X509Certificate2Collection();
        for (int i = 1; i < chain.Count; i++)
        {
            intermediates.Add(chain[i]);
        }
        return new ServerTlsMaterial(certificate, intermediates, cas);
    }

    /// <summary>Kestrel's client-certificate check: the certificate must chain to <see cref="ClientCas"/>
    /// (intermediates the client sent may help), be valid now and, when it names usages, allow client
    /// authentication. The platform's verdict is not used: it consulted the system store. On refusal
    /// <paramref name="problem"/> says why (for the server's log; the client only sees the handshake fail).</summary>
    public bool ValidateClientCertificate(X509Certificate2 certificate, X509Chain? presented, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(ClientCas);
        // No CRL/OCSP infrastructure is assumed; revoke by replacing the CA bundle.
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(s_clientAuth);
        if (presented is not null)
        {
            chain.ChainPolicy.ExtraStore.AddRange(presented.ChainPolicy.ExtraStore);
            foreach (X509ChainElement element in presented.ChainElements)
            {
                chain.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }
        if (chain.Build(certificate))
        {
            problem = null;
            return true;
        }
        problem = $"{certificate.Subject}: " + string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).Distinct());
        return false;
    }

    public void Dispose()
    {
        Certificate.Dispose();
        foreach (X509Certificate2 certificate in Intermediates)
        {
            certificate.Dispose();
        }
        foreach (X509Certificate2 certificate in ClientCas)
        {
            certificate.Dispose();
        }
    }

    private static X509Certificate2Collection? ReadCertificates(string path, string field, List<ValidationError> errors)
    {
        var certificates = new X509Certificate2Collection();
        try
        {
            certificates.ImportFromPemFile(path);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            errors.Add(new ValidationError(field, ValidationErrorType.Invalid, $"{path}: {e.Message}"));
            return null;
        }
        if (certificates.Count == 0)
        {
            errors.Add(new ValidationError(field, ValidationErrorType.Invalid, $"{path}: no PEM certificate in the file"));
            return null;
        }
        return certificates;
    }
}
