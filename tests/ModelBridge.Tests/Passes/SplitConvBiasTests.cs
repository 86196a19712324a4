using ModelBridge.Passes;
using ModelBridge.Rewriting;
using static ModelBridge.Tests.Passes.ConvModels;

namespace ModelBridge.Tests.Passes;

[TestFixture]
public sealed class SplitConvBiasTests
{
    private static readonly ConvSpec Biased = new() { Input = [1, 4, 6, 6], OutChannels = 5, Pads = [1, 1, 1, 1] };

    [Test]
    public void Moves_the_bias_into_an_add()
    {
        using Model m = Conv(Biased);
        Run(m, new SplitConvBias());
        Assert.That(Ops(m), Is.EqualTo(new[] { "Conv", "Add" }));
        Node conv = m.Graph.Nodes.Single(n => n.OpType == "Conv");
        Assert.That(conv.Inputs, Has.Count.EqualTo(2));
        Assert.That(conv.GetInts("pads"), Is.EqualTo(new long[] { 1, 1, 1, 1 }));
        Node add = m.Graph.Nodes.Single(n => n.OpType == "Add");
        Assert.That(Constants.Of(add.Inputs[1])!.Dims, Is.EqualTo(new long[] { 5, 1, 1 }));
        Assert.That(add.Outputs[0]!.Name, Is.EqualTo("y"));
    }

    [Test]
    public void Does_not_fire_when_conv_has_no_bias()
    {
        using Model m = Conv(Biased with { Bias = false });
        PipelineResult r = Run(m, new SplitConvBias());
        Assert.That(Failures(r, "split-conv-bias").Single(), Does.Contain("no bias"));
    }

    [Test]
    public void Second_run_changes_nothing()
    {
        using Model m = Conv(Biased);
        AssertIdempotent(m, new SplitConvBias());
    }

    [Test]
    public void Matches_golden()
    {
        using Model m = Conv(Biased);
        Run(m, new SplitConvBias());
        Golden.AssertMatches("split-conv-bias", GraphPrinter.Print(m.Graph, ModelBridge.Shapes.ShapeInference.Run(m.Graph)));
    }

    [TestCase(1, 1)]
    [TestCase(2, 1)]
    [TestCase(3, 4)]
    public void Is_bit_exact_in_ort(int seed, long group)
    {
        using Model m = Conv(Biased with { Seed = seed, Input = [1, 4 * seed, 9, 7], OutChannels = 4 * seed, Group = group });
        AssertNumerics(m, new SplitConvBias()).Dispose();
    }
}
