using System.Globalization;
using ModelBridge.Errors;
using ModelBridge.Profiles;
using ModelBridge.Shapes;
using ModelBridge.Rewriting;
using ModelBridge.Surgery;
using ModelBridge.Verify;

namespace ModelBridge.Parity.Tests;

/// <summary>
/// Issue 14's acceptance: every model from the wild (fixtures/real: PyTorch 1.2's RFB-320, Paddle2ONNX's
/// OCR detector and direction classifier) converted for every built-in target is deployable, and matches
/// ONNX Runtime on the original graph, run on the committed photographs, within 1e-4 relative to max.
/// </summary>
/// <remarks>
/// Deployable: no unsupported node on a target without CPU fallback (tflite-builtins, ncnn); on a target
/// with fallback, one accelerated partition holding at least 99% of the MACs, or else every node left on
/// the CPU carries its reasons. A tail that only the CPU runs (box decoding) is split off as the
/// post-processing model, as <c>convert --split-postprocess</c> does, and the pair is run stitched.
/// </remarks>
[TestFixture]
public sealed class WildModelTests
{
    private static readonly string[] Models = ["version-RFB-320", "ch_PP-OCRv4_det_infer", "ch_ppocr_mobile_v2.0_cls_infer"];

    private static IEnumerable<TestCaseData> Cases() =>
        from m in Models
        from t in TargetProfile.BuiltInNames
        select new TestCaseData(m, t).SetName($"{m} on {t}");

    [TestCaseSource(nameof(Cases))]
    public void Converts_to_a_deployable_graph_that_matches_ort_on_the_photographs(string name, string target)
    {
        string dir = Path.Combine(Fixtures.Root, "real", name);
        using Model original = Model.Load(Path.Combine(dir, "model.onnx"));
        IReadOnlyList<string> sets = TestDataSet.FindFolders(dir);
        Assert.That(sets, Is.Not.Empty);
        var data = sets.Select(s => TestDataSet.Read(s, original)).ToList();
        Dictionary<string, long> dims = BindSymbols(original, data[0]);
        TargetProfile profile = TargetProfile.BuiltIn(target);

        ConversionResult r = ModelConverter.Convert(original, profile, new ConvertOptions { Dims = dims });
        using Model converted = r.Model;
        PostprocessSplitResult? split = null;
        ProfileReport deployed = r.Remaining;
        if (!deployed.AllSupported)
        {
            try
            {
                split = PostprocessSplit.Split(converted, deployed, dims);
            }
            catch (UnsupportedOperatorException)
            {
                // Not a pure tail: the nodes stay where they are and must be justified below.
            }
        }
        using (split)
        {
            if (split is not null)
            {
                deployed = ProfileChecker.Check(split.Main.Graph, profile, ShapeInference.Run(split.Main.Graph, new ShapeInferenceOptions { DimOverrides = dims, Lenient = true }));
            }
            PartitionEstimate p = deployed.Partition;
            if (!profile.Fallback.Enabled)
            {
                Assert.That(deployed.Unsupported.Select(n => $"{n.OpType} '{n.Name}'"), Is.Empty, $"{target} has no CPU fallback: every node must run there");
            }
            else if (p.Count != 1 || p.MacShare < 0.99)
            {
                // Every pattern pass of this conversion, by the operator it rewrites.
                var rewritten = Pipeline.ForProfile(profile, r.Options).SelectMany(pl => pl.Passes)
                    .Select(pass => pass.GetType().GetProperty("RootOp")?.GetValue(pass) as string).OfType<string>().ToHashSet(StringComparer.Ordinal);
                Assert.That(rewritten, Does.Contain("BatchNormalization"), "the pattern passes are found by their root operator");
                foreach (NodeVerdict n in deployed.Unsupported)
                {
                    IReadOnlyList<string> refusals = r.RewriteRefusals(n.Name);
                    // The justification convert prints must hold: a pass declined the node with a reason, or none rewrites its operator.
                    Assert.That(refusals.Count > 0 || !rewritten.Contains(n.OpType), Is.True,
                        $"{n.OpType} '{n.Name}' is left on the CPU, yet a pass of this conversion rewrites {n.OpType} and recorded no reason for declining it");
                    TestContext.Out.WriteLine($"  left on the CPU: {n.OpType} '{n.Name}': {string.Join("; ", n.Reasons)} | no exact rewrite: "
                        + (refusals.Count > 0 ? string.Join("; ", refusals) : $"no pass rewrites {n.OpType} into {target}'s operators"));
                }
            }

            using Model? stitched = split is null ? null : PostprocessSplit.Stitch(split.Main, split.Post);
            Model run = stitched ?? converted;
            using var runner = new OrtRunner(run);
            double worst = 0;
            foreach (TestDataSet set in data)
            {
                IReadOnlyDictionary<string, TensorData> outputs = runner.Run(set.InputsByName());
                foreach (NamedTensor expected in set.Outputs)
                {
                    ParityMetrics m = ParityMetrics.Compare(expected.Data, outputs[expected.Name]);
                    worst = Math.Max(worst, m.RelativeToMax);
                    Assert.That(m.IsWithin(1e-4), Is.True, $"{expected.Name}: relative-to-max {m.RelativeToMax:G3}");
                }
            }
            TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {target} | {deployed.Unsupported.Count}{(split is null ? "" : $" (+{split.TailNodes.Count} split off)")} | {p.Count} | {p.MacShare:P2} of {p.TotalMacs / 1e6:F1} M | {worst:G3} |"));
        }
    }

    /// <summary>Each symbolic dimension of the image input bound to the committed photographs' size.</summary>
    private static Dictionary<string, long> BindSymbols(Model model, TestDataSet data)
    {
        var dims = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (NamedTensor input in data.Inputs)
        {
            if (model.Graph.FindValue(input.Name)?.DeclaredType?.Shape is not { } shape)
            {
                continue;
            }
            for (int i = 0; i < shape.Rank && i < input.Data.Dims.Length; i++)
            {
                if (shape.Dims[i].Symbol is { } symbol)
                {
                    dims[symbol] = input.Data.Dims[i];
                }
            }
        }
        return dims;
    }
}
