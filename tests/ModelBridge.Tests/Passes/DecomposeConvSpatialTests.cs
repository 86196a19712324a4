using ModelBridge.Costs;
using ModelBridge.Passes;
using ModelBridge.Rewriting;
using ModelBridge.Shapes;
using ModelBridge.Slimming;
using static ModelBridge.Tests.Passes.ConvModels;

namespace ModelBridge.Tests.Passes;

[TestFixture]
public sealed class DecomposeConvSpatialTests
{
    private static readonly ConvSpec Head = new() { Input = [1, 6, 9, 11], OutChannels = 8, Pads = [1, 1, 1, 1], Name = "/head/cls/Conv" };

    private static IReadOnlyList<FactorizationNote> Notes(PipelineResult r) => [.. r.Statistics.SelectMany(s => s.Notes).OfType<FactorizationNote>()];

    [Test]
    public void Full_rank_factors_into_a_vertical_and_a_horizontal_conv()
    {
        using Model m = Conv(Head with { Strides = [2, 3], Dilations = [2, 1], Pads = [1, 0, 2, 1] });
        PipelineResult run = Run(m, new DecomposeConvSpatial("/head/", 0));
        Assert.That(Ops(m), Is.EqualTo(new[] { "Conv", "Conv" }));
        Node v = m.Graph.TopologicalOrder()[0], h = m.Graph.TopologicalOrder()[1];
        // Full rank: min(C_in·K_h, C_out·K_w) = min(18, 24) = 18.
        Assert.That(Constants.Of(v.Inputs[1])!.Dims, Is.EqualTo(new long[] { 18, 6, 3, 1 }));
        Assert.That((v.GetInts("kernel_shape"), v.GetInts("strides"), v.GetInts("dilations"), v.GetInts("pads")),
            Is.EqualTo((new long[] { 3, 1 }, new long[] { 2, 1 }, new long[] { 2, 1 }, new long[] { 1, 0, 2, 0 })));
        Assert.That(Constants.Of(h.Inputs[1])!.Dims, Is.EqualTo(new long[] { 8, 18, 1, 3 }));
        Assert.That((h.GetInts("kernel_shape"), h.GetInts("strides"), h.GetInts("dilations"), h.GetInts("pads")),
            Is.EqualTo((new long[] { 1, 3 }, new long[] { 1, 3 }, new long[] { 1, 1 }, new long[] { 0, 0, 0, 1 })));
        Assert.That(v.Inputs, Has.Count.EqualTo(2));
        Assert.That(h.Inputs[2]!.Name, Is.EqualTo("b"));
        Assert.That(h.Outputs[0]!.Name, Is.EqualTo("y"));
        FactorizationNote note = Notes(run).Single();
        Assert.That((note.Method, note.Rank, note.FullRank), Is.EqualTo((FactorizationMethod.Spatial, 18, 18)));
        Assert.That(note.WeightError, Is.LessThan(1e-6));
    }

    [Test]
    public void Notes_give_the_header_formulas_and_agree_with_the_cost_model()
    {
        using Model m = Conv(Head with { Input = [1, 16, 12, 14], OutChannels = 24, Strides = [2, 2] });
        long before = CostModel.Compute(m.Graph, ShapeInference.Run(m.Graph)).TotalMacs;
        FactorizationNote note = Notes(Run(m, new DecomposeConvSpatial("", 0.3))).Single();
        long after = CostModel.Compute(m.Graph, ShapeInference.Run(m.Graph)).TotalMacs;
        long ho = 6, wo = 7, wi = 14, r = note.Rank;
        Assert.That(note.MacsBefore, Is.EqualTo(ho * wo * 24 * 16 * 9).And.EqualTo(before));
        Assert.That(note.MacsAfter, Is.EqualTo((ho * wi * r * 16 * 3) + (ho * wo * r * 24 * 3)).And.EqualTo(after),
            "the K_h×1 conv runs over every input column, the 1×K_w conv over the output's");
        Assert.That(note.ParametersAfter, Is.EqualTo((r * 16 * 3) + (24 * r * 3) + 24));
        Assert.That(note.WeightError, Is.LessThanOrEqualTo(0.3));
    }

    [Test]
    public void Does_not_fire_when_kernel_is_1x1()
    {
        using Model m = Conv(Head with { Kernel = [1, 1], Pads = null });
        PipelineResult r = Run(m, new DecomposeConvSpatial("", 0));
        Assert.That(Matches(r, DecomposeConvSpatial.PassId), Is.Zero);
        Assert.That(Failures(r, DecomposeConvSpatial.PassId).Single(), Does.Contain("1×1"));
    }

    [Test]
    public void Does_not_fire_outside_the_scope()
    {
        using Model m = Conv(Head);
        PipelineResult r = Run(m, new DecomposeConvSpatial("/fpn/", 0));
        Assert.That(Matches(r, DecomposeConvSpatial.PassId), Is.Zero);
    }

    [Test]
    public void Does_not_fire_when_the_bias_is_computed()
    {
        using Model m = Conv(Head);
        Graph g = m.Graph;
        Node conv = g.TopologicalOrder()[0];
        Node neg = g.AddNode("Neg", [g.GetValue("b")], ["nb"], name: "neg");
        g.SetInput(conv, 2, neg.Outputs[0]);
        PipelineResult r = Run(m, new DecomposeConvSpatial("", 0));
        Assert.That(Matches(r, DecomposeConvSpatial.PassId), Is.Zero);
        Assert.That(Failures(r, DecomposeConvSpatial.PassId).Single(), Does.Contain("bias"));
    }

    [Test]
    public void Second_run_changes_nothing()
    {
        using Model m = Conv(Head);
        AssertIdempotent(m, new DecomposeConvSpatial("", 0.2));
    }

    [Test]
    public void Matches_golden()
    {
        using Model m = Conv(Head);
        Run(m, new DecomposeConvSpatial("/head/", 0.2));
        Golden.AssertMatches(DecomposeConvSpatial.PassId, GraphPrinter.Print(m.Graph, ShapeInference.Run(m.Graph)));
    }

    [TestCase(0.0)]
    [TestCase(1e-2)]
    public void Meets_its_contract_in_ort(double budget)
    {
        using Model m = Conv(Head with { Input = [1, 12, 13, 15], OutChannels = 10, Seed = 9, Strides = [2, 3], Dilations = [2, 1], Pads = [2, 0, 1, 2] });
        AssertNumerics(m, new DecomposeConvSpatial("/head/", budget)).Dispose();
    }

    [Test]
    public void A_5x3_kernel_is_exact_at_full_rank_in_ort()
    {
        using Model m = Conv(Head with { Kernel = [5, 3], Pads = [2, 1, 2, 1], Seed = 3 });
        AssertNumerics(m, new DecomposeConvSpatial("", 0)).Dispose();
    }
}
