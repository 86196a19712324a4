using ModelBridge.Cli;

namespace ModelBridge.Tests.Profiles;

/// <summary><c>modelbridge check</c> and <c>modelbridge profile</c> through the real command tree.</summary>
[TestFixture]
[NonParallelizable]
public sealed class CliTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliHarness.Run(args);

    private static string Fixture(string name) => CliHarness.Fixture(name);

    [Test]
    public void Check_exits_with_Unsupported_and_lists_the_reasons()
    {
        var (code, output, _) = Run("check", Fixture("resnext_block"), "--target", "tflite-builtins");
        Assert.That(code, Is.EqualTo(Program.Unsupported));
        Assert.That(code, Is.Not.Zero);
        Assert.That(output, Does.Contain("7/8 nodes supported").And.Contain("[groupPolicy] group=8").And.Contain("island"));
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
        Assert.That(code, Is.Not.Zero);
        Assert.That(err, Does.Contain("no-such-target"));
    }

    [TestCase("scope")]
    [TestCase("op")]
    [TestCase("node")]
    public void Profile_prints_groups(string by)
    {
        var (code, output, _) = Run("profile", Fixture("retinanet_mbv2_gn_op13"), "--by", by, "--depth", "2");
        Assert.That(code, Is.EqualTo(Program.Ok));
        Assert.That(output, Does.Contain("MACs"));
        if (by == "scope")
        {
            Assert.That(output, Does.Contain("/head/cls_subnet"));
        }
    }

    [Test]
    public void Profile_json_and_set_dim()
    {
        var (code, output, _) = Run("profile", Fixture("dynamic_batch"), "--json", "--set-dim", "N=1");
        Assert.That(code, Is.EqualTo(Program.Ok));
        Assert.That(output, Does.Contain("\"groups\"").And.Contain("\"macs\""));
    }

    [Test]
    public void Prepare_pins_symbolic_dims_and_infers_shapes()
    {
        using Model m = Model.Load(Fixture("dynamic_batch"));
        ProfileCommand.Prepare(m, new Dictionary<string, long> { ["N"] = 2 });
        Assert.That(m.Graph.Inputs[0].Type!.Shape!.ToString(), Is.EqualTo("[2,3,32,32]"));
        Assert.That(m.Graph.TopologicalOrder()[0].Outputs[0]!.Type!.Shape!.IsStatic, Is.True, "Prepare infers shapes");
        Assert.That(m.Graph.Outputs[0].Type!.Shape!.ToString(), Is.EqualTo("[2,10]"));
    }
}
