using ModelBridge.Passes;
using ModelBridge.Rewriting;
using static ModelBridge.Tests.Passes.ConvModels;

namespace ModelBridge.Tests.Passes;

[TestFixture]
public sealed class SplitAsymmetricPadsTests
{
    private static readonly ConvSpec Asym = new() { Input = [1, 3, 8, 8], Kernel = [3, 3], Pads = [0, 1, 1, 2], Strides = [2, 1] };

    [Test]
    public void Moves_the_asymmetric_part_into_a_pad()
    {
        using Model m = Conv(Asym);
        Run(m, new SplitAsymmetricPads());
        Assert.That(Ops(m), Is.EqualTo(new[] { "Pad", "Conv" }));
        Node conv = m.Graph.Nodes.Single(n => n.OpType == "Conv");
        Assert.That(conv.GetInts("pads"), Is.EqualTo(new long[] { 0, 1, 0, 1 }));
        Assert.That(conv.Outputs[0]!.Name, Is.EqualTo("y"));
        Node pad = m.Graph.Nodes.Single(n => n.OpType == "Pad");
        Assert.That(Constants.Of(pad.Inputs[1])!.ToInt64Array(), Is.EqualTo(new long[] { 0, 0, 0, 0, 0, 0, 1, 1 }));
        Assert.That(pad.Inputs, Has.Count.EqualTo(2), "Conv pads with the default 0");
    }

    [Test]
    public void Max_pool_pads_with_negative_infinity()
    {
        using Model m = Pool(new PoolSpec { Kernel = [3, 3], Pads = [1, 0, 2, 1] });
        Run(m, new SplitAsymmetricPads());
        Node pad = m.Graph.Nodes.Single(n => n.OpType == "Pad");
        Assert.That(Constants.Of(pad.Inputs[2])!.ToFloatArray(), Is.EqualTo(new[] { float.NegativeInfinity }));
    }

    [Test]
    public void Uses_pad_attributes_before_opset_11()
    {
        using Model m = Conv(Asym with { Opset = 10 });
        Run(m, new SplitAsymmetricPads());
        Node pad = m.Graph.Nodes.Single(n => n.OpType == "Pad");
        Assert.That(pad.GetInts("pads"), Is.EqualTo(new long[] { 0, 0, 0, 0, 0, 0, 1, 1 }));
        Assert.That(pad.Inputs, Has.Count.EqualTo(1));
    }

    [Test]
    public void Does_not_fire_when_average_pool_excludes_pads()
    {
        using Model m = Pool(new PoolSpec { Op = "AveragePool", Kernel = [3, 3], Pads = [1, 0, 2, 1] });
        PipelineResult r = Run(m, new SplitAsymmetricPads());
        Assert.That(Matches(r, "split-asymmetric-pads"), Is.Zero);
        Assert.That(Failures(r, "split-asymmetric-pads").Single(), Does.Contain("count_include_pad=0"));
    }

    [Test]
    public void Does_not_fire_when_pads_are_symmetric()
    {
        using Model m = Conv(Asym with { Pads = [1, 1, 1, 1] });
        Assert.That(Matches(Run(m, new SplitAsymmetricPads()), "split-asymmetric-pads"), Is.Zero);
    }

    [Test]
    public void Does_not_fire_when_auto_pad_is_set()
    {
        using Model m = Conv(Asym with { Pads = null, AutoPad = "SAME_UPPER", Kernel = [4, 4] });
        PipelineResult r = Run(m, new SplitAsymmetricPads());
        Assert.That(Failures(r, "split-asymmetric-pads").Single(), Does.Contain("auto_pad"));
    }

    [Test]
    public void Second_run_changes_nothing()
    {
        using Model m = Conv(Asym);
        AssertIdempotent(m, new SplitAsymmetricPads());
    }

    [Test]
    public void Matches_golden()
    {
        using Model m = Conv(Asym);
        Run(m, new SplitAsymmetricPads());
        Golden.AssertMatches("split-asymmetric-pads", GraphPrinter.Print(m.Graph, ModelBridge.Shapes.ShapeInference.Run(m.Graph)));
    }

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public void Conv_is_bit_exact_in_ort(int seed)
    {
        using Model m = Conv(Asym with { Seed = seed, Input = [1, 3 + seed, 7 + seed, 9], Dilations = seed == 3 ? [2, 1] : null });
        AssertNumerics(m, new SplitAsymmetricPads()).Dispose();
    }

    [Test]
    public void Does_not_fire_when_pool_is_in_ceil_mode()
    {
        using Model m = Pool(new PoolSpec { Kernel = [3, 3], Pads = [1, 0, 2, 1], Strides = [2, 2], CeilMode = 1 });
        PipelineResult r = Run(m, new SplitAsymmetricPads());
        Assert.That(Failures(r, "split-asymmetric-pads").Single(), Does.Contain("ceil_mode"));
    }

    [Test]
    public void Pools_are_bit_exact_in_ort()
    {
        const long ceil = 0;
        using (Model m = Pool(new PoolSpec { Kernel = [3, 3], Pads = [1, 0, 2, 1], Strides = [2, 2], CeilMode = ceil }))
        {
            AssertNumerics(m, new SplitAsymmetricPads()).Dispose();
        }
        using (Model m = Pool(new PoolSpec { Op = "AveragePool", Kernel = [3, 3], Pads = [1, 0, 2, 1], Strides = [2, 2], CountIncludePad = 1, CeilMode = ceil }))
        {
            AssertNumerics(m, new SplitAsymmetricPads()).Dispose();
        }
    }
}
