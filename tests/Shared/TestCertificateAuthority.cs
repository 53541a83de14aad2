using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace MetalAgent.Tests.Shared;

/// <summary>A throw-away CA for tests (linked into the test projects that need one): issues server
/// certificates and client certificates naming each caller (OU = role: host, router, operator; CN = name),
/// as PEM files, with <see cref="CertificateRequest"/> (no openssl). ECDSA P-256, valid for a day.</summary>
internal sealed class TestCertificateAuthority : IDisposable
{
    private static readonly Oid s_serverAuth = new("1.3.6.1.5.5.7.3.1");
    private static readonly Oid s_clientAuth = new("1.3.6.1.5.5.7.3.2");

    private readonly X509Certificate2 _certificate;
    private readonly string _directory;
    private long _serial;

    public TestCertificateAuthority(string name, string directory)
    {
        // Each CA writes into a folder of its own, so two CAs may issue certificates with the same name.
        _directory = Directory.CreateDirectory(Path.Combine(directory, name)).FullName;
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}, O=metalagent tests", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        _certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        CertificatePath = Path.Combine(_directory, "ca.crt");
        File.WriteAllText(CertificatePath, _certificate.ExportCertificatePem());
    }

    /// <summary>The CA certificate (PEM): the trust anchor of both sides.</summary>
    public string CertificatePath { get; }

    public X509Certificate2 Certificate => _certificate;

    /// <summary>A server certificate for <paramref name="address"/> (default 127.0.0.1) and localhost.</summary>
    public (string Certificate, string Key) IssueServer(string name, IPAddress? address = null) =>
        Issue($"CN={name}, O=metalagent tests", "server-" + name, s_serverAuth, san =>
        {
            san.AddIpAddress(address ?? IPAddress.Loopback);
            san.AddDnsName("localhost");
        });

    /// <summary>A client certificate with subject <c>CN=name, OU=role</c>.</summary>
    public (string Certificate, string Key) IssueClient(string role, string name) =>
        Issue($"CN={name}, OU={role}, O=metalagent tests", $"{role}-{name}", s_clientAuth, san => san.AddDnsName(name));

    public void Dispose() => _certificate.Dispose();

    private (string, string) Issue(string subject, string fileName, Oid usage, Action<SubjectAlternativeNameBuilder> names)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([usage], critical: false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(_certificate, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        var san = new SubjectAlternativeNameBuilder();
        names(san);
        request.CertificateExtensions.Add(san.Build());
        byte[] serial = BitConverter.GetBytes(Interlocked.Increment(ref _serial) + 1000);
        using X509Certificate2 certificate = request.Create(_certificate, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(12), serial);
        string certificatePath = Path.Combine(_directory, fileName + ".crt");
        string keyPath = Path.Combine(_directory, fileName + ".key");
        File.WriteAllText(certificatePath, certificate.ExportCertificatePem());
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        return (certificatePath, keyPath);
    }
}
