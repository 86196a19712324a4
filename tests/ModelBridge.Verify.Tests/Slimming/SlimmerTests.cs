using ModelBridge.Costs;
using ModelBridge.Passes;
using ModelBridge.Profiles;
using ModelBridge.Rewriting;
using ModelBridge.Shapes;
using ModelBridge.Slimming;
using ModelBridge.Verify.Slimming;

namespace ModelBridge.Verify.Tests.Slimming;

/// <summary>
/// Slimming the trained face detector end to end: the plan meets the MAC budget, the converted model's
/// cost is what the plan says, verify judges the slimmed tensors by the budgets the plan measured, and an
/// unrelated fault is still found and named.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class SlimmerTests
{
    private static string Dir => Path.Combine(TestPaths.Fixtures, "real", "version-RFB-320");

    private static readonly TargetProfile Target = TargetProfile.BuiltIn("ort-nnapi");

    private static SlimOptions Quick(double f) => new() { TargetMacs = f, Steps = 3, SensitivitySamples = 1, PositionsPerImage = 256 };

    private static ParityInputs Photo(int k) => ParityInputs.FromTestData(TestDataSet.FindFolders(Dir)[k]);

    private static (Model Original, SlimResult Plan, ConversionResult Result) Slim(double f)
    {
        Model original = Model.Load(Path.Combine(Dir, "model.onnx"));
        SlimResult plan = Slimmer.Plan(original, Target, new ConvertOptions(), Photo(0), Quick(f));
        ConversionResult result = ModelConverter.Convert(original, Target, new ConvertOptions { Slimming = plan.Plan });
        return (original, plan, result);
    }

    [Test]
    public void The_plan_meets_the_budget_and_the_converted_model_costs_what_it_says()
    {
        var (original, plan, result) = Slim(0.75);
        using (original)
        using (result.Model)
        {
            Assert.That(plan.Allocation.Met, Is.True);
            Assert.That(plan.DataAware, Is.True);
            long before = CostModel.Compute(original.Graph, ShapeInference.Run(original.Graph)).TotalMacs;
            long after = CostModel.Compute(result.Model.Graph, ShapeInference.Run(result.Model.Graph)).TotalMacs;
            Assert.That(plan.ModelMacs, Is.EqualTo(before));
            Assert.That(after, Is.EqualTo(plan.Allocation.Macs), "the cost model agrees with the per-layer formulas");
            Assert.That(after, Is.LessThanOrEqualTo(0.75 * before));
            int factored = result.Statistics.Where(s => SlimPlan.PassIds.Take(3).Contains(s.Id)).Sum(s => s.Matches);
            Assert.That(factored, Is.EqualTo(plan.Layers.Count(l => l.Method is not null)));
            foreach (SlimLayerReport l in plan.Layers.Where(l => l.Method is not null))
            {
                long perPixel = l.Shape.Split('x').Select(long.Parse).Aggregate(1L, (a, b) => a * b);
                long patches = Math.Min(l.MacsBefore / perPixel, 256);
                Assert.That(l.Fit, Is.EqualTo(patches >= ConvFitter.MinPatches ? FitKind.Data : FitKind.Weights), $"{l.Nodes[0]}: {patches} calibration patches");
            }
            Assert.That(plan.Layers.Sum(l => l.MacsBefore - l.MacsAfter), Is.EqualTo(before - after));
        }
    }

    [Test]
    public void Verify_judges_slimmed_tensors_by_the_plan_and_still_names_an_unrelated_fault()
    {
        var (original, plan, result) = Slim(0.8);
        using (original)
        using (result.Model)
        {
            var options = new ParityOptions { Target = Target, Localize = true };
            // On the calibration photograph the budgets were measured on: what this checks is that the map carries
            // them to every tensor the slimming changes (a tensor left out would diverge). A budget is a calibration
            // measure, not a bound: on the other photograph 11 of 128 tensors exceed it (docs/verify.md).
            ParityReport clean = ParityChecker.Compare(original, result.Model, result.TensorMap, Photo(0), options);
            Assert.That(clean.Passed, Is.True, clean.ToString());
            Assert.That(clean.Tensors.Count(t => t.Passes.Any(p => SlimPlan.PassIds.Contains(p))), Is.GreaterThan(10), "slimmed tensors carry the plan's budget");
            ParityReport unwidened = ParityChecker.Compare(original, result.Model, result.TensorMap, Photo(0), options with { WidenByContract = false, Localize = false });
            Assert.That(unwidened.Passed, Is.False, "without the budgets the slimming error would fail verify: the contracts are what let it pass");

            // An unrelated fault: a conv the plan did not touch (a depthwise one, downstream of slimmed layers) gets a bias shift.
            Node victim = result.Model.Graph.TopologicalOrder().Where(n => n.OpType == "Conv" && n.GetInt("group", 1) > 1 && n.Input(2) is not null).ElementAt(8);
            string tensor = victim.Outputs[0]!.Name;
            Assert.That(result.TensorMap.Get(tensor)!.Passes, Does.Contain(DeclareSlimmingBudget.PassId), "the victim lies downstream of slimmed layers");
            Value bias = victim.Inputs[2]!;
            float[] shifted = [.. Constants.Of(bias)!.ToFloatArray().Select(v => v + 5f)];
            GraphRewriter.Edit(result.Model.Graph, "inject-fault", r => r.SetInput(victim, 2, r.CreateInitializer("faulty_bias", Tensor.Create<float>([shifted.Length], shifted))));
            ParityReport faulty = ParityChecker.Compare(original, result.Model, result.TensorMap, Photo(0), options);
            Assert.That(faulty.Passed, Is.False);
            Assert.That(faulty.FirstDivergence!.Name, Is.EqualTo(tensor), faulty.ToString());
            Assert.That(faulty.FirstDivergence.Local!.Passed, Is.False, "the fault is local to that conv, not carried from the slimmed layers");
        }
    }

    [Test]
    public void Without_calibration_data_it_fits_the_weights_and_says_so()
    {
        using Model original = Model.Load(Path.Combine(Dir, "model.onnx"));
        SlimResult plan = Slimmer.Plan(original, Target, new ConvertOptions(), null, Quick(0.8));
        Assert.That(plan.DataAware, Is.False);
        Assert.That(plan.Notes, Has.Some.Contains("no calibration data"));
        Assert.That(plan.Layers.Where(l => l.Method is not null).Select(l => l.Fit), Is.All.EqualTo(FitKind.Weights));
        Assert.That(plan.Allocation.Met, Is.True);
    }

    [Test]
    public void An_unreachable_budget_is_reported_not_met()
    {
        using Model original = Model.Load(Path.Combine(Dir, "model.onnx"));
        SlimResult plan = Slimmer.Plan(original, Target, new ConvertOptions(), null, Quick(0.05));
        Assert.That(plan.Allocation.Met, Is.False);
        Assert.That(plan.Notes, Has.Some.Contains("cannot be met"));
    }

    [Test]
    public void A_scope_that_matches_nothing_is_refused()
    {
        using Model original = Model.Load(Path.Combine(Dir, "model.onnx"));
        var ex = Assert.Throws<ArgumentException>(() => Slimmer.Plan(original, Target, new ConvertOptions(), null, Quick(0.8) with { Scope = "no-such-layer" }));
        Assert.That(ex!.Message, Does.Contain("no-such-layer"));
    }
}
