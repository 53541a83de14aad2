using System.Diagnostics;
using System.Text;

namespace MetalAgent.EndToEnd.Tests.Kit;

/// <summary>The result of one finished command: exit code and captured output.</summary>
internal sealed record CommandResult(string Command, int ExitCode, string Stdout, string Stderr)
{
    public bool Ok => ExitCode == 0;

    public override string ToString() => $"`{Command}` exited {ExitCode}: {Stdout.Trim()} {Stderr.Trim()}".Trim();
}

/// <summary>Runs short external commands (ip, ping, udhcpc) with a time limit; a command that overruns is killed.</summary>
internal static class Command
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(20);

    /// <summary>Runs the command and returns its result whatever the exit code.</summary>
    public static async Task<CommandResult> TryRunAsync(string file, IEnumerable<string> args, TimeSpan? timeout = null, IDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        if (environment is not null)
        {
            foreach ((string key, string value) in environment)
            {
                psi.Environment[key] = value;
            }
        }
        string text = file + " " + string.Join(' ', psi.ArgumentList);
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {text}");
        process.StandardInput.Close();
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            return new CommandResult(text, -1, await stdout, await stderr + $" (killed after {(timeout ?? DefaultTimeout).TotalSeconds} s)");
        }
        return new CommandResult(text, process.ExitCode, await stdout, await stderr);
    }

    public static Task<CommandResult> TryRunAsync(string file, params string[] args) => TryRunAsync(file, args, null);

    /// <summary>Runs the command and throws with its output when it fails.</summary>
    public static async Task<string> RunAsync(string file, params string[] args)
    {
        CommandResult result = await TryRunAsync(file, args, null);
        return result.Ok ? result.Stdout : throw new InvalidOperationException(result.ToString());
    }

    /// <summary>Synchronous variant for setup and teardown paths.</summary>
    public static CommandResult TryRun(string file, params string[] args) => TryRunAsync(file, args, null).GetAwaiter().GetResult();

    public static string Run(string file, params string[] args) => RunAsync(file, args).GetAwaiter().GetResult();

    /// <summary>Quotes for the log only.</summary>
    public static string Describe(IEnumerable<string> args)
    {
        var b = new StringBuilder();
        foreach (string a in args)
        {
            b.Append(a.Contains(' ', StringComparison.Ordinal) ? $"'{a}' " : a + " ");
        }
        return b.ToString().TrimEnd();
    }
}
