using ModelBridge.Costs;
using ModelBridge.Passes;
using ModelBridge.Rewriting;
using ModelBridge.Shapes;
using ModelBridge.Slimming;
using static ModelBridge.Tests.Passes.ConvModels;

namespace ModelBridge.Tests.Passes;

[TestFixture]
public sealed class DecomposeConvChannelsTests
{
    private static readonly ConvSpec Fpn = new() { Input = [1, 6, 8, 8], OutChannels = 10, Pads = [1, 1, 1, 1], Name = "/fpn/output3/Conv" };

    private static IReadOnlyList<FactorizationNote> Notes(PipelineResult r) => [.. r.Statistics.SelectMany(s => s.Notes).OfType<FactorizationNote>()];

    [Test]
    public void Full_rank_factors_into_a_kxk_conv_and_a_1x1_conv()
    {
        using Model m = Conv(Fpn with { Strides = [2, 2], Dilations = [1, 1] });
        PipelineResult run = Run(m, new DecomposeConvChannels("/fpn/", 0));
        Assert.That(Ops(m), Is.EqualTo(new[] { "Conv", "Conv" }));
        Node first = m.Graph.TopologicalOrder()[0], second = m.Graph.TopologicalOrder()[1];
        Assert.That(Constants.Of(first.Inputs[1])!.Dims, Is.EqualTo(new long[] { 10, 6, 3, 3 }), "full rank is min(C_out, C_in·K²) = 10");
        Assert.That(first.GetInts("strides"), Is.EqualTo(new long[] { 2, 2 }));
        Assert.That(first.GetInts("pads"), Is.EqualTo(new long[] { 1, 1, 1, 1 }));
        Assert.That(first.Inputs, Has.Count.EqualTo(2), "the first conv has no bias");
        Assert.That(Constants.Of(second.Inputs[1])!.Dims, Is.EqualTo(new long[] { 10, 10, 1, 1 }));
        Assert.That(second.GetInts("kernel_shape"), Is.EqualTo(new long[] { 1, 1 }));
        Assert.That(second.HasAttribute("pads") || second.HasAttribute("strides"), Is.False);
        Assert.That(second.Inputs[2]!.Name, Is.EqualTo("b"), "the weight fit keeps the bias");
        Assert.That(second.Outputs[0]!.Name, Is.EqualTo("y"));
        Assert.That(second.Name, Is.EqualTo("/fpn/output3/Conv"));
        FactorizationNote note = Notes(run).Single();
        Assert.That((note.Method, note.Rank, note.FullRank, note.Fit), Is.EqualTo((FactorizationMethod.Channel, 10, 10, FitKind.Weights)));
        Assert.That(note.WeightError, Is.LessThan(1e-6));
    }

    [Test]
    public void Notes_give_the_header_formulas_and_agree_with_the_cost_model()
    {
        using Model m = Conv(Fpn with { Input = [1, 16, 12, 12], OutChannels = 24 });
        long before = CostModel.Compute(m.Graph, ShapeInference.Run(m.Graph)).TotalMacs;
        FactorizationNote note = Notes(Run(m, new DecomposeConvChannels("", 0.3))).Single();
        long after = CostModel.Compute(m.Graph, ShapeInference.Run(m.Graph)).TotalMacs;
        long pixels = 12 * 12, d = 16 * 9, r = note.Rank;
        Assert.That(note.MacsBefore, Is.EqualTo(pixels * 24 * d).And.EqualTo(before));
        Assert.That(note.MacsAfter, Is.EqualTo(pixels * r * (d + 24)).And.EqualTo(after));
        Assert.That(note.ParametersBefore, Is.EqualTo(24 * d + 24));
        Assert.That(note.ParametersAfter, Is.EqualTo(r * d + 24 * r + 24));
        Assert.That(note.Rank, Is.LessThan(note.FullRank));
        Assert.That(note.WeightError, Is.LessThanOrEqualTo(0.3));
    }

    [Test]
    public void A_1x1_conv_becomes_a_low_rank_pair()
    {
        using Model m = Conv(Fpn with { Kernel = [1, 1], Pads = null, Input = [1, 32, 4, 4], OutChannels = 32 });
        FactorizationNote note = Notes(Run(m, new DecomposeConvChannels("", 0.5))).Single();
        Assert.That(note.FullRank, Is.EqualTo(32));
        Assert.That(note.Rank, Is.LessThan(32));
        Assert.That(m.Graph.TopologicalOrder().Select(n => n.GetInts("kernel_shape")), Is.All.EqualTo(new long[] { 1, 1 }));
    }

    [Test]
    public void Does_not_fire_outside_the_scope()
    {
        using Model m = Conv(Fpn with { Name = "/backbone/Conv" });
        PipelineResult r = Run(m, new DecomposeConvChannels("/fpn/", 0));
        Assert.That(Matches(r, DecomposeConvChannels.PassId), Is.Zero);
        Assert.That(Failures(r, DecomposeConvChannels.PassId).Single(), Does.Contain("scope"));
    }

    [Test]
    public void Does_not_fire_when_conv_is_grouped()
    {
        using Model m = Conv(Fpn with { Group = 2 });
        PipelineResult r = Run(m, new DecomposeConvChannels("", 0));
        Assert.That(Matches(r, DecomposeConvChannels.PassId), Is.Zero);
        Assert.That(Failures(r, DecomposeConvChannels.PassId).Single(), Does.Contain("group"));
    }

    [Test]
    public void Does_not_fire_when_auto_pad_is_same()
    {
        using Model m = Conv(Fpn with { Pads = null, AutoPad = "SAME_UPPER" });
        PipelineResult r = Run(m, new DecomposeConvChannels("", 0));
        Assert.That(Matches(r, DecomposeConvChannels.PassId), Is.Zero);
        Assert.That(Failures(r, DecomposeConvChannels.PassId).Single(), Does.Contain("auto_pad"));
    }

    [Test]
    public void Does_not_fire_when_the_weight_is_a_graph_input()
    {
        using Model m = Conv(Fpn);
        m.Graph.RegisterInput(m.Graph.GetValue("w"));
        PipelineResult r = Run(m, new DecomposeConvChannels("", 0));
        Assert.That(Matches(r, DecomposeConvChannels.PassId), Is.Zero);
        Assert.That(Failures(r, DecomposeConvChannels.PassId).Single(), Does.Contain("constant"));
    }

    [Test]
    public void Second_run_changes_nothing()
    {
        using Model m = Conv(Fpn);
        AssertIdempotent(m, new DecomposeConvChannels("", 0.2));
    }

    [Test]
    public void Matches_golden()
    {
        using Model m = Conv(Fpn);
        Run(m, new DecomposeConvChannels("/fpn/", 0.2));
        Golden.AssertMatches(DecomposeConvChannels.PassId, GraphPrinter.Print(m.Graph, ShapeInference.Run(m.Graph)));
    }

    [TestCase(0.0)]
    [TestCase(0.05)]
    public void Meets_its_contract_in_ort(double budget)
    {
        using Model m = Conv(Fpn with { Input = [1, 16, 12, 12], OutChannels = 16, Seed = 4, Strides = [2, 1], Dilations = [1, 2], Pads = [0, 2, 1, 1] });
        AssertNumerics(m, new DecomposeConvChannels("/fpn/", budget)).Dispose();
    }

    [Test]
    public void Plan_mode_writes_the_plans_factors_and_records_its_budget_on_the_output()
    {
        using Model m = Conv(Fpn with { Input = [1, 16, 12, 12], OutChannels = 16 });
        ShapeInferenceResult shapes = ShapeInference.Run(m.Graph);
        ConvLayer layer = ConvLayer.Find(m.Graph, shapes, "").Layers.Single();
        ConvFactors f = new ConvFitter(layer, Constants.Of(m.Graph.GetValue("w"))!, Constants.Of(m.Graph.GetValue("b"))).Fit(FactorizationMethod.Channel, 4);
        f = f with { Bias = Tensor.Create<float>([16], Enumerable.Range(0, 16).Select(i => (float)i).ToArray()) };
        var contract = NumericContract.Approximate(0.25, 0.5);
        var plan = new SlimPlan(new Dictionary<string, ConvFactors> { ["w"] = f }, new Dictionary<string, NumericContract> { ["y"] = contract });
        var provenance = ProvenanceMap.Identity(m.Graph);
        new Pipeline([new DecomposeConvChannels(plan), new DecomposeConvSpatial(plan), new EliminateDeadNodes()]).Run(m, null, provenance);
        Node second = m.Graph.TopologicalOrder()[1];
        Assert.That(Constants.Of(second.Inputs[1])!.ToFloatArray(), Is.EqualTo(f.Second.ToFloatArray()));
        Assert.That(Constants.Of(second.Inputs[2])!.ToFloatArray(), Is.EqualTo(f.Bias!.ToFloatArray()), "the plan's bias replaces the original");
        Assert.That(provenance.Get("y")!.Contract, Is.EqualTo(contract));
        Assert.That(provenance.Get("y")!.Passes, Is.EqualTo(new[] { DecomposeConvChannels.PassId }));
    }

    [Test]
    public void Plan_mode_leaves_convs_the_plan_does_not_name()
    {
        using Model m = Conv(Fpn);
        var plan = new SlimPlan(new Dictionary<string, ConvFactors>(), new Dictionary<string, NumericContract>());
        PipelineResult r = Run(m, new DecomposeConvChannels(plan));
        Assert.That(Matches(r, DecomposeConvChannels.PassId), Is.Zero);
        Assert.That(Failures(r, DecomposeConvChannels.PassId).Single(), Does.Contain("not planned"));
    }
}
