using ModelBridge.Passes;
using ModelBridge.Rewriting;
using static ModelBridge.Tests.Passes.ConvModels;

namespace ModelBridge.Tests.Passes;

[TestFixture]
public sealed class LowerGroupedConvTests
{
    private static readonly ConvSpec Grouped = new() { Input = [1, 8, 6, 6], OutChannels = 12, Group = 4, Pads = [1, 1, 1, 1] };

    [Test]
    public void Splits_into_one_conv_per_group()
    {
        using Model m = Conv(Grouped);
        PipelineResult r = Run(m, new LowerGroupedConv());
        Assert.That(Ops(m).Count(o => o == "Conv"), Is.EqualTo(4));
        Assert.That(Ops(m).First(), Is.EqualTo("Split"));
        Assert.That(Ops(m).Last(), Is.EqualTo("Concat"));
        Assert.That(m.Graph.Nodes.Where(n => n.OpType == "Conv").Select(n => n.GetInt("group", 1)), Is.All.EqualTo(1));
        Node last = m.Graph.Nodes.Single(n => n.OpType == "Concat");
        Assert.That(last.Outputs[0]!.Name, Is.EqualTo("y"));
        Node g1 = m.Graph.Nodes.Where(n => n.OpType == "Conv").ElementAt(1);
        Assert.That(Constants.Of(g1.Inputs[1])!.Dims, Is.EqualTo(new long[] { 3, 2, 3, 3 }));
        Assert.That(r.Provenance.Get(g1.Outputs[0]!.Name)!.Slice!.Indices, Is.EqualTo(new long[] { 3, 4, 5 }));
    }

    [Test]
    public void Uses_num_outputs_from_opset_18()
    {
        using Model m = Conv(Grouped with { Opset = 18 });
        Run(m, new LowerGroupedConv());
        Assert.That(m.Graph.Nodes.Single(n => n.OpType == "Split").GetInt("num_outputs"), Is.EqualTo(4));
    }

    [Test]
    public void Does_not_fire_when_conv_is_depthwise()
    {
        using Model m = Conv(Grouped with { Group = 8, OutChannels = 8 });
        PipelineResult r = Run(m, new LowerGroupedConv());
        Assert.That(Matches(r, "lower-grouped-conv"), Is.Zero);
        Assert.That(Failures(r, "lower-grouped-conv").Single(), Does.Contain("depthwise"));
    }

    [Test]
    public void Does_not_fire_when_group_is_one()
    {
        using Model m = Conv(Grouped with { Group = 1 });
        Assert.That(Matches(Run(m, new LowerGroupedConv()), "lower-grouped-conv"), Is.Zero);
    }

    [Test]
    public void Second_run_changes_nothing()
    {
        using Model m = Conv(Grouped);
        AssertIdempotent(m, new LowerGroupedConv());
    }

    [Test]
    public void Matches_golden()
    {
        using Model m = Conv(Grouped with { Group = 2, Input = [1, 4, 5, 5], OutChannels = 4 });
        Run(m, new LowerGroupedConv());
        Golden.AssertMatches("lower-grouped-conv", GraphPrinter.Print(m.Graph, ModelBridge.Shapes.ShapeInference.Run(m.Graph)));
    }

    [TestCase(8, 12, 4, 3, 1)]
    [TestCase(16, 16, 2, 3, 2)]
    [TestCase(12, 24, 3, 1, 3)]
    [TestCase(32, 64, 8, 3, 4)]
    [TestCase(6, 9, 3, 5, 5)]
    public void Is_bit_exact_in_ort(long cin, long cout, long group, long k, int seed)
    {
        long p = k / 2;
        using Model m = Conv(Grouped with { Input = [2, cin, 9, 11], OutChannels = cout, Group = group, Kernel = [k, k], Pads = [p, p, p, p], Seed = seed, Strides = seed % 2 == 0 ? [2, 2] : null });
        AssertNumerics(m, new LowerGroupedConv()).Dispose();
    }
}
