using System.CommandLine;

namespace MetalAgent.Agent.Commands;

/// <summary><c>metalagent validate --state HOST.json</c>: lists every problem, exit code 2 when any.</summary>
internal static class ValidateCommand
{
    public static Command Create()
    {
        var state = new Option<FileInfo>("--state") { Description = "host state file (HostSpec JSON)", Required = true };
        var command = new Command("validate", "Validate a host state file and list every problem") { state };
        command.SetAction(result =>
        {
            FileInfo file = result.GetValue(state)!;
            if (HostStateLoader.LoadValid(file.FullName, Console.Error) is null)
            {
                return 2;
            }
            Console.WriteLine($"{file.Name}: valid");
            return 0;
        });
        return command;
    }
}
