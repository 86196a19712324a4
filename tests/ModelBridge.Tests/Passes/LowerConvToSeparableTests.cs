using ModelBridge.Passes;
using ModelBridge.Rewriting;
using ModelBridge.Shapes;
using ModelBridge.Slimming;
using static ModelBridge.Tests.Passes.ConvModels;

namespace ModelBridge.Tests.Passes;

[TestFixture]
public sealed class LowerConvToSeparableTests
{
    private static readonly ConvSpec Fpn = new() { Input = [1, 6, 8, 8], OutChannels = 10, Pads = [1, 1, 1, 1], Name = "/fpn/output3/Conv" };

    [Test]
    public void Full_rank_factors_into_depthwise_and_pointwise()
    {
        using Model m = Conv(Fpn with { Strides = [2, 2], Dilations = [1, 1] });
        var pass = new LowerConvToSeparable("/fpn/", 0);
        PipelineResult run = Run(m, pass);
        Assert.That(Ops(m), Is.EqualTo(new[] { "Conv", "Conv" }));
        Node dw = m.Graph.TopologicalOrder()[0], pw = m.Graph.TopologicalOrder()[1];
        Assert.That(dw.GetInt("group", 1), Is.EqualTo(6));
        Assert.That(Constants.Of(dw.Inputs[1])!.Dims, Is.EqualTo(new long[] { 54, 1, 3, 3 }));
        Assert.That(dw.GetInts("strides"), Is.EqualTo(new long[] { 2, 2 }));
        Assert.That(dw.GetInts("pads"), Is.EqualTo(new long[] { 1, 1, 1, 1 }));
        Assert.That(dw.Inputs, Has.Count.EqualTo(2), "the depthwise conv has no bias");
        Assert.That(Constants.Of(pw.Inputs[1])!.Dims, Is.EqualTo(new long[] { 10, 54, 1, 1 }));
        Assert.That(pw.HasAttribute("pads") || pw.HasAttribute("strides"), Is.False);
        Assert.That(pw.Inputs[2]!.Name, Is.EqualTo("b"));
        Assert.That(pw.Outputs[0]!.Name, Is.EqualTo("y"));
        Assert.That(pw.Name, Is.EqualTo("/fpn/output3/Conv"));
        SeparableReport report = Reports(run).Single();
        Assert.That(report.Rank, Is.EqualTo(9));
        Assert.That(report.FullRank, Is.EqualTo(9));
        Assert.That(report.WeightError, Is.LessThan(1e-6));
        Assert.That(report.MacsBefore, Is.EqualTo(16L * 10 * 6 * 9));
        Assert.That(report.MacsAfter, Is.EqualTo(16L * (54 * 9 + 10 * 54)));
        Assert.That(report.ParametersBefore, Is.EqualTo(10 * 6 * 9 + 10));
    }

    [Test]
    public void Rank_is_the_smallest_within_the_budget()
    {
        using Model m = Conv(Fpn);
        var loose = new LowerConvToSeparable("/fpn/", 0.5);
        var looseReports = Reports(Run(m, loose));
        using Model m2 = Conv(Fpn);
        var tight = new LowerConvToSeparable("/fpn/", 0.05);
        var tightReports = Reports(Run(m2, tight));
        Assert.That(looseReports[0].Rank, Is.LessThan(tightReports[0].Rank));
        Assert.That(looseReports[0].WeightError, Is.LessThanOrEqualTo(0.5));
        Assert.That(tightReports[0].WeightError, Is.LessThanOrEqualTo(0.05));
        Assert.That(looseReports[0].WeightError, Is.GreaterThan(tightReports[0].WeightError));
    }

    [Test]
    public void Rank_is_capped_by_output_channels()
    {
        using Model m = Conv(Fpn with { OutChannels = 4 });
        var pass = new LowerConvToSeparable("", 0);
        Assert.That(Reports(Run(m, pass)).Single().Rank, Is.EqualTo(4));
    }

    [Test]
    public void Does_not_fire_outside_the_scope()
    {
        using Model m = Conv(Fpn with { Name = "/backbone/Conv" });
        PipelineResult r = Run(m, new LowerConvToSeparable("/fpn/", 0));
        Assert.That(Matches(r, "lower-conv-to-separable"), Is.Zero);
        Assert.That(Failures(r, "lower-conv-to-separable").Single(), Does.Contain("scope"));
    }

    [Test]
    public void Does_not_fire_when_kernel_is_1x1()
    {
        using Model m = Conv(Fpn with { Kernel = [1, 1], Pads = null });
        Assert.That(Matches(Run(m, new LowerConvToSeparable("/fpn/", 0)), "lower-conv-to-separable"), Is.Zero);
    }

    [Test]
    public void Does_not_fire_when_conv_is_grouped()
    {
        using Model m = Conv(Fpn with { Group = 2 });
        Assert.That(Matches(Run(m, new LowerConvToSeparable("/fpn/", 0)), "lower-conv-to-separable"), Is.Zero);
    }

    [Test]
    public void Second_run_changes_nothing()
    {
        using Model m = Conv(Fpn);
        AssertIdempotent(m, new LowerConvToSeparable("/fpn/", 0.1));
    }

    [Test]
    public void Matches_golden()
    {
        using Model m = Conv(Fpn);
        Run(m, new LowerConvToSeparable("/fpn/", 0.2));
        Golden.AssertMatches("lower-conv-to-separable", GraphPrinter.Print(m.Graph, ModelBridge.Shapes.ShapeInference.Run(m.Graph)));
    }

    [TestCase(0.0)]
    [TestCase(1e-2)]
    public void Meets_its_contract_in_ort(double budget)
    {
        using Model m = Conv(Fpn with { Input = [1, 16, 12, 12], OutChannels = 16, Seed = 4 });
        var pass = new LowerConvToSeparable("/fpn/", budget);
        AssertNumerics(m, pass).Dispose();
        using Model again = m.Clone();
        SeparableReport report = Reports(Run(again, pass))[0];
        TestContext.Out.WriteLine($"budget {budget}: rank {report.Rank}, weight error {report.WeightError:G3}");
    }

    [Test]
    public void Plan_mode_writes_the_plans_depthwise_and_pointwise_factors()
    {
        using Model original = Conv(Fpn with { Input = [1, 16, 12, 12], OutChannels = 16, Seed = 4 });
        ConvLayer layer = ConvLayer.Find(original.Graph, ShapeInference.Run(original.Graph), "").Layers.Single();
        ConvFactors f = new ConvFitter(layer, Constants.Of(original.Graph.GetValue("w"))!, Constants.Of(original.Graph.GetValue("b"))).Fit(FactorizationMethod.Separable, 9);
        var plan = new SlimPlan(new Dictionary<string, ConvFactors> { ["w"] = f }, new Dictionary<string, NumericContract> { ["y"] = NumericContract.Approximate(1e-4, 1e-4) });
        using Model m = AssertNumerics(original, new LowerConvToSeparable(plan));
        Node dw = m.Graph.TopologicalOrder()[0], pw = m.Graph.TopologicalOrder()[1];
        Assert.That(dw.GetInt("group", 1), Is.EqualTo(16));
        Assert.That(Constants.Of(dw.Inputs[1])!.Dims, Is.EqualTo(new long[] { 144, 1, 3, 3 }));
        Assert.That(Constants.Of(pw.Inputs[1])!.Dims, Is.EqualTo(new long[] { 16, 144, 1, 1 }));
        Assert.That(new LowerConvToSeparable(plan).Numerics, Is.EqualTo(NumericContract.Approximate(1e-4, 1e-4)));
    }

    [Test]
    public void Output_error_tracks_the_weight_error()
    {
        using Model original = Conv(Fpn with { Input = [1, 16, 12, 12], OutChannels = 16, Seed = 4 });
        ModelBridge.Shapes.ShapeInference.Run(original.Graph);
        var inputs = Numerics.Inputs(original);
        var expected = Numerics.Run(original, inputs)["y"];
        double previous = double.PositiveInfinity;
        foreach (double budget in new[] { 0.5, 0.2, 0.05, 0.0 })
        {
            using Model m = original.Clone();
            var pass = new LowerConvToSeparable("/fpn/", budget);
            SeparableReport report = Reports(Run(m, pass))[0];
            double err = Numerics.RelativeToMax(expected, Numerics.Run(m, inputs)["y"]);
            TestContext.Out.WriteLine($"budget {budget}: rank {report.Rank}, weight error {report.WeightError:G3}, output error {err:G3}");
            Assert.That(err, Is.LessThanOrEqualTo(previous + 1e-7));
            Assert.That(err, Is.LessThanOrEqualTo(Math.Max(budget, 1e-5) * 2), "relative-to-max output error is of the order of the budget");
            previous = err;
        }
    }
}
