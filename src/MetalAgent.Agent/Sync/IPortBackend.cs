using MetalAgent.Backends;

namespace MetalAgent.Agent.Sync;

/// <summary>Opens the device behind a pipeline port (memory rings, TAP, AF_PACKET). Host-local: which device
/// serves a port is the agent's configuration, never control-plane state.</summary>
public interface IPortBackend : IDisposable
{
    /// <summary>The device name reported in interface status for <paramref name="portName"/>.</summary>
    string DeviceName(string portName, PortRole role);

    /// <summary>Opens the port; throws (IOException, InvalidOperationException, ...) when the device cannot
    /// be opened, and the caller reports the interface in Error with the message.</summary>
    IPort Open(string portName, PortRole role, int queueCount);
}
