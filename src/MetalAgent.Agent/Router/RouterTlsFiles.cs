namespace MetalAgent.Agent.Router;

/// <summary>PEM files for the router's control-plane connection: the CA that signed the server's
/// certificate, and the router's client certificate and key. Each may be absent (plaintext
/// loopback development, or a server certificate the system trusts).</summary>
public sealed record RouterTlsFiles(string? CertificateAuthority, string? Certificate, string? Key);
