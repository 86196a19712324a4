using ModelBridge.Cli;

namespace ModelBridge.Tests;

/// <summary>Runs <c>modelbridge</c> commands through the real command tree, capturing the console.</summary>
internal static class CliHarness
{
    /// <summary>Invokes the CLI with <paramref name="args"/>; returns the exit code and what it printed.</summary>
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        TextWriter oldOut = Console.Out, oldErr = Console.Error;
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        Console.SetOut(stdout);
        Console.SetError(stderr);
        try
        {
            int code = Program.BuildRoot().Parse(args).Invoke();
            return (code, stdout.ToString(), stderr.ToString());
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldErr);
        }
    }

    /// <summary>Path of a committed fixture's model.</summary>
    public static string Fixture(string name) => Path.Combine(TestPaths.Fixtures, name, "model.onnx");
}
