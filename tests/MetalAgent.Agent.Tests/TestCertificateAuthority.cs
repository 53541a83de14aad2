using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace MetalAgent.Agent.Tests;

/// <summary>A throw-away CA for tests: issues server and client certificates (ECDSA P-256) and writes them as
/// PEM files, all with <see cref="CertificateRequest"/> (no openssl). Its certificate lives as long as the test.</summary>
internal sealed class TestCertificateAuthority
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

    /// <summary>The CA certificate as a PEM file (the bundle a peer trusts).</summary>
    public string CertificatePath { get; }

    /// <summary>A server certificate for 127.0.0.1 and localhost; returns its certificate and key files.</summary>
    public (string Certificate, string Key) IssueServer(string name) =>
        Issue($"CN={name}", name, s_serverAuth, san =>
        {
            san.AddIpAddress(IPAddress.Loopback);
            san.AddDnsName("localhost");
        });

    /// <summary>A client certificate whose subject is <c>CN=<paramref name="name"/>, OU=<paramref name="role"/></c>.</summary>
    public (string Certificate, string Key) IssueClient(string role, string name) =>
        Issue($"CN={name}, OU={role}, O=metalagent tests", $"{role}-{name}", s_clientAuth, san => san.AddDnsName(name));

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
