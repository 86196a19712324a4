using ModelBridge.Passes;
using ModelBridge.Rewriting;
using ModelBridge.Verify;

namespace ModelBridge.Tests.Passes;

/// <summary>Each pass's rewrite, run in ONNX Runtime on seeded inputs, meets its declared contract.</summary>
[TestFixture]
public sealed class PassNumericsTests
{
    private static void Check(Model original, params Pass[] passes)
    {
        using Model rewritten = original.Clone();
        var pipeline = new Pipeline(passes);
        PipelineResult r = pipeline.Run(rewritten);
        Assert.That(r.Statistics.Sum(s => s.Matches), Is.GreaterThan(0), "the pass applied");
        NumericContract contract = passes.Select(p => p.Numerics).Aggregate(NumericContract.Exact, (a, b) => a.Then(b));
        Numerics.AssertMeetsContract(original, rewritten, contract);
    }

    [TestCase(false, false)]
    [TestCase(true, false)]
    [TestCase(false, true)]
    public void FuseGroupNorm_meets_its_contract(bool moments, bool noAffine)
    {
        using Model m = GroupNormModels.Build(new GroupNormModels.Options { Moments = moments, Affine = !noAffine, Channels = 12, Groups = 3 });
        Check(m, new FuseGroupNorm(), new EliminateDeadNodes());
    }

    [TestCase(GroupNormDecomposition.InstanceNorm)]
    [TestCase(GroupNormDecomposition.Moments)]
    public void DecomposeGroupNorm_meets_its_contract(GroupNormDecomposition form)
    {
        using Model m = GroupNormModels.Build(new GroupNormModels.Options { Channels = 12, Groups = 4 });
        new Pipeline([new FuseGroupNorm(), new EliminateDeadNodes()]).Run(m);
        ModelBridge.Shapes.ShapeInference.Run(m.Graph);
        Check(m, new DecomposeGroupNorm(form));
    }

    [TestCase("Conv", 1)]
    [TestCase("Conv", 2)]
    [TestCase("ConvTranspose", 1)]
    [TestCase("ConvTranspose", 2)]
    public void FoldBatchNormIntoConv_meets_its_contract(string producer, long group)
    {
        using Model m = FoldBatchNormIntoConvTests.ConvBn(producer, group: group);
        Check(m, new FoldBatchNormIntoConv(), new EliminateDeadNodes());
    }

    [Test]
    public void LowerBatchNormToMulAdd_meets_its_contract()
    {
        using Model m = FoldBatchNormIntoConvTests.ConvBn(secondReader: true);
        ModelBridge.Shapes.ShapeInference.Run(m.Graph);
        Check(m, new LowerBatchNormToMulAdd());
    }

    [Test]
    public void Cleanup_passes_are_bit_exact_on_a_detector()
    {
        using Model m = Model.Load(Path.Combine(TestPaths.Fixtures, "retinanet_mbv2_gn_op13", "model.onnx"));
        Check(m, new EliminateIdentity(), new ConstantToInitializer(), new FoldConstants(), new FoldShapeArithmetic(), new EliminateDeadNodes(), new DeduplicateInitializers());
    }
}

/// <summary>Conversions of the real detectors still match PyTorch's own outputs.</summary>
[TestFixture]
public sealed class DetectorFusionTests
{
    [TestCase("retinanet_mbv2_gn_op11")]
    [TestCase("retinanet_mbv2_gn_op13")]
    [TestCase("retinanet_mbv2_gn_op17")]
    [TestCase("fcos_gn_op13")]
    public void Fused_detector_matches_the_pytorch_reference(string fixture)
    {
        string dir = Path.Combine(TestPaths.Fixtures, fixture);
        using Model m = Model.Load(Path.Combine(dir, "model.onnx"));
        TestDataSet data = TestDataSet.Read(Path.Combine(dir, "test_data_set_0"), m);
        Pipeline.Canonical().Run(m);
        Assert.That(m.Graph.Nodes.Count(n => n.OpType == "GroupNormalization"), Is.GreaterThan(0));
        var outputs = Numerics.Run(m, data.InputsByName());
        foreach (var (name, expected) in data.OutputsByName())
        {
            double err = Numerics.RelativeToMax(expected, outputs[name]);
            Assert.That(err, Is.LessThanOrEqualTo(1e-4), $"{name}: relative-to-max error {err:G3}");
        }
    }
}
