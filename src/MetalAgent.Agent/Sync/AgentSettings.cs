using MetalAgent.Model.V1;

namespace MetalAgent.Agent.Sync;

/// <summary>Per-agent settings: who the agent is, where its server and state live, and the host-local
/// configuration (uplinks) merged into every HostSpec before it is compiled.</summary>
public sealed class AgentSettings
{
    public required string HostName { get; init; }

    /// <summary>The host's underlay /64, as sent in Hello.</summary>
    public required string UnderlayPrefix { get; init; }

    /// <summary>The control plane: https:// with <see cref="ServerCaPath"/>, <see cref="ClientCertificatePath"/>
    /// and <see cref="ClientKeyPath"/>, or http:// (the server serves plaintext on loopback only).</summary>
    public Uri? Server { get; init; }

    /// <summary>PEM bundle of the CA(s) the server's certificate must chain to (the system store is not used).</summary>
    public string? ServerCaPath { get; init; }

    /// <summary>PEM client certificate naming this host (CN=host name, OU=host), optionally followed by intermediates.</summary>
    public string? ClientCertificatePath { get; init; }

    /// <summary>PEM private key of <see cref="ClientCertificatePath"/>.</summary>
    public string? ClientKeyPath { get; init; }

    /// <summary>Directory of the persisted last good state and learned MACs (one per agent).</summary>
    public required string StateDirectory { get; init; }

    /// <summary>Host-local uplinks; when non-empty they replace the HostSpec's uplinks.</summary>
    public IReadOnlyList<UplinkSpec> Uplinks { get; init; } = [];

    public int Workers { get; init; } = 1;

    public TimeSpan KeepAlivePingDelay { get; init; } = TimeSpan.FromSeconds(5);

    public TimeSpan KeepAlivePingTimeout { get; init; } = TimeSpan.FromSeconds(5);

    public TimeSpan ReconnectMin { get; init; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan ReconnectMax { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How often learned VM MACs are written while running.</summary>
    public TimeSpan MacPersistInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Every problem with the server URL and TLS files (empty when usable or when no server is set).</summary>
    public IReadOnlyList<string> CheckServerTls()
    {
        var problems = new List<string>();
        if (Server is not null)
        {
            ClientTlsMaterial.TryForServer(Server, ServerCaPath, ClientCertificatePath, ClientKeyPath, problems)?.Dispose();
        }
        return problems;
    }

    public string SpecPath => Path.Combine(StateDirectory, "hostspec.json");

    public string MacsPath => Path.Combine(StateDirectory, "vm-macs.json");

    /// <summary>Connection tracking saved at a graceful stop, restored (once) by the next start.</summary>
    public string FlowsPath => Path.Combine(StateDirectory, "flows.bin");
}
