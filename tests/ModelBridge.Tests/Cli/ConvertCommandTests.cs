using System.Security.Cryptography;
using System.Text.Json;
using ModelBridge.Cli;
using ModelBridge.Rewriting;
using ModelBridge.Surgery;

namespace ModelBridge.Tests.Cli;

/// <summary><c>modelbridge convert</c> through the real entry point.</summary>
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
        var (code, output, err) = Run("convert", input, "--target", "ort-nnapi", "-o", dir.File("det.onnx"));
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
        var (code, output, err) = Run("convert", Fixture("fcos_gn_op13"), "--target", "ort-nnapi",
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
        var (code, _, err) = Run("convert", Fixture("retinanet_mbv2_gn_op13"), "--target", "tflite-builtins",
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
    public void Convert_json_is_exactly_one_document()
    {
        using var dir = TestPaths.NewTempDir();
        var (code, stdout, stderr) = Run("convert", Fixture("resnet_small"), "-t", "tflite-builtins", "-o", dir.File("out.onnx"), "--json");
        Assert.That(code, Is.EqualTo(Program.Ok), stderr);
        using var doc = CliHarness.SingleJson(stdout);
        Assert.That(doc.RootElement.GetProperty("output").GetString(), Is.EqualTo(dir.File("out.onnx")));
        Assert.That(doc.RootElement.TryGetProperty("parity", out _), Is.False, "no parity without --verify");
    }

    [Test]
    public void Convert_verify_json_is_one_document_with_the_parity_summary_and_progress_on_stderr()
    {
        using var dir = TestPaths.NewTempDir();
        var (code, stdout, stderr) = Run("convert", Fixture("fcos_gn_op13"), "--target", "ort-nnapi", "-o", dir.File("det.onnx"),
            "--verify", "--report", dir.File("report"), "--json");
        Assert.That(code, Is.EqualTo(Program.Ok), stderr);
        using var doc = CliHarness.SingleJson(stdout);
        JsonElement root = doc.RootElement;
        Assert.That(root.GetProperty("allSupported").GetBoolean(), Is.True);
        JsonElement parity = root.GetProperty("parity");
        Assert.That(parity.GetProperty("format").GetString(), Is.EqualTo("modelbridge-parity-summary/1"));
        Assert.That(parity.GetProperty("passed").GetBoolean(), Is.True);
        Assert.That(parity.GetProperty("run").GetProperty("rewritten").GetString(), Is.EqualTo("det.onnx"), "the converted file's own name");
        Assert.That(parity.GetProperty("reports").EnumerateArray().Select(e => Path.GetFileName(e.GetString())),
            Is.EqualTo(new[] { "parity.json", "parity.md", "parity.html" }));
        Assert.That(stderr, Does.Contain("[compare").And.Contain("within tolerance").And.Contain("wrote"));
    }

    [Test]
    public void Convert_verify_reports_name_the_converted_file()
    {
        using var dir = TestPaths.NewTempDir();
        var (code, _, err) = Run("convert", Fixture("resnet_small"), "--target", "ort-nnapi", "-o", dir.File("resnet_nnapi.onnx"), "--verify", "--report", dir.File("r"));
        Assert.That(code, Is.EqualTo(Program.Ok), err);
        string html = File.ReadAllText(Path.Combine(dir.File("r"), "parity.html"));
        Assert.That(html, Does.Contain("<code>resnet_nnapi.onnx</code> (converted) against <code>model.onnx</code> (original)"));
        Assert.That(File.ReadAllText(Path.Combine(dir.File("r"), "parity.md")), Does.Contain("`resnet_nnapi.onnx` (converted) against `model.onnx` (original)"));
    }

    [Test]
    public void Convert_verify_takes_the_tolerance_flags_over_the_targets()
    {
        using var dir = TestPaths.NewTempDir();
        var (code, stdout, stderr) = Run("convert", Fixture("resnet_small"), "--target", "ort-nnapi", "-o", dir.File("o.onnx"),
            "--verify", "--json", "--atol", "0.002", "--rtol", "0.03", "--cosine", "0.99");
        Assert.That(code, Is.EqualTo(Program.Ok), stderr);
        using var doc = CliHarness.SingleJson(stdout);
        JsonElement run = doc.RootElement.GetProperty("parity").GetProperty("run");
        Assert.That((run.GetProperty("atol").GetDouble(), run.GetProperty("rtol").GetDouble(), run.GetProperty("cosineFloor").GetDouble()), Is.EqualTo((0.002, 0.03, 0.99)));
    }

    [Test]
    public void Input_shape_makes_the_converted_inputs_static()
    {
        using var dir = TestPaths.NewTempDir();
        var (code, _, err) = Run("convert", Fixture("dynamic_batch"), "--target", "ort-nnapi", "-o", dir.File("o.onnx"), "--input-shape", "input=1,3,32,32");
        Assert.That(code, Is.EqualTo(Program.Ok), err);
        using Model converted = Model.Load(dir.File("o.onnx"));
        Assert.That(converted.Graph.Inputs[0].DeclaredType!.Shape!.ToString(), Is.EqualTo("[1,3,32,32]"));
        Assert.That(converted.Graph.Outputs[0].DeclaredType!.Shape!.ToString(), Is.EqualTo("[1,10]"));
    }

    [Test]
    public void A_refused_flag_writes_nothing()
    {
        using var dir = TestPaths.NewTempDir();
        var (code, _, _) = Run("convert", Fixture("dynamic_batch"), "--target", "ort-nnapi", "-o", dir.File("o.onnx"), "--set-dim", "B=1");
        Assert.That(code, Is.EqualTo(Program.Usage));
        Assert.That(Directory.GetFileSystemEntries(dir.Path), Is.Empty);
    }

    [Test]
    public void Initializer_inputs_become_constants_and_the_summary_says_so()
    {
        using var dir = TestPaths.NewTempDir();
        string rfb = Path.Combine(TestPaths.Fixtures, "real", "version-RFB-320", "model.onnx");
        var (code, stdout, err) = Run("convert", rfb, "--target", "tflite-builtins", "-o", dir.File("rfb.onnx"));
        Assert.That(code, Is.EqualTo(Program.Ok), err);
        Assert.That(stdout, Does.Contain("244 initializer(s) were also listed as graph inputs"));
        using (Model converted = Model.Load(dir.File("rfb.onnx")))
        {
            Assert.That(converted.Graph.Inputs.Select(v => v.Name), Is.EqualTo(new[] { "input" }));
        }
        var (json, jsonOut, _) = Run("convert", rfb, "--target", "tflite-builtins", "-o", dir.File("rfb2.onnx"), "--json");
        using var doc = CliHarness.SingleJson(jsonOut);
        Assert.That(doc.RootElement.GetProperty("notices")[0].GetString(), Does.Contain("--keep-initializer-inputs"));

        Run("convert", rfb, "--target", "tflite-builtins", "-o", dir.File("kept.onnx"), "--keep-initializer-inputs");
        using Model kept = Model.Load(dir.File("kept.onnx"));
        Assert.That(kept.Graph.Inputs, Has.Count.EqualTo(245), "--keep-initializer-inputs keeps them overridable");
    }

    [Test]
    public void A_target_without_cpu_fallback_exits_3_while_a_node_is_unsupported_and_still_writes_the_output()
    {
        using var dir = TestPaths.NewTempDir();
        string model = TailModels.Write(dir.File("erf.onnx"));
        var (code, output, err) = Run("convert", model, "-t", "tflite-builtins", "-o", dir.File("out.onnx"));
        Assert.That(code, Is.EqualTo(Program.Unsupported), err);
        Assert.That(output, Does.Contain("still unsupported on tflite-builtins (1):").And.Contain("Erf 'erf'")
            .And.Contain("tflite-builtins has no CPU fallback: the model does not run there until every node is supported"));
        Assert.That(err, Does.Contain("tflite-builtins has no CPU fallback and 1 node(s) are still unsupported: exit code 3"));
        Assert.That(File.Exists(dir.File("out.onnx")) && File.Exists(dir.File("out.map.json")) && File.Exists(dir.File("out.manifest.json")), Is.True,
            "the output is written so it can be inspected");
        Assert.That(File.Exists(dir.File("out.post.onnx")), Is.False);
    }

    [Test]
    public void A_fallback_target_exits_0_and_prints_the_partitions_and_the_mac_share()
    {
        using var dir = TestPaths.NewTempDir();
        string model = TailModels.Write(dir.File("erf.onnx"), convAfter: true);
        var (code, output, err) = Run("convert", model, "-t", "ort-nnapi", "-o", dir.File("out.onnx"));
        Assert.That(code, Is.EqualTo(Program.Ok), err);
        // conv_a and relu in wave 1; Erf deferred; conv_d in wave 2. conv_a and conv_d have 1x4x5x5 outputs (100 values) x 4 input channels = 400 MACs each.
        Assert.That(output, Does.Contain("ort-nnapi falls back to the CPU: 2 partition(s) on ort-nnapi hold 3/4 nodes and 100.0% of 800 known MACs"));
        Assert.That(output, Does.Contain("'conv_a' .. 'relu'").And.Contain("'conv_d' .. 'conv_d'"));

        var (jsonCode, stdout, _) = Run("convert", model, "-t", "ort-nnapi", "-o", dir.File("out2.onnx"), "--json");
        Assert.That(jsonCode, Is.EqualTo(Program.Ok));
        using var doc = CliHarness.SingleJson(stdout);
        JsonElement partition = doc.RootElement.GetProperty("partition");
        Assert.That((partition.GetProperty("count").GetInt32(), partition.GetProperty("fallsBackToCpu").GetBoolean(), partition.GetProperty("macShare").GetDouble()), Is.EqualTo((2, true, 1.0)));
        Assert.That(partition.GetProperty("partitions").EnumerateArray().Select(p => string.Join(",", p.GetProperty("nodes").EnumerateArray().Select(n => n.GetString()))),
            Is.EqualTo(new[] { "conv_a,relu", "conv_d" }));
        Assert.That(partition.GetProperty("partitions")[0].GetProperty("macs").GetInt64(), Is.EqualTo(400));
    }

    [Test]
    public void Split_postprocess_writes_both_models_and_names_the_tensors_between_them()
    {
        using var dir = TestPaths.NewTempDir();
        string model = TailModels.Write(dir.File("erf.onnx"));
        var (code, output, err) = Run("convert", model, "-t", "tflite-builtins", "-o", dir.File("out.onnx"), "--split-postprocess");
        Assert.That(code, Is.EqualTo(Program.Ok), err + output);
        Assert.That(output, Does.Contain("split: 2 post-processing node(s) moved to out.post.onnx, to run on the CPU: Erf 'erf', Mul 'scale'")
            .And.Contain("split: tensors passed from out.onnx to out.post.onnx: a")
            .And.Contain("every node of out.onnx is supported by tflite-builtins")
            .And.Contain("wrote " + dir.File("out.post.onnx")));
        using Model main = Model.Load(dir.File("out.onnx"));
        using Model post = Model.Load(dir.File("out.post.onnx"));
        Assert.That(main.Graph.Nodes.Select(n => n.OpType), Is.EquivalentTo(new[] { "Conv", "Relu" }));
        Assert.That(main.Graph.Outputs.Select(o => o.Name), Is.EqualTo(new[] { "z", "a" }));
        Assert.That(post.Graph.Inputs.Select(i => i.Name), Is.EqualTo(new[] { "a" }));
        Assert.That(post.Graph.Outputs.Select(o => o.Name), Is.EqualTo(new[] { "y" }));
        OutputManifest manifest = OutputManifest.FromJson(File.ReadAllText(dir.File("out.manifest.json")));
        Assert.That(manifest.Outputs.Select(o => o.Name), Is.EqualTo(new[] { "y", "z" }), "the pair's outputs, as the original's");
        Assert.That(manifest.Postprocess!.Model, Is.EqualTo("out.post.onnx"));
        Assert.That(manifest.Postprocess.Tensors.Select(t => (t.Name, t.Index, t.DType, string.Join("x", t.Shape!))), Is.EqualTo(new[] { ("a", 1, "float", "1x4x5x5") }));
        Assert.That(manifest.Postprocess.Outputs, Is.EqualTo(new[] { "y" }));
        Assert.That(manifest.Postprocess.Nodes.Select(n => n.Op), Is.EqualTo(new[] { "Erf", "Mul" }));
        ProvenanceMap map = ProvenanceMap.FromJson(File.ReadAllText(dir.File("out.map.json")));
        Assert.That(new[] { "a", "z", "e", "y" }.Select(n => map.Get(n)?.Original), Is.EqualTo(new[] { "a", "z", "e", "y" }), "one map covers both models");
    }

    [Test]
    public void Split_postprocess_is_refused_in_one_line_naming_the_blocking_node_and_writes_nothing()
    {
        using var dir = TestPaths.NewTempDir();
        string model = TailModels.Write(dir.File("erf.onnx"), convAfter: true);
        var (code, stdout, err) = Run("convert", model, "-t", "tflite-builtins", "-o", dir.File("out.onnx"), "--split-postprocess", "--json");
        Assert.That(code, Is.EqualTo(Program.Unsupported));
        CliHarness.AssertOneErrorLine(err);
        Assert.That(err, Does.Contain("error: --split-postprocess: the unsupported nodes are not a post-processing tail: Conv 'conv_d' (400 MACs) runs after the unsupported Erf 'erf'"));
        Assert.That(stdout, Is.Empty);
        Assert.That(Directory.GetFiles(dir.Path), Is.EqualTo(new[] { model }));
    }

    [Test]
    public void Split_postprocess_writes_all_files_or_none()
    {
        using var dir = TestPaths.NewTempDir();
        string model = TailModels.Write(dir.File("erf.onnx"));
        Directory.CreateDirectory(dir.File("out.post.onnx")); // the post model cannot be written over a folder
        var (code, _, err) = Run("convert", model, "-t", "tflite-builtins", "-o", dir.File("out.onnx"), "--split-postprocess");
        Assert.That(code, Is.EqualTo(Program.IoError), err);
        CliHarness.AssertOneErrorLine(err);
        Assert.That(Directory.GetFiles(dir.Path), Is.EqualTo(new[] { model }), "no main model, map or manifest without the post model");
    }

    [Test]
    public void Split_postprocess_with_verify_checks_the_stitched_pair_in_one_json_document()
    {
        using var dir = TestPaths.NewTempDir();
        string model = TailModels.Write(dir.File("erf.onnx"));
        var (code, stdout, err) = Run("convert", model, "-t", "ncnn", "-o", dir.File("out.onnx"), "--split-postprocess", "--verify", "--json");
        Assert.That(code, Is.EqualTo(Program.Ok), err);
        using var doc = CliHarness.SingleJson(stdout);
        JsonElement root = doc.RootElement;
        Assert.That(root.GetProperty("allSupported").GetBoolean(), Is.True);
        Assert.That(root.GetProperty("postprocess").GetProperty("tensors").EnumerateArray().Select(t => t.GetString()), Is.EqualTo(new[] { "a" }));
        Assert.That(root.GetProperty("parity").GetProperty("passed").GetBoolean(), Is.True);
        Assert.That(root.GetProperty("parity").GetProperty("run").GetProperty("rewritten").GetString(), Is.EqualTo("out.onnx + out.post.onnx (stitched at 'a')"));
        Assert.That(root.GetProperty("parity").GetProperty("compared").GetInt32(), Is.EqualTo(4), "a, e, y and z: the post model's tensors are compared too");
        Assert.That(err, Does.Contain("verify: out.onnx + out.post.onnx (stitched at 'a') against erf.onnx"));
    }
}
