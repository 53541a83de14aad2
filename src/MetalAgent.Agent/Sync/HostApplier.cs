using MetalAgent.Backends;
using MetalAgent.Backends.Linux;
using MetalAgent.Compiler;
using MetalAgent.ControlPlane.Sync;
using MetalAgent.ControlPlane.V1;
using MetalAgent.Model.StateFiles;
using MetalAgent.Model.V1;
using MetalAgent.Model.Validation;
using MetalAgent.Tables.Snapshot;
using Microsoft.Extensions.Logging;
using DataplaneRuntime = MetalAgent.Dataplane.Runtime.Dataplane;

namespace MetalAgent.Agent.Sync;

/// <summary>
/// Applies host state to the dataplane all-or-nothing: merge host-local uplinks, validate, compile against
/// the previous compile, open the ports it names, publish (one swap), persist, and only then answer Ack.
/// Anything refused leaves the last good state forwarding. Not thread-safe: one sync loop drives it.
/// </summary>
public sealed class HostApplier
{
    private readonly AgentSettings _settings;
    private readonly DataplaneRuntime _dataplane;
    private readonly IPortBackend _backend;
    private readonly ILogger _logger;
    private readonly Dictionary<string, IPort> _opened = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _portErrors = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private CompiledHost? _compiled;
    private string _sha256 = string.Empty;

    public HostApplier(AgentSettings settings, DataplaneRuntime dataplane, IPortBackend backend, ILogger logger)
    {
        _settings = settings;
        _dataplane = dataplane;
        _backend = backend;
        _logger = logger;
    }

    /// <summary>The last good HostSpec as the server sent it (without host-local uplinks), or null.</summary>
    public HostSpec? Spec { get; private set; }

    public ulong Version => Spec?.Version ?? 0;

    /// <summary>Applied and refused states and how long applies took (metrics, status).</summary>
    public ApplyStatistics Statistics { get; } = new();

    /// <summary>SHA-256 of <see cref="Spec"/> (what Hello reports), empty when none is held.</summary>
    public string Sha256 => _sha256;

    /// <summary>
    /// Loads the persisted last good state and publishes it, so forwarding resumes before the server
    /// answers; restores learned VM MACs. Returns false (and holds nothing) when there is no usable state.
    /// </summary>
    public bool LoadPersisted()
    {
        HostSpec spec;
        try
        {
            spec = HostStateFile.Load(_settings.SpecPath);
        }
        catch (FileNotFoundException)
        {
            return false;
        }
        catch (DirectoryNotFoundException)
        {
            return false;
        }
        catch (Exception e) when (e is StateFileException or IOException)
        {
            AgentLog.PersistedStateUnusable(_logger, _settings.SpecPath, e.Message);
            return false;
        }
        if (spec.Host?.Name != _settings.HostName)
        {
            AgentLog.PersistedStateUnusable(_logger, _settings.SpecPath, $"it is for host '{spec.Host?.Name}'");
            return false;
        }
        IReadOnlyList<FieldError> errors = TryPublish(spec, persist: false);
        if (errors.Count > 0)
        {
            AgentLog.PersistedStateUnusable(_logger, _settings.SpecPath, FieldErrors.Format(errors[0]));
            return false;
        }
        RestoreMacs();
        AgentLog.PersistedStateLoaded(_logger, spec.Version);
        return true;
    }

    /// <summary>Applies one update and returns the answer (Ack, or Nack with every error / resync).
    /// <paramref name="applied"/> is true when a new state went live.</summary>
    public AgentMessage Apply(StateUpdate update, out bool applied)
    {
        applied = false;
        HostSpec spec;
        if (update.StateCase == StateUpdate.StateOneofCase.Delta)
        {
            HostSpecDelta delta = update.Delta;
            if (Spec is null || delta.BaseVersion != Spec.Version)
            {
                // Never a partial view: a delta on top of something else is refused and the full state asked for.
                return Resync(update, $"the delta applies to version {delta.BaseVersion}, the agent holds {Version}");
            }
            if (update.Version == Spec.Version && HostSpecDiff.IsEmpty(delta) && update.StateSha256 == _sha256)
            {
                return Ack(update);
            }
            spec = HostSpecDiff.Apply(Spec, delta, update.Version);
        }
        else if (update.StateCase == StateUpdate.StateOneofCase.Full)
        {
            spec = update.Full.Clone();
            spec.Version = update.Version;
        }
        else
        {
            return Nack(update, [new FieldError { Field = "state", Type = FieldErrorType.Required, Detail = "the update carries no state" }]);
        }
        if (update.StateSha256.Length > 0 && HostSpecDiff.Sha256(spec) != update.StateSha256)
        {
            return Resync(update, "the state after applying the update does not match its digest");
        }
        if (spec.Host?.Name != _settings.HostName)
        {
            return Nack(update, [new FieldError { Field = "host.name", Type = FieldErrorType.Invalid, Value = spec.Host?.Name ?? string.Empty, Detail = $"this agent serves host '{_settings.HostName}'" }]);
        }
        IReadOnlyList<FieldError> errors = TryPublish(spec, persist: true);
        if (errors.Count > 0)
        {
            return Nack(update, errors);
        }
        applied = true;
        AgentLog.Applied(_logger, update.Version);
        return Ack(update);
    }

    /// <summary>The status of every interface of the live state: Available when its port is bound in the
    /// dataplane, Error when its device failed to open, Pending otherwise.</summary>
    public InterfaceStatusReport StatusReport()
    {
        lock (_lock)
        {
            return StatusReportLocked();
        }
    }

    private InterfaceStatusReport StatusReportLocked()
    {
        var report = new InterfaceStatusReport { Version = Version, Complete = true };
        if (Spec is null || _dataplane.Current is not { } bound)
        {
            return report;
        }
        DataplaneSnapshot tables = bound.Tables;
        foreach (InterfaceSpec spec in Spec.Interfaces)
        {
            // An interface without an explicit port is served by the port named like the interface.
            string portName = spec.Port.Length > 0 ? spec.Port : spec.Id;
            var status = new InterfaceStatus { Id = spec.Id, PortDevice = _backend.DeviceName(portName, PortRole.Vm) };
            int port = tables.FindPort(portName);
            if (_portErrors.TryGetValue(portName, out string? error))
            {
                status.State = ControlPlane.V1.InterfaceState.Error;
                status.Reason = error;
            }
            else if (port >= 0 && bound.Ports[port] is not null)
            {
                status.State = ControlPlane.V1.InterfaceState.Available;
            }
            else
            {
                status.State = ControlPlane.V1.InterfaceState.Pending;
                status.Reason = "port not bound";
            }
            AddAddresses(status, spec);
            int iface = FindInterface(tables, spec.Id);
            ulong mac = iface >= 0 ? (tables.Interfaces[iface].PinnedMac is not 0 and var pinned ? pinned : bound.Interfaces.VmMac(iface)) : 0;
            if (mac != 0)
            {
                status.Mac = VmMacFile.FormatMac(mac);
            }
            report.Interfaces.Add(status);
        }
        return report;
    }

    /// <summary>Learned VM MACs of the live state, by interface id.</summary>
    public SortedDictionary<string, ulong> LearnedMacs()
    {
        var macs = new SortedDictionary<string, ulong>(StringComparer.Ordinal);
        if (_dataplane.Current is not { } bound)
        {
            return macs;
        }
        InterfaceEntry[] interfaces = bound.Tables.Interfaces;
        for (int i = 0; i < interfaces.Length && i < bound.Interfaces.Capacity; i++)
        {
            if (interfaces[i].Present && bound.Interfaces.VmMac(i) is var mac and not 0)
            {
                macs[interfaces[i].Id] = mac;
            }
        }
        return macs;
    }

    /// <summary>Writes the learned VM MACs (when a state is live).</summary>
    public void PersistMacs()
    {
        if (Spec is null)
        {
            return;
        }
        try
        {
            Directory.CreateDirectory(_settings.StateDirectory);
            VmMacFile.Save(_settings.MacsPath, LearnedMacs());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            AgentLog.PersistFailed(_logger, _settings.MacsPath, e.Message);
        }
    }

    /// <summary>Closes the ports this applier opened.</summary>
    public void ClosePorts()
    {
        foreach (IPort port in _opened.Values)
        {
            _dataplane.RemovePort(port.Name);
            port.Dispose();
        }
        _opened.Clear();
    }

    /// <summary>The HostSpec that is compiled: the server's, with the host-local uplinks.</summary>
    public HostSpec Effective(HostSpec spec)
    {
        if (_settings.Uplinks.Count == 0)
        {
            return spec;
        }
        HostSpec effective = spec.Clone();
        effective.Host ??= new HostInfo();
        effective.Host.Uplinks.Clear();
        foreach (UplinkSpec uplink in _settings.Uplinks)
        {
            effective.Host.Uplinks.Add(uplink.Clone());
        }
        return effective;
    }

    private IReadOnlyList<FieldError> TryPublish(HostSpec spec, bool persist)
    {
        // The lock makes StatusReport (called from the local control socket) see whole applies.
        long started = ApplyStatistics.Start();
        IReadOnlyList<FieldError> errors;
        lock (_lock)
        {
            errors = TryPublishLocked(spec, persist);
        }
        Statistics.Stop(started, errors.Count == 0);
        return errors;
    }

    private IReadOnlyList<FieldError> TryPublishLocked(HostSpec spec, bool persist)
    {
        HostSpec effective = Effective(spec);
        IReadOnlyList<ValidationError> invalid = HostSpecValidator.Validate(effective);
        if (invalid.Count > 0)
        {
            return [.. invalid.Select(FieldErrors.ToWire)];
        }
        CompiledHost compiled;
        try
        {
            compiled = HostCompiler.Compile(effective, _compiled);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return [new FieldError { Type = FieldErrorType.Internal, Detail = "compilation failed: " + e.Message }];
        }
        OpenPorts(compiled.Snapshot);
        _dataplane.Publish(compiled.Snapshot);
        _compiled = compiled;
        Spec = spec;
        _sha256 = HostSpecDiff.Sha256(spec);
        if (persist)
        {
            try
            {
                Directory.CreateDirectory(_settings.StateDirectory);
                HostStateFile.Save(_settings.SpecPath, spec);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Forwarding with the new state is right; only a restart would fall back to the older file.
                AgentLog.PersistFailed(_logger, _settings.SpecPath, e.Message);
            }
        }
        return [];
    }

    /// <summary>Opens every port the snapshot names that is not open yet (a failed one is retried on the
    /// next apply), and closes ports it no longer names.</summary>
    private void OpenPorts(DataplaneSnapshot tables)
    {
        var wanted = new HashSet<string>(StringComparer.Ordinal);
        foreach (PortEntry entry in tables.Ports)
        {
            if (!entry.Present)
            {
                continue;
            }
            wanted.Add(entry.Name);
            if (_opened.ContainsKey(entry.Name))
            {
                continue;
            }
            PortRole role = entry.Kind == PortKind.Uplink ? PortRole.Uplink : PortRole.Vm;
            try
            {
                IPort port = _backend.Open(entry.Name, role, _dataplane.Workers.Count);
                _opened[entry.Name] = port;
                _portErrors.Remove(entry.Name);
                _dataplane.AddPort(port);
            }
            catch (Exception e) when (e is IOException or InvalidOperationException or UnauthorizedAccessException or PlatformNotSupportedException)
            {
                _portErrors[entry.Name] = e.Message;
                AgentLog.PortFailed(_logger, entry.Name, e.Message);
            }
        }
        foreach (string name in _opened.Keys.Where(n => !wanted.Contains(n)).Order(StringComparer.Ordinal).ToList())
        {
            _dataplane.RemovePort(name);
            RemoveDevice(_opened[name]);
            _opened.Remove(name);
        }
        foreach (string name in _portErrors.Keys.Where(n => !wanted.Contains(n)).ToList())
        {
            _portErrors.Remove(name);
        }
    }

    /// <summary>Closes a port whose interface left the state; an agent-owned TAP is deleted with it (it persists
    /// only across agent restarts, never beyond its interface).</summary>
    private void RemoveDevice(IPort port)
    {
        if (port is TapPort tap)
        {
            try
            {
                tap.Delete();
                return;
            }
            catch (IOException e)
            {
                AgentLog.PortFailed(_logger, port.Name, e.Message);
            }
        }
        port.Dispose();
    }

    private void RestoreMacs()
    {
        SortedDictionary<string, ulong> macs = VmMacFile.Load(_settings.MacsPath);
        if (macs.Count == 0 || _dataplane.Current is not { } bound)
        {
            return;
        }
        InterfaceEntry[] interfaces = bound.Tables.Interfaces;
        for (int i = 0; i < interfaces.Length && i < bound.Interfaces.Capacity; i++)
        {
            if (interfaces[i].Present && macs.TryGetValue(interfaces[i].Id, out ulong mac))
            {
                bound.Interfaces.LearnVmMac(i, mac);
            }
        }
    }

    private static int FindInterface(DataplaneSnapshot tables, string id)
    {
        for (int i = 0; i < tables.Interfaces.Length; i++)
        {
            if (tables.Interfaces[i].Present && tables.Interfaces[i].Id == id)
            {
                return i;
            }
        }
        return -1;
    }

    private static void AddAddresses(InterfaceStatus status, InterfaceSpec spec)
    {
        if (spec.Ipv4.Length > 0)
        {
            status.AppliedAddresses.Add(spec.Ipv4);
        }
        if (spec.Ipv6.Length > 0)
        {
            status.AppliedAddresses.Add(spec.Ipv6);
        }
        foreach (RoutedPrefixSpec prefix in spec.Prefixes)
        {
            status.AppliedAddresses.Add(prefix.Prefix);
        }
        if (spec.VirtualIpv4 is { Ip.Length: > 0 } vip4)
        {
            status.AppliedAddresses.Add(vip4.Ip);
        }
        if (spec.VirtualIpv6 is { Ip.Length: > 0 } vip6)
        {
            status.AppliedAddresses.Add(vip6.Ip);
        }
        foreach (NatSliceSpec? nat in (NatSliceSpec?[])[spec.NatIpv4, spec.NatIpv6])
        {
            if (nat is { PublicIp.Length: > 0 })
            {
                status.AppliedAddresses.Add($"{nat.PublicIp}:{nat.FirstPort}-{nat.LastPort}");
            }
        }
    }

    private AgentMessage Ack(StateUpdate update) => new() { Ack = new Ack { Nonce = update.Nonce, Version = update.Version } };

    private AgentMessage Nack(StateUpdate update, IReadOnlyList<FieldError> errors)
    {
        AgentLog.Refused(_logger, update.Version, errors.Count, errors.Count > 0 ? FieldErrors.Format(errors[0]) : string.Empty);
        return new AgentMessage { Nack = new Nack { Nonce = update.Nonce, Version = update.Version, Errors = { errors } } };
    }

    private AgentMessage Resync(StateUpdate update, string why)
    {
        AgentLog.ResyncRequested(_logger, update.Version, why);
        return new AgentMessage
        {
            Nack = new Nack
            {
                Nonce = update.Nonce,
                Version = update.Version,
                Resync = true,
                Errors = { new FieldError { Field = "delta.baseVersion", Type = FieldErrorType.Invalid, Detail = why } },
            },
        };
    }
}
