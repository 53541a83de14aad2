using System.Diagnostics;
using static Tmds.Linux.LibC;

namespace MetalAgent.EndToEnd.Tests.Kit;

/// <summary>
/// A long-running <c>metalagent</c> process (control plane or agent) started with <c>dotnet</c> inside a
/// network namespace (<c>ip netns exec</c> execs it, so the process id is the agent's own). Its output goes
/// to a log file and is kept in memory so tests can await log lines. Can be stopped with SIGTERM, killed
/// with SIGKILL and started again with the same arguments.
/// </summary>
internal sealed class ServiceProcess : IDisposable
{
    private readonly TestRun _run;
    private readonly string _namespace;
    private readonly IReadOnlyList<string> _args;
    private readonly string _logPath;
    private readonly List<string> _lines = [];
    private readonly Lock _lock = new();
    private Process? _process;

    public ServiceProcess(TestRun run, string name, string ns, IReadOnlyList<string> args)
    {
        _run = run;
        Name = name;
        _namespace = ns;
        _args = args;
        _logPath = Path.Combine(run.Directory, name + ".log");
    }

    public string Name { get; }

    /// <summary>The metalagent executable next to the tests (copied there by the project reference).</summary>
    public static string AgentDll => Path.Combine(AppContext.BaseDirectory, "metalagent.dll");

    public int Pid => _process?.Id ?? 0;

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>How many output lines were seen so far (across restarts); pass it to <see cref="WaitForLineAsync"/>
    /// to await a line printed after this point.</summary>
    public int LineCount
    {
        get
        {
            lock (_lock)
            {
                return _lines.Count;
            }
        }
    }

    public void Start()
    {
        if (IsRunning)
        {
            throw new InvalidOperationException($"{Name} already runs");
        }
        var psi = new ProcessStartInfo("ip")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string a in (string[])["netns", "exec", _namespace, "dotnet", AgentDll, .. _args])
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["DOTNET_NOLOGO"] = "1";
        Append($"--- start: ip netns exec {_namespace} dotnet metalagent.dll {Command.Describe(_args)}");
        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _run.Track(process);
        _process = process;
    }

    /// <summary>Waits for an output line containing <paramref name="text"/> printed after line <paramref name="after"/>;
    /// fails early when the process exits.</summary>
    public Task WaitForLineAsync(string text, TimeSpan within, int after = 0) =>
        Eventually.AssertAsync($"{Name} prints '{text}'", within, () =>
        {
            lock (_lock)
            {
                for (int i = after; i < _lines.Count; i++)
                {
                    if (_lines[i].Contains(text, StringComparison.Ordinal))
                    {
                        return Task.FromResult((true, string.Empty));
                    }
                }
            }
            if (!IsRunning)
            {
                throw new InvalidOperationException($"{Name} exited ({_process?.ExitCode}) before printing '{text}':\n{Tail(30)}");
            }
            return Task.FromResult((false, "last lines:\n" + Tail(10)));
        });

    /// <summary>The output lines after <paramref name="after"/> that contain <paramref name="text"/>.</summary>
    public List<string> LinesContaining(string text, int after = 0)
    {
        lock (_lock)
        {
            return [.. _lines.Skip(after).Where(l => l.Contains(text, StringComparison.Ordinal))];
        }
    }

    public string Tail(int count)
    {
        lock (_lock)
        {
            return string.Join('\n', _lines.Skip(Math.Max(0, _lines.Count - count)));
        }
    }

    /// <summary>SIGTERM (graceful shutdown) and wait for the exit; SIGKILL if it overruns.</summary>
    public async Task StopAsync(TimeSpan within)
    {
        if (_process is not { HasExited: false } p)
        {
            return;
        }
        _ = kill(p.Id, SIGTERM);
        using var cts = new CancellationTokenSource(within);
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill();
            await p.WaitForExitAsync();
            throw new TimeoutException($"{Name} did not stop within {within.TotalSeconds} s of SIGTERM:\n{Tail(20)}");
        }
        Append($"--- exited {p.ExitCode}");
    }

    /// <summary>SIGKILL: the process gets no chance to clean up or persist anything.</summary>
    public async Task KillAsync()
    {
        if (_process is not { HasExited: false } p)
        {
            return;
        }
        _ = kill(p.Id, SIGKILL);
        await p.WaitForExitAsync();
        Append("--- killed (SIGKILL)");
    }

    public int ExitCode => _process is { HasExited: true } p ? p.ExitCode : throw new InvalidOperationException($"{Name} still runs");

    public void Dispose()
    {
        if (_process is { HasExited: false } p)
        {
            p.Kill();
            p.WaitForExit(5000);
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_lock)
        {
            _lines.Add(line);
            File.AppendAllText(_logPath, line + "\n");
        }
    }
}
