using ModelBridge.Cli;
using ModelBridge.Profiles;
using ModelBridge.Tests.Profiles;

namespace ModelBridge.Tests.Cli;

/// <summary><c>modelbridge check</c> through the real entry point.</summary>
[TestFixture]
[NonParallelizable]
public sealed class CheckCommandTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliHarness.Run(args);

    private static string Fixture(string name) => CliHarness.Fixture(name);

    [Test]
    public void Check_exits_with_Unsupported_and_lists_the_reasons()
    {
        var (code, output, _) = Run("check", Fixture("resnext_block"), "--target", "tflite-builtins");
        Assert.That(code, Is.EqualTo(Program.Unsupported));
        Assert.That(code, Is.Not.Zero);
        Assert.That(output, Does.Contain("7/8 nodes supported").And.Contain("[groupPolicy] group=8")
            .And.Contain("tflite-builtins has no CPU fallback: the model does not run there until every node is supported"));
    }

    [Test]
    public void Check_on_a_fallback_target_lists_the_partitions()
    {
        using TempDir dir = TestPaths.NewTempDir();
        string model = TailModels.Write(dir.File("erf.onnx"), convAfter: true);
        var (code, output, _) = Run("check", model, "--target", "ort-coreml-mlprogram");
        Assert.That(code, Is.EqualTo(Program.Unsupported));
        Assert.That(output, Does.Contain("3/4 nodes supported (75.0%)")
            .And.Contain("ort-coreml-mlprogram falls back to the CPU: 2 partition(s) on ort-coreml-mlprogram hold 3/4 nodes and 100.0% of 800 known MACs")
            .And.Contain("'conv_a' .. 'relu'").And.Contain("'conv_d' .. 'conv_d'"));
    }

    [Test]
    public void Check_exits_zero_when_every_node_is_supported()
    {
        var (code, output, _) = Run("check", Fixture("resnext_block"), "--target", "ort-nnapi");
        Assert.That(code, Is.EqualTo(Program.Ok), output);
        Assert.That(output, Does.Contain("every node is supported"));
    }

    [Test]
    public void Check_accepts_a_profile_path_and_json_output()
    {
        using TempDir dir = TestPaths.NewTempDir();
        string path = dir.File("mine.json");
        File.WriteAllText(path, ConstraintMatrixTests.CustomProfileJson);
        var (code, output, _) = Run("check", Fixture("resnext_block"), "--target", path, "--json");
        Assert.That(code, Is.EqualTo(Program.Unsupported));
        Assert.That(output, Does.Contain("\"target\": \"custom-test\"").And.Contain("\"constraint\": \"op\""));
    }

    [Test]
    public void Check_with_a_bad_profile_is_a_usage_error_naming_the_key()
    {
        using TempDir dir = TestPaths.NewTempDir();
        string path = dir.File("bad.json");
        File.WriteAllText(path, ConstraintMatrixTests.CustomProfileJson.Replace("\"kernelSize\"", "\"kernelSise\"", StringComparison.Ordinal));
        var (code, _, err) = Run("check", Fixture("resnext_block"), "--target", path);
        Assert.That(code, Is.EqualTo(Program.Usage));
        Assert.That(err, Does.Contain("ops.Conv.kernelSise"));
    }

    [Test]
    public void Check_with_an_unknown_target_is_a_usage_error()
    {
        var (code, _, err) = Run("check", Fixture("resnext_block"), "--target", "no-such-target");
        Assert.That(code, Is.EqualTo(Program.Usage));
        Assert.That(err, Does.Contain("no-such-target"));
    }

    [Test]
    public void A_mistyped_target_lists_the_built_in_names_and_the_closest()
    {
        var (code, _, err) = Run("check", Fixture("resnext_block"), "--target", "tflite-bultins");
        Assert.That(code, Is.EqualTo(Program.Usage));
        CliHarness.AssertOneErrorLine(err);
        Assert.That(err, Does.Contain("did you mean 'tflite-builtins'?"));
        foreach (string name in TargetProfile.BuiltInNames)
        {
            Assert.That(err, Does.Contain(name));
        }
    }

    [Test]
    public void A_target_far_from_every_name_gets_no_guess()
    {
        var (_, _, err) = Run("check", Fixture("resnext_block"), "--target", "hexagon");
        Assert.That(err, Does.Not.Contain("did you mean").And.Contain("unknown target 'hexagon'. Built-in targets:"));
    }

    [Test]
    public void Check_json_is_exactly_one_document()
    {
        var (code, stdout, _) = Run("check", Fixture("resnext_block"), "--target", "tflite-builtins", "--json");
        Assert.That(code, Is.EqualTo(Program.Unsupported));
        using var doc = CliHarness.SingleJson(stdout);
        Assert.That(doc.RootElement.GetProperty("allSupported").GetBoolean(), Is.False);
    }
}
