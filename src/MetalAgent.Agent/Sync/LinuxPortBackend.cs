using MetalAgent.Backends;
using MetalAgent.Backends.Linux;

namespace MetalAgent.Agent.Sync;

/// <summary>Linux devices: VM ports are TAP devices (named by <c>--port-binding</c>, else
/// <see cref="TapPort.DeviceName"/>), the uplink is an AF_PACKET socket on the configured device.</summary>
/// <remarks>A binding is "device" or "device@namespace": the TAP is created in (and re-attached from) that
/// network namespace (a name under /var/run/netns or a path), for example a container's or a test guest's.</remarks>
public sealed class LinuxPortBackend(string uplinkDevice, IReadOnlyDictionary<string, string> bindings) : IPortBackend
{
    public string DeviceName(string portName, PortRole role) =>
        role == PortRole.Uplink ? uplinkDevice : Binding(portName).Device;

    public IPort Open(string portName, PortRole role, int queueCount)
    {
        if (role == PortRole.Uplink)
        {
            return new PacketSocketPort(portName, PortRole.Uplink, uplinkDevice, queueCount);
        }
        (string device, string? ns) = Binding(portName);
        return new TapPort(portName, device, queueCount, ns);
    }

    public void Dispose()
    {
    }

    /// <summary>Splits "device@namespace"; a value without '@' names a device in the agent's own namespace.</summary>
    public static (string Device, string? Namespace) ParseBinding(string value)
    {
        int at = value.IndexOf('@', StringComparison.Ordinal);
        return at < 0 ? (value, null) : (value[..at], value[(at + 1)..]);
    }

    private (string Device, string? Namespace) Binding(string portName) =>
        bindings.TryGetValue(portName, out string? value) ? ParseBinding(value) : (TapPort.DeviceName(portName), null);
}
