using ModelBridge.Passes;
using ModelBridge.Rewriting;

namespace ModelBridge.Tests.Passes;

[TestFixture]
public sealed class PipelineSmokeTests
{
    [TestCase("retinanet_mbv2_gn_op11")]
    [TestCase("retinanet_mbv2_gn_op13")]
    [TestCase("retinanet_mbv2_gn_op17")]
    public void Fusion_pipeline_on_detector(string fixture)
    {
        using Model m = Model.Load(Path.Combine(TestPaths.Fixtures, fixture, "model.onnx"));
        var p = new Pipeline([
            new EliminateIdentity(), new EliminateDropout(), new ConstantToInitializer(), new FoldConstants(),
            new FoldShapeArithmetic(), new FuseGroupNorm(), new FoldBatchNormIntoConv(), new EliminateDeadNodes(), new DeduplicateInitializers()]);
        PipelineResult r = p.Run(m);
        foreach (var s in r.Statistics)
        {
            TestContext.Out.WriteLine($"{s.Id}: {s.Matches} matches, +{s.NodesAdded} -{s.NodesRemoved}; {string.Join(" | ", s.FailureSamples.Take(2))}");
        }
        TestContext.Out.WriteLine(string.Join(", ", m.Graph.Nodes.GroupBy(n => n.OpType).Select(gr => $"{gr.Key}:{gr.Count()}")));
        Assert.That(m.Graph.Nodes.Count(n => n.OpType == "GroupNormalization"), Is.EqualTo(20));
    }
}
