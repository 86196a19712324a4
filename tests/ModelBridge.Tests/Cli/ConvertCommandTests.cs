using System.Security.Cryptography;
using ModelBridge.Cli;
using ModelBridge.Rewriting;
using ModelBridge.Surgery;

namespace ModelBridge.Tests.Cli;

/// <summary><c>modelbridge convert</c> and <c>inspect</c> through the real command tree.</summary>
[TestFixture]
[NonParallelizable]
public sealed class ConvertCommandTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliHarness.Run(args);

    private static string Fixture(string name) => CliHarness.Fixture(name);

    [Test]
    public void Convert_writes_model_map_and_manifest_and_leaves_the_input_alone()
    {
        using var dir = TestPaths.NewTempDir();
        string input = Fixture("retinanet_mbv2_gn_op13");
        byte[] hash = SHA256.HashData(File.ReadAllBytes(input));
        var (code, output, err) = Run("convert", input, "--target", "ort-nnapi", "--set-dim", "N=1", "-o", dir.File("det.onnx"));
        Assert.That(code, Is.Zero, err);
        Assert.That(output, Does.Contain("fuse-groupnorm").And.Contain("decompose-groupnorm-moments").And.Contain("every node is supported"));
        Assert.That(File.Exists(dir.File("det.onnx")) && File.Exists(dir.File("det.map.json")) && File.Exists(dir.File("det.manifest.json")), Is.True);
        Assert.That(SHA256.HashData(File.ReadAllBytes(input)), Is.EqualTo(hash), "the input file is never modified");
        ProvenanceMap map = ProvenanceMap.FromJson(File.ReadAllText(dir.File("det.map.json")));
        Assert.That(map.Get("cls_p3")!.Original, Is.EqualTo("cls_p3"));
        using Model converted = Model.Load(dir.File("det.onnx"));
        Assert.That(converted.Graph.Nodes.Select(n => n.OpType), Has.None.EqualTo("InstanceNormalization").And.None.EqualTo("Shape"));
    }

    [Test]
    public void Convert_with_verify_writes_the_parity_reports()
    {
        using var dir = TestPaths.NewTempDir();
        var (code, output, err) = Run("convert", Fixture("fcos_gn_op13"), "--target", "ort-nnapi", "--set-dim", "N=1",
            "-o", dir.File("det.onnx"), "--verify", "--report", dir.File("report"));
        Assert.That(code, Is.Zero, err + output);
        Assert.That(output, Does.Contain("within tolerance"));
        foreach (string f in new[] { "parity.json", "parity.md", "parity.html" })
        {
            Assert.That(File.Exists(Path.Combine(dir.File("report"), f)), Is.True, f);
        }
        Assert.That(File.ReadAllText(Path.Combine(dir.File("report"), "parity.html")), Does.Contain("<svg"));
    }

    [Test]
    public void Convert_refuses_to_overwrite_its_input_without_force()
    {
        using var dir = TestPaths.NewTempDir();
        string copy = dir.File("m.onnx");
        File.Copy(Fixture("resnet_small"), copy);
        byte[] before = File.ReadAllBytes(copy);
        var (code, _, err) = Run("convert", copy, "--target", "ort-nnapi", "-o", copy);
        Assert.That(code, Is.EqualTo(Program.Usage));
        Assert.That(err, Does.Contain("--force"));
        Assert.That(File.ReadAllBytes(copy), Is.EqualTo(before));
        Assert.That(Directory.GetFiles(dir.Path), Is.EqualTo(new[] { copy }));
    }

    [Test]
    public void Convert_with_surgery_drops_a_level_and_slices_classes()
    {
        using var dir = TestPaths.NewTempDir();
        var (code, _, err) = Run("convert", Fixture("retinanet_mbv2_gn_op13"), "--target", "tflite-builtins", "--set-dim", "N=1",
            "-o", dir.File("det.onnx"), "--drop-level", "P3", "--keep-classes", "0,2,4", "--rename-outputs", "output_{index}");
        Assert.That(code, Is.Zero, err);
        OutputManifest manifest = OutputManifest.FromJson(File.ReadAllText(dir.File("det.manifest.json")));
        string json = File.ReadAllText(dir.File("det.manifest.json"));
        Assert.That(json, Does.Contain("\"originalName\": \"cls_p4\"").And.Not.Contain("\"originalName\": \"cls_p3\""));
        using Model converted = Model.Load(dir.File("det.onnx"));
        Assert.That(converted.Graph.Outputs.Select(o => o.Name), Is.EqualTo(Enumerable.Range(0, 8).Select(i => $"output_{i}")));
        Assert.That(manifest, Is.Not.Null);
    }

    [Test]
    public void Bad_model_gives_exit_code_2_with_a_message()
    {
        using var dir = TestPaths.NewTempDir();
        File.WriteAllBytes(dir.File("bad.onnx"), [0x0a, 0xff, 0xff, 0x01]);
        var (code, _, err) = Run("convert", dir.File("bad.onnx"), "--target", "ort-nnapi", "-o", dir.File("out.onnx"));
        Assert.That(code, Is.EqualTo(Program.InvalidModel));
        Assert.That(err, Does.Contain("Malformed protobuf"));
        Assert.That(File.Exists(dir.File("out.onnx")), Is.False, "nothing is written for a bad model");
    }

    [Test]
    public void Inspect_prints_a_readable_summary_and_json()
    {
        var (code, output, _) = Run("inspect", Fixture("dynamic_batch"));
        Assert.That(code, Is.Zero);
        Assert.That(output, Does.Contain("float[N,3,32,32]").And.Contain("Conv").And.Contain("dynamic shape"));
        var (code2, json, _) = Run("inspect", Fixture("dynamic_batch"), "--json", "--set-dim", "N=1");
        Assert.That(code2, Is.Zero);
        using var doc = System.Text.Json.JsonDocument.Parse(json);
        Assert.That(doc.RootElement.GetProperty("outputs")[0].GetProperty("type").GetString(), Is.EqualTo("float[1,10]"));
        Assert.That(doc.RootElement.GetProperty("opHistogram").GetProperty("Conv").GetInt32(), Is.EqualTo(2));
    }
}
