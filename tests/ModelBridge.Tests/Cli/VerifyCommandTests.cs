using System.Text.Json;
using ModelBridge.Cli;

namespace ModelBridge.Tests;

/// <summary><c>modelbridge verify</c> through the real command tree.</summary>
[TestFixture]
[NonParallelizable]
public sealed class VerifyCliTests
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
}
