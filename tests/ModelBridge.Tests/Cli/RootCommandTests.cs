using System.Text.RegularExpressions;
using ModelBridge.Cli;
using ModelBridge.Profiles;

namespace ModelBridge.Tests.Cli;

/// <summary>The root command: help that names <c>modelbridge</c> with examples, <c>--version</c>, and the exit codes README documents.</summary>
[TestFixture]
[NonParallelizable]
public sealed partial class RootCommandTests
{
    private static readonly string[] Verbs = ["inspect", "check", "profile", "convert", "verify", "completion"];

    private static (int Code, string Out, string Err) Run(params string[] args) => CliHarness.Run(args);

    [Test]
    public void Root_help_names_modelbridge_lists_every_verb_examples_and_exit_codes()
    {
        var (code, stdout, _) = Run("--help");
        Assert.That(code, Is.EqualTo(Program.Ok));
        Assert.That(stdout, Does.Contain("Usage:\n  modelbridge [command] [options]"));
        Assert.That(stdout, Does.Not.Contain("ModelBridge.Cli ").And.Not.Contain("testhost"));
        foreach (string verb in Verbs)
        {
            Assert.That(stdout, Does.Contain("\n  " + verb + " "), verb);
        }
        Assert.That(stdout, Does.Contain("Examples:\n  modelbridge "));
        foreach (var (exitCode, _) in CliHelp.ExitCodes)
        {
            Assert.That(stdout, Does.Match($"\\n  {exitCode} +\\S"), $"exit code {exitCode} listed");
        }
    }

    [TestCaseSource(nameof(Verbs))]
    public void Each_verb_help_names_modelbridge_and_ends_with_its_examples(string verb)
    {
        var (code, stdout, _) = Run(verb, "--help");
        Assert.That(code, Is.EqualTo(Program.Ok));
        Assert.That(stdout, Does.Contain($"Usage:\n  modelbridge {verb} "));
        int examples = stdout.IndexOf("\nExamples:\n", StringComparison.Ordinal);
        Assert.That(examples, Is.GreaterThan(0), "an Examples section");
        string[] lines = stdout[(examples + 11)..].Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Is.Not.Empty);
        Assert.That(lines, Has.All.StartWith($"  modelbridge {verb} ").Or.StartWith("  source <(modelbridge completion"));
    }

    [TestCase("convert")]
    [TestCase("check")]
    [TestCase("verify")]
    public void Target_help_lists_the_built_in_profiles(string verb)
    {
        var (_, stdout, _) = Run(verb, "--help");
        // The option's row, which help may wrap over several lines: up to the next option.
        int start = stdout.IndexOf("--target", StringComparison.Ordinal);
        int end = stdout.IndexOf("\n  -", start, StringComparison.Ordinal);
        string row = stdout[start..end];
        foreach (string name in TargetProfile.BuiltInNames)
        {
            Assert.That(row, Does.Contain(name));
        }
    }

    [Test]
    public void Help_is_shown_even_when_required_options_are_missing()
    {
        var (code, stdout, stderr) = Run("convert", "-h");
        Assert.That(code, Is.EqualTo(Program.Ok));
        Assert.That(stderr, Is.Empty);
        Assert.That(stdout, Does.Contain("--output"));
    }

    [Test]
    public void Version_prints_the_version()
    {
        var (code, stdout, _) = Run("--version");
        Assert.That(code, Is.EqualTo(Program.Ok));
        Assert.That(stdout.Trim(), Does.Match(@"^\d+\.\d+\.\d+"));
    }

    [Test]
    public void Readme_documents_every_exit_code()
    {
        string readme = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "README.md"));
        foreach (var (exitCode, _) in CliHelp.ExitCodes)
        {
            Assert.That(readme, Does.Match($@"\|\s*`?{exitCode}`?\s*\|"), $"README's exit-code table lists {exitCode}");
        }
        Assert.That(ExitCodeRow().Matches(readme).Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)),
            Is.EquivalentTo(CliHelp.ExitCodes.Select(e => e.Code)), "and no other");
    }

    [GeneratedRegex(@"^\|\s*`(\d+)`\s*\|", RegexOptions.Multiline)]
    private static partial Regex ExitCodeRow();
}
