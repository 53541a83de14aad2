using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using MetalAgent.ControlPlane.Configuration;
using MetalAgent.ControlPlane.Server;
using MetalAgent.Model.Validation;

namespace MetalAgent.ControlPlane.Tests;

public class ConfigTests
{
    [Fact]
    public void The_test_configuration_reads()
    {
        ControlPlaneConfig config = TestData.Config();
        Assert.Equal(["host-a", "host-b"], config.Hosts.Select(h => h.Name));
        Assert.Equal("fc00:1:b::/64", config.FindHost("host-b")!.UnderlayPrefix.ToString());
        Assert.Equal(["203.0.113.0/24", "2001:db8:ffff::/48"], config.PublicPools.Select(p => p.ToString()));
        Assert.Equal(0, config.Listen.Port);
    }

    [Fact]
    public void Every_problem_is_listed_with_its_path()
    {
        ConfigException e = Assert.Throws<ConfigException>(() => ControlPlaneConfig.Parse("""
            listen: 0.0.0.0:7443
            routerUnderlayAddress: fc00:1:a::9
            publicPools: [203.0.113.1/24, 203.0.113.0/25]
            mtu: 100
            dnsServers: [nope]
            hosts:
            - name: host-a
              underlayPrefix: fc00:1:a::/64
            - name: host-a
              underlayPrefix: fc00:1:b::/48
            colour: blue
            """, "."));
        Assert.Equal(
            [
                ("", ValidationErrorType.Invalid),
                ("hosts[1].name", ValidationErrorType.Duplicate),
                ("hosts[1].underlayPrefix", ValidationErrorType.Invalid),
                ("routerUnderlayAddress", ValidationErrorType.Invalid),
                ("publicPools[0]", ValidationErrorType.Invalid),
                ("mtu", ValidationErrorType.Invalid),
                ("dnsServers[0]", ValidationErrorType.Invalid),
                ("tls", ValidationErrorType.Required),
            ],
            e.Errors.Select(x => (x.Field, x.Type)).Select(x => x.Field == "colour" ? ("", x.Type) : x));
        Assert.Contains("colour: Invalid value", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Client_certificates_name_role_and_host()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=host-a, OU=host, O=metalagent", key, HashAlgorithmName.SHA256);
        using X509Certificate2 cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(10));
        ClientIdentity identity = CertificateIdentityResolver.FromCertificate(cert)!;
        Assert.Equal(new ClientIdentity(ClientRoles.Host, "host-a"), identity);
        Assert.True(identity.MayActAsHost("host-a"));
        Assert.False(identity.MayActAsHost("host-b"));
        Assert.False(identity.Has(ClientRoles.Operator));

        var unknown = new CertificateRequest("CN=someone, OU=visitor", key, HashAlgorithmName.SHA256);
        using X509Certificate2 other = unknown.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(10));
        Assert.Null(CertificateIdentityResolver.FromCertificate(other));
    }
}
