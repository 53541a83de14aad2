using MetalAgent.Backends;
using MetalAgent.Backends.Linux;

namespace MetalAgent.Agent.Sync;

/// <summary>Linux devices: VM ports are TAP devices (named by <c>--port-binding</c>, else
/// <see cref="TapPort.DeviceName"/>), the uplink is an AF_PACKET socket on the configured device.</summary>
public sealed class LinuxPortBackend(string uplinkDevice, IReadOnlyDictionary<string, string> bindings) : IPortBackend
{
    public string DeviceName(string portName, PortRole role) =>
        role == PortRole.Uplink ? uplinkDevice
        : bindings.TryGetValue(portName, out string? device) ? device : TapPort.DeviceName(portName);

    public IPort Open(string portName, PortRole role, int queueCount) => role == PortRole.Uplink
        ? new PacketSocketPort(portName, PortRole.Uplink, uplinkDevice, queueCount)
        : new TapPort(portName, DeviceName(portName, role), queueCount);

    public void Dispose()
    {
    }
}
