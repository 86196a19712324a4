using ModelBridge.Passes;
using ModelBridge.Profiles;
using ModelBridge.Rewriting;
using ModelBridge.Verify;

namespace ModelBridge.Tests;

/// <summary>
/// Issue 14, item 5 on the Paddle2ONNX models in fixtures/real: HardSigmoid (and the spelled-out HardSwish
/// x·Clip(x + 3, 0, 6)/6) converted for ort-nnapi leave no refused Clip, and the converted models match ORT on the
/// original graph, on the committed photographs, at 1e-4 relative to max.
/// </summary>
[TestFixture]
public sealed class ActivationLoweringRealModelTests
{
    private static readonly string[] InputDims = ["p2o.DynamicDimension.0", "p2o.DynamicDimension.1", "p2o.DynamicDimension.2"];

    [TestCase("ch_ppocr_mobile_v2.0_cls_infer", 9)]
    [TestCase("ch_PP-OCRv4_det_infer", 10)]
    public void Nnapi_conversion_refuses_no_clip_and_matches_ort_on_the_photographs(string name, int hardSigmoids)
    {
        string dir = Path.Combine(TestPaths.Fixtures, "real", name);
        using Model original = Model.Load(Path.Combine(dir, "model.onnx"));
        IReadOnlyList<string> sets = TestDataSet.FindFolders(dir);
        long[] dims = [.. TestDataSet.Read(sets[0], original).Inputs.Single().Data.Dims];
        var pinned = new Dictionary<string, long> { [InputDims[0]] = dims[0], [InputDims[1]] = dims[2], [InputDims[2]] = dims[3] };
        TargetProfile nnapi = TargetProfile.BuiltIn("ort-nnapi");

        ConversionResult r = ModelConverter.Convert(original, nnapi, new ConvertOptions { Dims = pinned });
        using Model converted = r.Model;

        Assert.That(original.Graph.Nodes.Count(n => n.OpType == "HardSigmoid"), Is.EqualTo(hardSigmoids));
        Assert.That(converted.Graph.Nodes.Where(n => n.OpType == "HardSigmoid"), Is.Empty);
        var choices = r.Statistics.SelectMany(s => s.Notes).OfType<LoweringChoice>().ToList();
        Assert.That(choices, Has.Count.EqualTo(hardSigmoids));
        Assert.That(choices.Select(c => c.Form), Is.All.EqualTo("relu-min"), "NNAPI refuses Clip(0, 1); Relu then Min(1) is the exact form it takes");
        Assert.That(choices.All(c => c.Numerics.IsExact), Is.True);

        ProfileReport report = ProfileChecker.Check(converted.Graph, nnapi, ModelBridge.Shapes.ShapeInference.Run(converted.Graph,
            new ModelBridge.Shapes.ShapeInferenceOptions { DimOverrides = pinned }));
        Assert.That(report.Unsupported.Where(v => v.OpType == "Clip"), Is.Empty, "no Clip is refused");
        Assert.That(converted.Graph.Nodes.Count(n => n.OpType == "Clip"), Is.EqualTo(original.Graph.Nodes.Count(n => n.OpType == "Clip")),
            "the spelled-out HardSwish Clip(0, 6)s are kept: NNAPI runs them as ReLU6");
        // ConvTranspose has no NNAPI builder (another lowering's business); nothing else may be refused.
        Assert.That(report.Unsupported.Select(v => v.OpType).Where(op => op != "ConvTranspose"), Is.Empty,
            string.Join("\n", report.Unsupported.Select(v => $"{v.OpType} '{v.Name}': {string.Join("; ", v.Reasons)}")));

        foreach (string set in sets)
        {
            TestDataSet data = TestDataSet.Read(set, original);
            IReadOnlyDictionary<string, TensorData> outputs = Numerics.Run(converted, data.InputsByName());
            foreach (NamedTensor expected in data.Outputs)
            {
                ParityMetrics c = ParityMetrics.Compare(expected.Data, outputs[expected.Name]);
                TestContext.Out.WriteLine($"{name}/{Path.GetFileName(set)}/{expected.Name}: relative-to-max {c.RelativeToMax:G3}, max |diff| {c.MaxAbsError:G3}");
                Assert.That(c.IsWithin(1e-4), Is.True, $"{Path.GetFileName(set)}/{expected.Name}: {c}");
            }
        }
    }
}
