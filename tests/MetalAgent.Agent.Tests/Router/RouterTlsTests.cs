using System.Net;
using System.Net.Http;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using MetalAgent.Agent.Router;
using MetalAgent.Agent.Sync;

namespace MetalAgent.Agent.Tests.Router;

/// <summary>The router's control-plane handler (the sync client's <see cref="ClientTlsMaterial"/>): it presents its client certificate and accepts only a
/// server certificate chaining to the given CA (checked against a TLS server on loopback).</summary>
public sealed class RouterTlsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("metalagent-router-tls-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task The_client_certificate_is_presented_and_a_server_of_the_ca_is_accepted()
    {
        using X509Certificate2 ca = CreateCa("MetalAgent test CA");
        using X509Certificate2 server = Issue(ca, "CN=localhost", server: true);
        using X509Certificate2 client = Issue(ca, "CN=router, OU=router", server: false);
        using ClientTlsMaterial files = Write(ca, client);

        (HttpStatusCode status, string? subject) = await Exchange(server, files, ca.Subject);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("CN=router, OU=router", subject);
    }

    [Fact]
    public async Task A_server_of_another_ca_is_refused()
    {
        using X509Certificate2 ca = CreateCa("MetalAgent test CA");
        using X509Certificate2 other = CreateCa("Another CA");
        using X509Certificate2 server = Issue(other, "CN=localhost", server: true);
        using X509Certificate2 client = Issue(ca, "CN=router, OU=router", server: false);
        using ClientTlsMaterial files = Write(ca, client);

        var e = await Assert.ThrowsAsync<HttpRequestException>(() => Exchange(server, files, ca.Subject));
        Assert.IsType<AuthenticationException>(e.InnerException);
    }

    /// <summary>One HTTPS request through the router's handler to a TLS server that asks for a client
    /// certificate; returns the status and the client certificate's subject as the server saw it.</summary>
    private static async Task<(HttpStatusCode, string?)> Exchange(X509Certificate2 serverCertificate, ClientTlsMaterial files, string clientIssuer)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        string? subject = null;
        Task serve = Task.Run(async () =>
        {
            using TcpClient tcp = await listener.AcceptTcpClientAsync();
            // The server only needs to see who the client is; it checks the issuer, not the whole chain.
            await using var tls = new SslStream(tcp.GetStream(), false, (_, presented, _, _) => presented?.Issuer == clientIssuer);
            try
            {
                await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
                {
                    ServerCertificate = serverCertificate,
                    ClientCertificateRequired = true,
                    ApplicationProtocols = [SslApplicationProtocol.Http11],
                });
            }
            catch (Exception ex) when (ex is AuthenticationException or IOException)
            {
                return;
            }
            subject = tls.RemoteCertificate?.Subject;
            byte[] buffer = new byte[4096];
            _ = await tls.ReadAsync(buffer);
            await tls.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8.ToArray());
        });
        using var http = new HttpClient(RouterViewClient.CreateHandler(files));
        using HttpResponseMessage response = await http.GetAsync(new Uri($"https://localhost:{port}/"));
        await serve;
        return (response.StatusCode, subject);
    }

    private ClientTlsMaterial Write(X509Certificate2 ca, X509Certificate2 client)
    {
        string caPath = Path.Combine(_dir, "ca.pem"), certPath = Path.Combine(_dir, "router.pem"), keyPath = Path.Combine(_dir, "router.key");
        File.WriteAllText(caPath, ca.ExportCertificatePem());
        File.WriteAllText(certPath, client.ExportCertificatePem());
        File.WriteAllText(keyPath, client.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        return ClientTlsMaterial.ForServer(new Uri("https://localhost/"), caPath, certPath, keyPath)!;
    }

    private static X509Certificate2 CreateCa(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=" + name, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
    }

    private static X509Certificate2 Issue(X509Certificate2 ca, string subject, bool server)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [server ? new Oid("1.3.6.1.5.5.7.3.1") : new Oid("1.3.6.1.5.5.7.3.2")], false));
        if (server)
        {
            var names = new SubjectAlternativeNameBuilder();
            names.AddDnsName("localhost");
            request.CertificateExtensions.Add(names.Build());
        }
        byte[] serial = RandomNumberGenerator.GetBytes(8);
        using X509Certificate2 issued = request.Create(ca, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(50), serial);
        return issued.CopyWithPrivateKey(key);
    }
}
