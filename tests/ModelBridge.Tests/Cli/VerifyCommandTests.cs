using System.Text.Json;
using ModelBridge.Cli;

namespace ModelBridge.Tests.Cli;

/// <summary><c>modelbridge verify</c> through the real entry point.</summary>
[TestFixture]
[NonParallelizable]
public sealed class VerifyCommandTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliHarness.Run(args);

    private static string Fixture(string name) => CliHarness.Fixture(name);

    [Test]
    public void Converted_model_verifies_with_its_map_and_writes_reports()
    {
        string dir = Path.Combine(Path.GetTempPath(), "mb-verify-" + Guid.NewGuid().ToString("N"));
        try
        {
            string output = Path.Combine(dir, "out.onnx");
            Assert.That(Run("convert", Fixture("resnet_small"), "-t", "tflite-builtins", "-o", output).Code, Is.EqualTo(Program.Ok));
            var (code, stdout, stderr) = Run("verify", Fixture("resnet_small"), output, "--target", "tflite-builtins", "--report", Path.Combine(dir, "report"));
            Assert.That(code, Is.EqualTo(Program.Ok), stdout + stderr);
            Assert.That(stdout, Does.Contain("within tolerance"));
            Assert.That(stderr, Does.Contain("[compare"), "progress on stderr");
            using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "report", "parity.json")));
            Assert.That(doc.RootElement.GetProperty("passed").GetBoolean(), Is.True);
            Assert.That(doc.RootElement.GetProperty("run").GetProperty("target").GetString(), Is.EqualTo("tflite-builtins"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void A_perturbed_model_fails_with_exit_code_4()
    {
        string dir = Path.Combine(Path.GetTempPath(), "mb-verify-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            using Model m = Model.Load(Fixture("mobilenet_v1"));
            Graph g = m.Graph;
            Node conv = g.TopologicalOrder().Where(n => n.OpType == "Conv").ElementAt(3);
            Tensor w = conv.Inputs[1]!.Initializer!;
            g.SetInput(conv, 1, g.AddInitializer("perturbed", Tensor.Create<float>([.. w.Dims], w.ToFloatArray().Select(v => v * 1.01f).ToArray())));
            string perturbed = Path.Combine(dir, "perturbed.onnx");
            m.Save(perturbed);
            var (code, stdout, _) = Run("verify", Fixture("mobilenet_v1"), perturbed, "--random", "2", "--seed", "1", "--max-memory", "1MB");
            Assert.That(code, Is.EqualTo(Program.ParityFailed), stdout);
            Assert.That(stdout, Does.Contain("first divergence at '" + conv.Outputs[0]!.Name + "'"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void Bad_arguments_are_usage_errors()
    {
        Assert.That(Run("verify", Fixture("mobilenet_v1"), Fixture("mobilenet_v1"), "--rule", "nope").Code, Is.EqualTo(Program.Usage));
        Assert.That(Run("verify", Fixture("mobilenet_v1"), Fixture("mobilenet_v1"), "--max-memory", "lots").Code, Is.EqualTo(Program.Usage));
        Assert.That(Run("verify", Fixture("mobilenet_v1"), "missing.onnx").Code, Is.EqualTo(Program.Usage));
    }

    [Test]
    public void Verify_json_prints_the_report_summary_as_one_document()
    {
        using TempDir dir = TestPaths.NewTempDir();
        string output = dir.File("out.onnx");
        Assert.That(Run("convert", Fixture("resnet_small"), "-t", "tflite-builtins", "-o", output).Code, Is.EqualTo(Program.Ok));
        var (code, stdout, stderr) = Run("verify", Fixture("resnet_small"), output, "--target", "tflite-builtins", "--json");
        Assert.That(code, Is.EqualTo(Program.Ok), stderr);
        using JsonDocument doc = CliHarness.SingleJson(stdout);
        JsonElement root = doc.RootElement;
        Assert.That(root.GetProperty("format").GetString(), Is.EqualTo("modelbridge-parity-summary/1"));
        Assert.That(root.GetProperty("passed").GetBoolean(), Is.True);
        Assert.That(root.GetProperty("compared").GetInt32(), Is.GreaterThan(10));
        Assert.That(root.GetProperty("diverging").GetInt32(), Is.Zero);
        Assert.That(root.GetProperty("firstDivergence").ValueKind, Is.EqualTo(JsonValueKind.Null));
        Assert.That(root.GetProperty("worst").GetArrayLength(), Is.EqualTo(10));
        Assert.That(root.GetProperty("run").GetProperty("target").GetString(), Is.EqualTo("tflite-builtins"));
        Assert.That(stderr, Does.Contain("[compare").And.Contain("within tolerance"), "progress and the verdict line on stderr");
    }

    [Test]
    public void Verify_json_of_a_divergence_carries_the_first_divergence_in_full()
    {
        using TempDir dir = TestPaths.NewTempDir();
        string perturbed = Perturbed(dir, out string diverging);
        var (code, stdout, _) = Run("verify", Fixture("mobilenet_v1"), perturbed, "--random", "1", "--json");
        Assert.That(code, Is.EqualTo(Program.ParityFailed));
        using JsonDocument doc = CliHarness.SingleJson(stdout);
        JsonElement first = doc.RootElement.GetProperty("firstDivergence");
        Assert.That(first.GetProperty("original").GetString(), Is.EqualTo(diverging));
        Assert.That(first.GetProperty("metrics").GetProperty("maxAbs").GetDouble(), Is.GreaterThan(0));
        JsonElement worst = doc.RootElement.GetProperty("worst")[0];
        Assert.That(worst.GetProperty("verdict").GetString(), Is.EqualTo("fail"));
    }

    [Test]
    public void Tolerance_flags_decide_the_verdict()
    {
        // Scaling one conv's weights by 1.01 puts a ~1% relative error on everything after it: beyond the
        // default rtol (1e-4), within --rtol 0.05.
        using TempDir dir = TestPaths.NewTempDir();
        string perturbed = Perturbed(dir, out _);
        Assert.That(Run("verify", Fixture("mobilenet_v1"), perturbed, "--random", "1").Code, Is.EqualTo(Program.ParityFailed));
        var (code, stdout, _) = Run("verify", Fixture("mobilenet_v1"), perturbed, "--random", "1", "--rtol", "0.05", "--atol", "1e-3");
        Assert.That(code, Is.EqualTo(Program.Ok), stdout);
        Assert.That(Run("verify", Fixture("mobilenet_v1"), perturbed, "--random", "1", "--rule", "cosine", "--cosine", "0.9").Code, Is.EqualTo(Program.Ok));
        Assert.That(Run("verify", Fixture("mobilenet_v1"), perturbed, "--random", "1", "--rule", "cosine", "--cosine", "1").Code, Is.EqualTo(Program.ParityFailed));
    }

    [Test]
    public void Tolerance_flags_replace_the_base_and_pass_contracts_still_widen_it()
    {
        // relative-to-max judges max|d|/max|ref| against rtol + atol/max|ref|: the threshold of an exact
        // tensor is the base alone, that of a fuse-groupnorm output the base plus the pass's contract.
        using TempDir dir = TestPaths.NewTempDir();
        string output = dir.File("out.onnx");
        Assert.That(Run("convert", Fixture("retinanet_mbv2_gn_op13"), "-t", "ort-nnapi", "-o", output).Code, Is.EqualTo(Program.Ok));
        var (code, _, stderr) = Run("verify", Fixture("retinanet_mbv2_gn_op13"), output, "--target", "ort-nnapi", "--rule", "relative-to-max",
            "--rtol", "0.001", "--atol", "0", "--report", dir.File("r"));
        Assert.That(code, Is.EqualTo(Program.Ok), stderr);
        using JsonDocument report = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.File("r"), "parity.json")));
        JsonElement run = report.RootElement.GetProperty("run");
        Assert.That((run.GetProperty("rtol").GetDouble(), run.GetProperty("atol").GetDouble()), Is.EqualTo((0.001, 0.0)));
        var tensors = report.RootElement.GetProperty("tensors").EnumerateArray().ToList();
        JsonElement exact = tensors.First(t => t.GetProperty("provenance").GetProperty("contract").GetProperty("exact").GetBoolean());
        Assert.That(exact.GetProperty("threshold").GetDouble(), Is.EqualTo(0.001).Within(1e-12));
        JsonElement widened = tensors.First(t => !t.GetProperty("provenance").GetProperty("contract").GetProperty("exact").GetBoolean());
        JsonElement contract = widened.GetProperty("provenance").GetProperty("contract");
        double maxRef = widened.GetProperty("metrics").GetProperty("referenceMaxMagnitude").GetDouble();
        double expected = 0.001 + contract.GetProperty("rtol").GetDouble() + (contract.GetProperty("atol").GetDouble() / maxRef);
        Assert.That(contract.GetProperty("rtol").GetDouble(), Is.GreaterThan(0));
        Assert.That(widened.GetProperty("threshold").GetDouble(), Is.EqualTo(expected).Within(1e-12));
    }

    [Test]
    public void A_split_conversion_is_verified_as_the_pair_its_manifest_names()
    {
        using TempDir dir = TestPaths.NewTempDir();
        string model = TailModels.Write(dir.File("erf.onnx"));
        string output = dir.File("out.onnx");
        Assert.That(Run("convert", model, "-t", "tflite-builtins", "-o", output, "--split-postprocess").Code, Is.EqualTo(Program.Ok));

        var (code, stdout, stderr) = Run("verify", model, output, "--report", dir.File("r"));
        Assert.That(code, Is.EqualTo(Program.Ok), stdout + stderr);
        Assert.That(stdout, Does.Contain("verify: out.onnx + out.post.onnx (stitched at 'a') against erf.onnx").And.Contain("within tolerance"));
        using JsonDocument report = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.File("r"), "parity.json")));
        Assert.That(report.RootElement.GetProperty("run").GetProperty("rewritten").GetString(), Is.EqualTo("out.onnx + out.post.onnx (stitched at 'a')"));
        Assert.That(report.RootElement.GetProperty("tensors").EnumerateArray().Select(t => t.GetProperty("name").GetString()), Does.Contain("y"), "the tail's output is compared");
        Assert.That(File.ReadAllText(Path.Combine(dir.File("r"), "parity.md")), Does.Contain("out.onnx + out.post.onnx (stitched at 'a')"));

        // Without the post model the main model alone still verifies (its outputs are original values).
        File.Delete(ConvertCommand.ManifestPathFor(output));
        var (alone, aloneOut, _) = Run("verify", model, output);
        Assert.That(alone, Is.EqualTo(Program.Ok));
        Assert.That(aloneOut, Does.Not.Contain("stitched"));

        var (explicitPost, explicitOut, _) = Run("verify", model, output, "--post", dir.File("out.post.onnx"));
        Assert.That(explicitPost, Is.EqualTo(Program.Ok));
        Assert.That(explicitOut, Does.Contain("stitched at 'a'"));
    }

    [Test]
    public void A_post_model_that_is_not_the_converted_models_tail_is_a_usage_error()
    {
        using TempDir dir = TestPaths.NewTempDir();
        string model = TailModels.Write(dir.File("erf.onnx"));
        string output = dir.File("out.onnx");
        Assert.That(Run("convert", model, "-t", "tflite-builtins", "-o", output, "--split-postprocess").Code, Is.EqualTo(Program.Ok));
        var (code, _, stderr) = Run("verify", model, output, "--post", output);
        Assert.That(code, Is.EqualTo(Program.Usage));
        CliHarness.AssertOneErrorLine(stderr);
        Assert.That(stderr, Does.Contain("--post: the models are not a split pair: Both models produce"));
    }

    private static string Perturbed(TempDir dir, out string diverging)
    {
        using Model m = Model.Load(Fixture("mobilenet_v1"));
        Graph g = m.Graph;
        Node conv = g.TopologicalOrder().Where(n => n.OpType == "Conv").ElementAt(3);
        Tensor w = conv.Inputs[1]!.Initializer!;
        g.SetInput(conv, 1, g.AddInitializer("perturbed", Tensor.Create<float>([.. w.Dims], w.ToFloatArray().Select(v => v * 1.01f).ToArray())));
        diverging = conv.Outputs[0]!.Name;
        string path = dir.File("perturbed.onnx");
        m.Save(path);
        return path;
    }

    [Test]
    public void Verify_judges_at_the_target_the_manifest_names()
    {
        using var dir = TestPaths.NewTempDir();
        string rfb = Path.Combine(TestPaths.Fixtures, "real", "version-RFB-320");
        string output = dir.File("rfb.onnx");
        Assert.That(Run("convert", Path.Combine(rfb, "model.onnx"), "-t", "ort-nnapi", "-o", output).Code, Is.EqualTo(Program.Ok));
        var (code, stdout, stderr) = Run("verify", Path.Combine(rfb, "model.onnx"), output, "--inputs", Path.Combine(rfb, "test_data_set_0"), "--json");
        Assert.That(code, Is.EqualTo(Program.Ok), stderr);
        Assert.That(stderr, Does.Contain("judging at ort-nnapi's tolerance"));
        using var doc = CliHarness.SingleJson(stdout);
        Assert.That(doc.RootElement.GetProperty("run").GetProperty("target").GetString(), Is.EqualTo("ort-nnapi"));
    }
}
