using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Grpc.Net.Client;
using MetalAgent.Tests.Shared;

namespace MetalAgent.EndToEnd.Tests.Kit;

/// <summary>
/// How the agents, the router and the tests reach the control plane, which runs in the management namespace:
/// a bridge "mgmt" there holds fc00:ffff::1, every other participant gets a veth into it and an address of
/// its own, and the control plane listens on [fc00:ffff::1]:7443 with TLS, requiring client certificates the
/// run's own CA issued (OU host/router/operator, CN name).
/// </summary>
internal sealed class ManagementNetwork : IDisposable
{
    public const int Port = 7443;
    public static readonly IPAddress ServerAddress = IPAddress.Parse("fc00:ffff::1");

    private readonly TestCertificateAuthority _ca;
    private readonly (string Certificate, string Key) _server;
    private int _nextAddress = 0x10;

    public ManagementNetwork(string directory, string ns)
    {
        Namespace = ns;
        _ca = new TestCertificateAuthority("pki", directory);
        _server = _ca.IssueServer("controlplane", ServerAddress);
        Command.Run("ip", "-n", ns, "link", "add", "mgmt", "type", "bridge");
        Command.Run("ip", "-n", ns, "link", "set", "mgmt", "up");
        Command.Run("ip", "-n", ns, "addr", "add", ServerAddress + "/64", "dev", "mgmt", "nodad");
    }

    public string Namespace { get; }

    /// <summary>The URL clients use.</summary>
    public static string ServerUrl => $"https://[{ServerAddress}]:{Port}";

    /// <summary>The control plane configuration's listen line and TLS block.</summary>
    public string ServerConfig => $"""
        listen: "[{ServerAddress}]:{Port}"
        tls:
          certificate: {_server.Certificate}
          key: {_server.Key}
          clientCa: {_ca.CertificatePath}
        """;

    /// <summary>Connects <paramref name="ns"/> to the management bridge and returns the <c>--server --ca --cert --key</c>
    /// arguments for a client with that identity.</summary>
    public List<string> Attach(string ns, string role, string name)
    {
        string port = "m-" + name;
        Command.Run("ip", "-n", Namespace, "link", "add", port, "type", "veth", "peer", "name", "mgmt", "netns", ns);
        Command.Run("ip", "-n", Namespace, "link", "set", port, "master", "mgmt", "up");
        // The participant's namespace may have IPv6 off for every other device (the agent owns its uplink's IPv6).
        Command.Run("ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv6.conf.mgmt.disable_ipv6=0");
        Command.Run("ip", "-n", ns, "link", "set", "mgmt", "up");
        Command.Run("ip", "-n", ns, "addr", "add", $"fc00:ffff::{_nextAddress++:x}/64", "dev", "mgmt", "nodad");
        (string certificate, string key) = _ca.IssueClient(role, name);
        return ["--server", ServerUrl, "--ca", _ca.CertificatePath, "--cert", certificate, "--key", key];
    }

    /// <summary>The <c>--server --ca --cert --key</c> arguments of an operator's CLI run inside the management namespace.</summary>
    public List<string> OperatorArguments(string name)
    {
        (string certificate, string key) = _ca.IssueClient("operator", name);
        return ["--server", ServerUrl, "--ca", _ca.CertificatePath, "--cert", certificate, "--key", key];
    }

    /// <summary>A channel from the test process (entering the management namespace for each connection),
    /// as an operator; <paramref name="role"/>/<paramref name="name"/> pick another identity, null none at all;
    /// <paramref name="tls"/> false tries plaintext.</summary>
    public GrpcChannel Channel(string? role = "operator", string name = "e2e", bool tls = true)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, token) =>
            {
                var target = new IPEndPoint(ServerAddress, Port);
                Socket socket = NamespaceSockets.Create(Namespace, target.AddressFamily);
                try
                {
                    socket.NoDelay = true;
                    await socket.ConnectAsync(target, token);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        if (tls)
        {
            var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
            policy.CustomTrustStore.Add(_ca.Certificate);
            handler.SslOptions = new SslClientAuthenticationOptions { CertificateChainPolicy = policy, CertificateRevocationCheckMode = X509RevocationMode.NoCheck };
            if (role is not null)
            {
                (string certificate, string key) = _ca.IssueClient(role, name);
                handler.SslOptions.ClientCertificates = [X509Certificate2.CreateFromPemFile(certificate, key)];
            }
        }
        return GrpcChannel.ForAddress(tls ? ServerUrl : $"http://[{ServerAddress}]:{Port}", new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true });
    }

    public void Dispose() => _ca.Dispose();
}
