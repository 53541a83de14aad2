using System.Runtime.InteropServices;

namespace MetalAgent.Agent.Hosting;

/// <summary>Completes <see cref="Task"/> on SIGTERM, SIGINT or a cancelled token. Registered before the
/// agent starts, so a stop request during startup is never the default (immediate) signal action.</summary>
public sealed class ShutdownSignal : IDisposable
{
    private readonly TaskCompletionSource _stop = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly PosixSignalRegistration _term;
    private readonly PosixSignalRegistration _interrupt;
    private readonly CancellationTokenRegistration _token;

    public ShutdownSignal(CancellationToken token)
    {
        _term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle);
        _interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle);
        _token = token.Register(() => _stop.TrySetResult());
    }

    public Task Task => _stop.Task;

    private void Handle(PosixSignalContext context)
    {
        context.Cancel = true;
        _stop.TrySetResult();
    }

    public void Dispose()
    {
        _term.Dispose();
        _interrupt.Dispose();
        _token.Dispose();
    }
}
