using System.Net;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;

namespace MetalAgent.ControlPlane.Server;

/// <summary>What a caller may do.</summary>
[Flags]
public enum ClientRoles
{
    None = 0,

    /// <summary>An agent: receives and reports its own host's state only.</summary>
    Host = 1,

    /// <summary>The underlay router: its view only.</summary>
    Router = 2,

    /// <summary>An operator: read calls.</summary>
    Operator = 4,

    All = Host | Router | Operator,
}

/// <summary>Who is calling: roles and, for a host, its name (null means any host: loopback development).</summary>
public sealed record ClientIdentity(ClientRoles Roles, string? Name)
{
    /// <summary>Plaintext loopback callers in development: every role, any host.</summary>
    public static ClientIdentity Development { get; } = new(ClientRoles.All, null);

    public bool Has(ClientRoles role) => (Roles & role) == role;

    /// <summary>True when this caller may act as host <paramref name="host"/>.</summary>
    public bool MayActAsHost(string host) => Has(ClientRoles.Host) && (Name is null || string.Equals(Name, host, StringComparison.Ordinal));

    /// <summary>Who the caller is, for refusals: "host certificate host-a", "operator certificate alice", ...</summary>
    public string Describe() => Roles switch
    {
        ClientRoles.All when Name is null => "a plaintext loopback caller",
        ClientRoles.Host => $"host certificate {Name}",
        ClientRoles.Router => $"router certificate {Name}",
        ClientRoles.Operator => $"operator certificate {Name}",
        _ => $"caller {Name} ({Roles})",
    };
}

/// <summary>Decides who a caller is; null refuses the call.</summary>
public interface IClientIdentityResolver
{
    ClientIdentity? Resolve(ServerCallContext context);
}

/// <summary>Identity from the TLS client certificate (already verified against the client CA by the TLS
/// layer): the subject's OU names the role (host, router or operator) and its CN the name (the host's name
/// for role host). Without a certificate, plaintext loopback callers get <see cref="ClientIdentity.Development"/>
/// when <paramref name="allowLoopbackPlaintext"/>; everyone else is refused.</summary>
public sealed class CertificateIdentityResolver(bool allowLoopbackPlaintext) : IClientIdentityResolver
{
    public ClientIdentity? Resolve(ServerCallContext context)
    {
        var http = context.GetHttpContext();
        X509Certificate2? certificate = http.Connection.ClientCertificate;
        if (certificate is not null)
        {
            return FromCertificate(certificate);
        }
        IPAddress? remote = http.Connection.RemoteIpAddress;
        return allowLoopbackPlaintext && !http.Request.IsHttps && remote is not null && IPAddress.IsLoopback(remote)
            ? ClientIdentity.Development
            : null;
    }

    /// <summary>The refusal for a caller <see cref="Resolve"/> did not identify, saying what was missing.</summary>
    public static RpcException NotIdentified(ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        X509Certificate2? certificate = context.GetHttpContext().Connection.ClientCertificate;
        string detail = certificate is null
            ? "a client certificate is required (plaintext is served to loopback callers only)"
            : $"the client certificate {certificate.Subject} names no role: its subject needs OU=host, OU=router or OU=operator and a CN";
        return new RpcException(new Status(StatusCode.Unauthenticated, detail));
    }

    /// <summary>Reads role and name from a certificate's subject (OU=host|router|operator, CN=name).</summary>
    public static ClientIdentity? FromCertificate(X509Certificate2 certificate)
    {
        string? name = null;
        string? unit = null;
        foreach (X500RelativeDistinguishedName rdn in certificate.SubjectName.EnumerateRelativeDistinguishedNames())
        {
            string? value = rdn.GetSingleElementValue();
            switch (rdn.GetSingleElementType().Value)
            {
                case "2.5.4.3":
                    name = value;
                    break;
                case "2.5.4.11":
                    unit = value;
                    break;
            }
        }
        ClientRoles role = unit switch
        {
            "host" => ClientRoles.Host,
            "router" => ClientRoles.Router,
            "operator" => ClientRoles.Operator,
            _ => ClientRoles.None,
        };
        if (role == ClientRoles.None || string.IsNullOrEmpty(name))
        {
            return null;
        }
        return new ClientIdentity(role, name);
    }
}
