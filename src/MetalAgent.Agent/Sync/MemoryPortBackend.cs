using System.Collections.Concurrent;
using MetalAgent.Backends;
using MetalAgent.Backends.Memory;

namespace MetalAgent.Agent.Sync;

/// <summary>In-memory ports (tests, demos): every opened port is kept by name so frames can be injected
/// and taken. Port names listed in <see cref="Failing"/> fail to open, to exercise the Error status.</summary>
public sealed class MemoryPortBackend : IPortBackend
{
    private readonly ConcurrentDictionary<string, InMemoryPort> _ports = new(StringComparer.Ordinal);
    private readonly IReadOnlyDictionary<string, string> _bindings;

    public MemoryPortBackend(IReadOnlyDictionary<string, string>? bindings = null) =>
        _bindings = bindings ?? new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Port names whose open fails with a device error.</summary>
    public ConcurrentDictionary<string, string> Failing { get; } = new(StringComparer.Ordinal);

    /// <summary>The port opened under <paramref name="name"/>, or null.</summary>
    public InMemoryPort? Port(string name) => _ports.TryGetValue(name, out InMemoryPort? port) ? port : null;

    public string DeviceName(string portName, PortRole role) =>
        _bindings.TryGetValue(portName, out string? device) ? device : "mem:" + portName;

    public IPort Open(string portName, PortRole role, int queueCount)
    {
        if (Failing.TryGetValue(portName, out string? reason))
        {
            throw new IOException($"{DeviceName(portName, role)}: {reason}");
        }
        return _ports.GetOrAdd(portName, n => new InMemoryPort(n, role, queueCount, capacity: 512));
    }

    public void Dispose()
    {
        foreach (InMemoryPort port in _ports.Values)
        {
            port.Dispose();
        }
    }
}
