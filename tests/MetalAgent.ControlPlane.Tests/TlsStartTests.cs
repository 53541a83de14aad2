using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using MetalAgent.ControlPlane.Configuration;
using MetalAgent.ControlPlane.Server;
using MetalAgent.Model.Validation;

namespace MetalAgent.ControlPlane.Tests;

/// <summary>What the server refuses at start: plaintext off loopback, TLS material that does not load.</summary>
public sealed class TlsStartTests : IDisposable
{
    private readonly string _dir = TestData.TempDirectory();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Plaintext_on_a_non_loopback_address_is_refused_at_start()
    {
        ControlPlaneConfig loopback = TestData.Config();
        var config = new ControlPlaneConfig
        {
            Hosts = loopback.Hosts,
            RouterUnderlayAddress = loopback.RouterUnderlayAddress,
            PublicPools = loopback.PublicPools,
            Listen = new IPEndPoint(IPAddress.Any, 0),
        };
        ConfigException e = await Assert.ThrowsAsync<ConfigException>(() => ControlPlaneHost.StartAsync(config, TestData.QuickstartPath));
        ValidationError error = Assert.Single(e.Errors);
        Assert.Equal(("tls", ValidationErrorType.Required), (error.Field, error.Type));
        Assert.Contains("listening on 0.0.0.0:0 (not loopback) requires TLS with client certificates", e.Message, StringComparison.Ordinal);

        // The configuration file says the same before anything starts.
        e = Assert.Throws<ConfigException>(() => ControlPlaneConfig.Parse(TestData.ConfigYaml.Replace("127.0.0.1:0", "\"[::]:7443\"", StringComparison.Ordinal), _dir));
        Assert.Equal(("tls", ValidationErrorType.Required), (e.Errors.Single().Field, e.Errors.Single().Type));
    }

    [Fact]
    public async Task Tls_material_that_does_not_load_is_listed_at_start()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=controlplane", key, HashAlgorithmName.SHA256);
        using X509Certificate2 certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
        await File.WriteAllTextAsync(Path.Combine(_dir, "server.crt"), certificate.ExportCertificatePem());
        await File.WriteAllTextAsync(Path.Combine(_dir, "server.key"), otherKey.ExportPkcs8PrivateKeyPem());
        await File.WriteAllTextAsync(Path.Combine(_dir, "ca.crt"), "not a certificate\n");
        string yaml = TestData.ConfigYaml + """

            tls:
              certificate: server.crt
              key: server.key
              clientCa: ca.crt
            """;
        ControlPlaneConfig config = ControlPlaneConfig.Parse(yaml, _dir);
        ConfigException e = await Assert.ThrowsAsync<ConfigException>(() => ControlPlaneHost.StartAsync(config, TestData.QuickstartPath));
        Assert.Equal(["tls.clientCa", "tls.key"], e.Errors.Select(x => x.Field));
        Assert.Contains("no PEM certificate", e.Errors[0].Detail, StringComparison.Ordinal);
        Assert.Contains("not the private key of the certificate", e.Errors[1].Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_tls_block_naming_missing_files_lists_each_once()
    {
        string yaml = TestData.ConfigYaml.Replace("127.0.0.1:0", "0.0.0.0:7443", StringComparison.Ordinal) + """

            tls:
              certificate: server.crt
              clientCa: ca.crt
            """;
        ConfigException e = Assert.Throws<ConfigException>(() => ControlPlaneConfig.Parse(yaml, _dir));
        Assert.Equal(
            [("tls.certificate", ValidationErrorType.Invalid), ("tls.key", ValidationErrorType.Required), ("tls.clientCa", ValidationErrorType.Invalid)],
            e.Errors.Select(x => (x.Field, x.Type)));
    }
}
