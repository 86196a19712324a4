using ModelBridge.Passes;
using ModelBridge.Rewriting;
using ModelBridge.Shapes;
using ModelBridge.Slimming;
using static ModelBridge.Tests.Passes.ConvModels;

namespace ModelBridge.Tests.Passes;

[TestFixture]
public sealed class DeclareSlimmingBudgetTests
{
    /// <summary>x → Conv(w) → y → Relu → z → Relu → out.</summary>
    private static Model Chain()
    {
        Model m = Conv(new ConvSpec { Input = [1, 4, 6, 6], OutChannels = 8, Pads = [1, 1, 1, 1] });
        Graph g = m.Graph;
        Node r1 = g.AddNode("Relu", [g.GetValue("y")], ["z"], name: "relu1");
        Node r2 = g.AddNode("Relu", [r1.Outputs[0]], ["out"], name: "relu2");
        g.SetOutputs([r2.Outputs[0]!]);
        return m;
    }

    private static SlimPlan PlanFor(Model m, params (string Value, NumericContract Contract)[] contracts)
    {
        ConvLayer layer = ConvLayer.Find(m.Graph, ShapeInference.Run(m.Graph), "").Layers.Single();
        ConvFactors f = new ConvFitter(layer, Constants.Of(m.Graph.GetValue("w"))!, Constants.Of(m.Graph.GetValue("b"))).Fit(FactorizationMethod.Channel, 3);
        return new SlimPlan(new Dictionary<string, ConvFactors> { ["w"] = f }, contracts.ToDictionary(c => c.Value, c => c.Contract));
    }

    [Test]
    public void Widens_the_tensors_downstream_once_and_leaves_the_graph_alone()
    {
        using Model m = Chain();
        var cz = NumericContract.Approximate(0.1, 0.2);
        var cout = NumericContract.Approximate(0.3, 0.4);
        SlimPlan plan = PlanFor(m, ("y", NumericContract.Approximate(0.05, 0.06)), ("z", cz), ("out", cout));
        var provenance = ProvenanceMap.Identity(m.Graph);
        PipelineResult r = new Pipeline([new DecomposeConvChannels(plan), new DeclareSlimmingBudget(plan)]).Run(m, null, provenance);
        Assert.That(r.Statistics.Single(s => s.Id == DeclareSlimmingBudget.PassId).Matches, Is.EqualTo(2), "z and out, once each over every round");
        Assert.That(r.Statistics.Single(s => s.Id == DeclareSlimmingBudget.PassId).NodesAdded, Is.Zero);
        Assert.That(provenance.Get("z")!.Contract, Is.EqualTo(cz));
        Assert.That(provenance.Get("out")!.Contract, Is.EqualTo(cout));
        Assert.That(provenance.Get("y")!.Contract, Is.EqualTo(NumericContract.Approximate(0.05, 0.06)), "the factored output keeps the contract its pass recorded");
        Assert.That(provenance.Get("out")!.Passes, Is.EqualTo(new[] { DeclareSlimmingBudget.PassId }));
        Assert.That(m.Graph.TopologicalOrder().Select(n => n.OpType), Is.EqualTo(new[] { "Conv", "Conv", "Relu", "Relu" }));
    }

    [Test]
    public void Tensors_the_plan_does_not_name_stay_exact()
    {
        using Model m = Chain();
        SlimPlan plan = PlanFor(m, ("z", NumericContract.Approximate(0.1, 0.1)));
        var provenance = ProvenanceMap.Identity(m.Graph);
        new Pipeline([new DeclareSlimmingBudget(plan)]).Run(m, null, provenance);
        Assert.That(provenance.Get("out")!.Contract.IsExact, Is.True);
        Assert.That(provenance.Get("x")!.Contract.IsExact, Is.True);
    }

    [Test]
    public void Declares_the_widest_contract_of_the_plan()
    {
        using Model m = Chain();
        SlimPlan plan = PlanFor(m, ("z", NumericContract.Approximate(0.1, 0.7)), ("out", NumericContract.Approximate(0.3, 0.2)));
        Assert.That(new DeclareSlimmingBudget(plan).Numerics, Is.EqualTo(NumericContract.Approximate(0.3, 0.7)));
        Assert.That(new DeclareSlimmingBudget(plan).GeneratedOps, Is.Empty);
    }

    [Test]
    public void A_measured_budget_survives_the_map_and_stays_measured_when_composed()
    {
        using Model m = Chain();
        var measured = NumericContract.Measured(0.1, 0.2);
        SlimPlan plan = PlanFor(m, ("z", measured), ("out", NumericContract.Measured(0.3, 0.4)));
        var provenance = ProvenanceMap.Identity(m.Graph);
        new Pipeline([new DecomposeConvChannels(plan), new DeclareSlimmingBudget(plan)]).Run(m, null, provenance);
        Assert.That(plan.Bound().IsMeasured, Is.True, "the plan's bound is a measured total too");
        ProvenanceMap back = ProvenanceMap.FromJson(provenance.ToJson());
        Assert.That(back.Get("z")!.Contract, Is.EqualTo(measured));
        Assert.That(back.Get("z")!.Contract, Is.Not.EqualTo(NumericContract.Approximate(0.1, 0.2)), "measured and local budgets of the same size differ");
        Assert.That(back.Get("y")!.Contract, Is.EqualTo(NumericContract.Measured(0.3, 0.4)), "a factored output the plan does not name gets the plan's measured bound");
        Assert.That(provenance.ToJson(), Does.Contain("\"measured\": true"));
        Assert.That(NumericContract.Approximate(0.01, 0.02).Then(measured), Is.EqualTo(NumericContract.Measured(0.11, 0.22)));
        Assert.That(measured.ToString(), Is.EqualTo("measured(rtol=0.1, atol=0.2)"));
        Assert.That(ProvenanceMap.Identity(m.Graph).ToJson(), Does.Not.Contain("measured"), "maps without slimming are unchanged");
    }
}
