using ModelBridge.Profiles;
using ModelBridge.Rewriting;
using ModelBridge.Verify;

namespace ModelBridge.Tests;

[TestFixture]
public sealed class ConversionTests
{
    private static readonly Dictionary<string, long> Batch1 = new() { ["N"] = 1 };

    [TestCase("retinanet_mbv2_gn_op11")]
    [TestCase("retinanet_mbv2_gn_op13")]
    [TestCase("retinanet_mbv2_gn_op17")]
    [TestCase("fcos_gn_op13")]
    public void Nnapi_conversion_removes_norms_and_shape_and_matches_pytorch(string fixture)
    {
        string dir = Path.Combine(TestPaths.Fixtures, fixture);
        using Model original = Model.Load(Path.Combine(dir, "model.onnx"));
        byte[] before = original.ToBytes();
        ConversionResult r = ModelConverter.Convert(original, TargetProfile.BuiltIn("ort-nnapi"), new ConvertOptions { Dims = Batch1 });
        using Model converted = r.Model;

        string[] banned = ["InstanceNormalization", "GroupNormalization", "Shape"];
        Assert.That(converted.Graph.Nodes.Where(n => banned.Contains(n.OpType)), Is.Empty);
        Assert.That(r.Statistics.Where(s => s.Id == "fuse-groupnorm").Sum(s => s.Matches), Is.EqualTo(original.Graph.Nodes.Count(n => n.OpType == "InstanceNormalization")));
        Assert.That(original.ToBytes(), Is.EqualTo(before), "the input model is never changed");
        Assert.That(converted.Graph.Outputs.Select(o => o.Name), Is.EqualTo(original.Graph.Outputs.Select(o => o.Name)));

        TestDataSet data = TestDataSet.Read(Path.Combine(dir, "test_data_set_0"), original);
        var outputs = Numerics.Run(converted, data.InputsByName());
        foreach (var (name, expected) in data.OutputsByName())
        {
            double err = Numerics.RelativeToMax(expected, outputs[name]);
            Assert.That(err, Is.LessThanOrEqualTo(1e-4), $"{name}: relative-to-max error {err:G3} against PyTorch");
        }
    }

    [Test]
    public void Tensor_map_pairs_every_surviving_conv_output_with_its_original()
    {
        string dir = Path.Combine(TestPaths.Fixtures, "retinanet_mbv2_gn_op13");
        using Model original = Model.Load(Path.Combine(dir, "model.onnx"));
        ConversionResult r = ModelConverter.Convert(original, TargetProfile.BuiltIn("ort-nnapi"), new ConvertOptions { Dims = Batch1 });
        using Model converted = r.Model;
        var convOutputs = converted.Graph.Nodes.Where(n => n.OpType == "Conv").Select(n => n.Outputs[0]!.Name).ToList();
        Assert.That(convOutputs, Has.Count.EqualTo(original.Graph.Nodes.Count(n => n.OpType == "Conv")));
        foreach (string name in convOutputs)
        {
            TensorOrigin? o = r.TensorMap.Get(name);
            Assert.That(o?.Original, Is.Not.Null, $"conv output '{name}' is mapped");
            Assert.That(original.Graph.FindValue(o!.Original!), Is.Not.Null, $"'{o.Original}' exists in the original");
        }
        // The map survives a JSON round trip.
        Assert.That(ProvenanceMap.FromJson(r.TensorMap.ToJson()).ToJson(), Is.EqualTo(r.TensorMap.ToJson()));

        // A sample of pairs, checked numerically in ORT.
        var sample = convOutputs.Where((_, i) => i % 9 == 0).ToList();
        var inputs = Numerics.Inputs(original, seed: 3);
        var fromOriginal = Numerics.Run(original, inputs, sample.Select(n => r.TensorMap.Get(n)!.Original!));
        var fromConverted = Numerics.Run(converted, inputs, sample);
        foreach (string name in sample)
        {
            TensorOrigin o = r.TensorMap.Get(name)!;
            double err = Numerics.RelativeToMax(fromOriginal[o.Original!], fromConverted[name]);
            Assert.That(err, Is.LessThanOrEqualTo(1e-4), $"'{name}' vs original '{o.Original}': {err:G3} (passes: {string.Join(",", o.Passes)})");
        }
    }

    [Test]
    public void Conversion_of_the_same_model_is_deterministic()
    {
        string path = Path.Combine(TestPaths.Fixtures, "retinanet_mbv2_gn_op11", "model.onnx");
        using Model a = Model.Load(path);
        using Model b = Model.Load(path);
        ConversionResult ra = ModelConverter.Convert(a, TargetProfile.BuiltIn("tflite-builtins"), new ConvertOptions { Dims = Batch1 });
        ConversionResult rb = ModelConverter.Convert(b, TargetProfile.BuiltIn("tflite-builtins"), new ConvertOptions { Dims = Batch1 });
        Assert.That(ra.Model.ToBytes(), Is.EqualTo(rb.Model.ToBytes()));
        Assert.That(ra.TensorMap.ToJson(), Is.EqualTo(rb.TensorMap.ToJson()));
        ra.Model.Dispose();
        rb.Model.Dispose();
    }

    [Test]
    public void Disabled_pass_does_not_run()
    {
        using Model m = Model.Load(Path.Combine(TestPaths.Fixtures, "retinanet_mbv2_gn_op13", "model.onnx"));
        ConversionResult r = ModelConverter.Convert(m, TargetProfile.BuiltIn("ort-nnapi"),
            new ConvertOptions { Dims = Batch1, DisabledPasses = new HashSet<string> { "fuse-groupnorm" } });
        using Model converted = r.Model;
        Assert.That(r.Statistics.Select(s => s.Id), Has.None.EqualTo("fuse-groupnorm"));
        Assert.That(converted.Graph.Nodes.Count(n => n.OpType == "InstanceNormalization"), Is.EqualTo(20));
        Assert.That(r.Remaining.AllSupported, Is.False, "unsupported nodes are reported, not dropped");
        Assert.That(r.Remaining.Unsupported.Select(n => n.OpType), Has.Some.EqualTo("InstanceNormalization"));
    }

    [Test]
    public void Converting_models_on_several_threads_gives_the_same_results()
    {
        string[] fixtures = ["retinanet_mbv2_gn_op13", "fcos_gn_op13", "mobilenet_v2", "resnet_small"];
        string Convert(string f)
        {
            using Model m = Model.Load(Path.Combine(TestPaths.Fixtures, f, "model.onnx"));
            ConversionResult r = ModelConverter.Convert(m, TargetProfile.BuiltIn("ort-nnapi"), new ConvertOptions { Dims = Batch1 });
            using Model c = r.Model;
            return Convert64(c.ToBytes()) + r.TensorMap.ToJson();
        }
        static string Convert64(byte[] b) => System.Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(b));
        var sequential = fixtures.Select(Convert).ToList();
        var parallel = new string[fixtures.Length * 2];
        Parallel.For(0, parallel.Length, i => parallel[i] = Convert(fixtures[i % fixtures.Length]));
        for (int i = 0; i < parallel.Length; i++)
        {
            Assert.That(parallel[i], Is.EqualTo(sequential[i % fixtures.Length]));
        }
    }
}
