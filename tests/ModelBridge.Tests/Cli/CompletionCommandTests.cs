using System.Diagnostics;
using ModelBridge.Cli;
using ModelBridge.Profiles;

namespace ModelBridge.Tests.Cli;

/// <summary><c>modelbridge completion</c> and the <c>[suggest]</c> directive its scripts call.</summary>
[TestFixture]
[NonParallelizable]
public sealed class CompletionCommandTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliHarness.Run(args);

    private static string[] Suggestions(string line)
    {
        var (code, stdout, stderr) = Run($"[suggest:{line.Length}]", line);
        Assert.That(code, Is.EqualTo(Program.Ok), stderr);
        return stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    [Test]
    public void Suggest_completes_verbs_options_targets_and_rules()
    {
        Assert.That(Suggestions("modelbridge conv"), Does.Contain("convert"));
        Assert.That(Suggestions("modelbridge convert m.onnx --inp"), Is.EqualTo(new[] { "--input-shape" }));
        Assert.That(Suggestions("modelbridge convert m.onnx --target "), Is.EquivalentTo(TargetProfile.BuiltInNames));
        Assert.That(Suggestions("modelbridge verify a.onnx b.onnx --rule "), Is.EquivalentTo(new[] { "elementwise", "relative-to-max", "cosine" }));
    }

    [TestCase("bash")]
    [TestCase("zsh")]
    [TestCase("pwsh")]
    [TestCase("powershell")]
    public void Each_shell_gets_a_script_that_asks_the_suggest_directive(string shell)
    {
        var (code, stdout, stderr) = Run("completion", shell);
        Assert.That(code, Is.EqualTo(Program.Ok), stderr);
        Assert.That(stdout, Does.Contain("modelbridge \"[suggest:").And.Contain(shell.StartsWith('p') ? "Register-ArgumentCompleter" : "modelbridge"));
    }

    [Test]
    public void The_bash_script_completes_through_the_installed_command()
    {
        if (OperatingSystem.IsWindows() || !File.Exists("/bin/bash"))
        {
            Assert.Ignore("bash is not installed");
            return;
        }
        using TempDir dir = TestPaths.NewTempDir();
        // A `modelbridge` on PATH that runs this build, as `dotnet tool install` would provide.
        string apphost = Path.Combine(AppContext.BaseDirectory, "ModelBridge.Cli");
        string launcher = dir.File("modelbridge");
        File.WriteAllText(launcher, File.Exists(apphost)
            ? $"#!/bin/sh\nexec '{apphost}' \"$@\"\n"
            : $"#!/bin/sh\nexec dotnet '{Path.Combine(AppContext.BaseDirectory, "ModelBridge.Cli.dll")}' \"$@\"\n");
        File.SetUnixFileMode(launcher, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.WriteAllText(dir.File("modelbridge.bash"), CompletionCommand.Script("bash"));
        const string line = "modelbridge check model.onnx --target ort-";
        string probe = $"""
            source '{dir.File("modelbridge.bash")}'
            COMP_LINE='{line}'; COMP_POINT=${"{#COMP_LINE}"}
            COMP_WORDS=(modelbridge check model.onnx --target ort-); COMP_CWORD=4
            _modelbridge_complete
            printf '%s\n' "${"{COMPREPLY[@]}"}"
            """;
        var psi = new ProcessStartInfo("/bin/bash", ["-c", probe]) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment["PATH"] = dir.Path + ":" + Environment.GetEnvironmentVariable("PATH");
        using Process p = Process.Start(psi)!;
        string stdout = p.StandardOutput.ReadToEnd(), stderr = p.StandardError.ReadToEnd();
        Assert.That(p.WaitForExit(60_000), Is.True);
        Assert.That(p.ExitCode, Is.Zero, stderr);
        Assert.That(stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries),
            Is.EquivalentTo(TargetProfile.BuiltInNames.Where(n => n.StartsWith("ort-", StringComparison.Ordinal))));
    }

    [Test]
    public void The_bash_script_is_valid_bash()
    {
        if (!File.Exists("/bin/bash"))
        {
            Assert.Ignore("bash is not installed");
        }
        using TempDir dir = TestPaths.NewTempDir();
        File.WriteAllText(dir.File("c.bash"), CompletionCommand.Script("bash"));
        using Process p = Process.Start(new ProcessStartInfo("/bin/bash", ["-n", dir.File("c.bash")]) { RedirectStandardError = true })!;
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.That(p.ExitCode, Is.Zero, stderr);
    }
}
