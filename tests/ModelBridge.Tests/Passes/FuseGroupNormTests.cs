using ModelBridge.Passes;
using ModelBridge.Rewriting;

namespace ModelBridge.Tests.Passes;

[TestFixture]
public sealed class FuseGroupNormTests
{
    private static GroupNormModels.Options Default => new();

    private static int Count(Model m, string op) => m.Graph.Nodes.Count(n => n.OpType == op);

    [Test]
    public void Fuses_the_instance_norm_form_and_keeps_the_output_name()
    {
        using Model m = GroupNormModels.Build(Default);
        PipelineResult r = GroupNormModels.FusionPipeline().Run(m);
        Assert.That(Count(m, "GroupNormalization"), Is.EqualTo(1));
        Assert.That(m.Graph.NodeCount, Is.EqualTo(2), "GroupNormalization + Relu");
        Node gn = m.Graph.Nodes.Single(n => n.OpType == "GroupNormalization");
        Assert.That(gn.Outputs[0]!.Name, Is.EqualTo("gn_out"), "the fused node keeps the last replaced node's output name");
        Assert.That(gn.Name, Is.EqualTo("/gn/Add"));
        Assert.That(gn.GetInt("num_groups"), Is.EqualTo(2));
        Assert.That(m.GetOpsetVersion(""), Is.EqualTo(21));
        Assert.That(r.Provenance.Get("gn_out")!.Original, Is.EqualTo("gn_out"));
        Assert.That(r.Provenance.Get("gn_out")!.Contract.IsExact, Is.False);
        Golden.AssertMatches("fuse-groupnorm-instancenorm", GraphPrinter.Print(m.Graph));
    }

    [TestCase(true, false)]
    [TestCase(false, false)]
    [TestCase(true, true)]
    [TestCase(false, true)]
    public void Fuses_every_variant(bool shapeOp, bool moments)
    {
        using Model m = GroupNormModels.Build(Default with { ShapeFromShapeOp = shapeOp, Moments = moments });
        GroupNormModels.FusionPipeline().Run(m);
        Assert.That(Count(m, "GroupNormalization"), Is.EqualTo(1));
        Assert.That(m.Graph.Nodes.Select(n => n.OpType), Is.EquivalentTo(new[] { "GroupNormalization", "Relu" }));
    }

    [Test]
    public void Fuses_without_affine_with_unit_scale()
    {
        using Model m = GroupNormModels.Build(Default with { Affine = false });
        GroupNormModels.FusionPipeline().Run(m);
        Node gn = m.Graph.Nodes.Single(n => n.OpType == "GroupNormalization");
        Assert.That(Constants.Of(gn.Inputs[1])!.ToFloatArray(), Is.All.EqualTo(1f));
        Assert.That(Constants.Of(gn.Inputs[2])!.ToFloatArray(), Is.All.EqualTo(0f));
    }

    [Test]
    public void Does_not_fire_when_instance_norm_scale_is_not_ones()
    {
        using Model m = GroupNormModels.Build(Default with { InstanceScale = 2f });
        PipelineResult r = GroupNormModels.FusionPipeline().Run(m);
        Assert.That(Count(m, "GroupNormalization"), Is.Zero);
        Assert.That(r.Statistics.Single(s => s.Id == "fuse-groupnorm").FailureSamples, Has.Some.Contains("scale is not a constant of ones"));
    }

    [Test]
    public void Does_not_fire_when_the_normalized_value_has_another_reader()
    {
        using Model m = GroupNormModels.Build(Default with { ExtraReaderOfNormalized = true });
        GroupNormModels.FusionPipeline().Run(m);
        Assert.That(Count(m, "GroupNormalization"), Is.Zero);
    }

    [Test]
    public void Does_not_fire_when_channels_do_not_split_into_groups()
    {
        using Model m = GroupNormModels.Build(Default with { Groups = 3, Channels = 8 });
        GroupNormModels.FusionPipeline().Run(m);
        Assert.That(Count(m, "GroupNormalization"), Is.Zero);
    }

    [Test]
    public void Second_run_changes_nothing()
    {
        using Model m = GroupNormModels.Build(Default);
        GroupNormModels.FusionPipeline().Run(m);
        string once = GraphPrinter.Print(m.Graph);
        PipelineResult again = GroupNormModels.FusionPipeline().Run(m);
        Assert.That(again.Statistics.Sum(s => s.Matches), Is.Zero);
        Assert.That(GraphPrinter.Print(m.Graph), Is.EqualTo(once));
    }

    [TestCase("retinanet_mbv2_gn_op11")]
    [TestCase("retinanet_mbv2_gn_op13")]
    [TestCase("retinanet_mbv2_gn_op17")]
    [TestCase("fcos_gn_op13")]
    [TestCase("groupnorm_noaffine")]
    public void Finds_every_groupnorm_in_the_exported_detectors(string fixture)
    {
        using Model m = Model.Load(Path.Combine(TestPaths.Fixtures, fixture, "model.onnx"));
        int instanceNorms = Count(m, "InstanceNormalization");
        Assert.That(instanceNorms, Is.GreaterThan(0));
        Pipeline.Canonical().Run(m);
        Assert.That(Count(m, "GroupNormalization"), Is.EqualTo(instanceNorms), "every exported GroupNorm (one InstanceNormalization each) is fused");
        Assert.That(Count(m, "InstanceNormalization") + Count(m, "Shape"), Is.Zero);
        Assert.That(m.Graph.FindProblems(), Is.Empty);
    }
}
