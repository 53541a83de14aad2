using MetalAgent.ControlPlane.V1;

namespace MetalAgent.ControlPlane.Server;

/// <summary>What the control plane knows about one host's agent: connection, ACK/NACK and interface status.</summary>
public sealed class HostAgentRecord
{
    public bool Connected { get; internal set; }

    public ulong AckedVersion { get; internal set; }

    public ulong NackedVersion { get; internal set; }

    public IReadOnlyList<FieldError> NackErrors { get; internal set; } = [];

    /// <summary>Interface id to the last status reported.</summary>
    public IReadOnlyDictionary<string, InterfaceStatus> Interfaces { get; internal set; } = new Dictionary<string, InterfaceStatus>();

    internal HostAgentRecord Copy() => (HostAgentRecord)MemberwiseClone();
}
