using MetalAgent.Compiler;
using MetalAgent.Model.StateFiles;
using MetalAgent.Model.V1;
using MetalAgent.Model.Validation;

namespace MetalAgent.Agent.Commands;

/// <summary>Loads, validates and compiles a host state file for the offline verbs, printing every
/// problem to stderr.</summary>
internal static class HostStateLoader
{
    public static HostSpec? LoadValid(string path, TextWriter error)
    {
        HostSpec spec;
        try
        {
            spec = HostStateFile.Load(path);
        }
        catch (StateFileException e)
        {
            error.WriteLine(e.Message);
            return null;
        }
        IReadOnlyList<ValidationError> errors = HostSpecValidator.Validate(spec);
        if (errors.Count > 0)
        {
            error.WriteLine($"{path}: {errors.Count} problem(s):");
            foreach (ValidationError e in errors)
            {
                error.WriteLine("  " + e);
            }
            return null;
        }
        return spec;
    }

    public static CompiledHost? LoadCompiled(string path, TextWriter error)
    {
        HostSpec? spec = LoadValid(path, error);
        return spec is null ? null : HostCompiler.Compile(spec);
    }
}
