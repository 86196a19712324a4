using System.Text.Json;
using ModelBridge.Cli;

namespace ModelBridge.Tests.Cli;

/// <summary>Runs <c>modelbridge</c> commands through <see cref="Program.Run"/> (the real entry point), capturing the console.</summary>
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
            int code = Program.Run(args);
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

    /// <summary>Asserts stdout is exactly one JSON document (nothing before or after it) and returns it.</summary>
    public static JsonDocument SingleJson(string stdout)
    {
        byte[] bytes = System.Text.Encoding.UTF8.GetBytes(stdout);
        var reader = new Utf8JsonReader(bytes);
        Assert.That(JsonDocument.TryParseValue(ref reader, out JsonDocument? doc), Is.True, "stdout starts with a JSON document:\n" + stdout);
        string rest = System.Text.Encoding.UTF8.GetString(bytes, (int)reader.BytesConsumed, bytes.Length - (int)reader.BytesConsumed);
        Assert.That(rest.Trim(), Is.Empty, "nothing follows the JSON document on stdout");
        return doc!;
    }

    /// <summary>Asserts <paramref name="stderr"/> is one <c>error:</c> line and holds no stack-trace frame.</summary>
    public static void AssertOneErrorLine(string stderr)
    {
        Assert.That(stderr, Does.Not.Contain("   at "), "no stack trace");
        Assert.That(stderr, Does.Not.Contain("Unhandled exception"));
        string[] errors = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith("error:", StringComparison.Ordinal)).ToArray();
        Assert.That(errors, Has.Length.EqualTo(1), "exactly one error line:\n" + stderr);
    }
}
