using ModelBridge.Passes;
using ModelBridge.Profiles;
using ModelBridge.Rewriting;
using static ModelBridge.Tests.Passes.ActivationModels;

namespace ModelBridge.Tests.Passes;

[TestFixture]
public sealed class LowerGeluTests
{
    private static Sample Gelu(string approximate = "none") =>
        new("Gelu", 20) { Attributes = approximate == "none" ? [] : [Attr.String("approximate", approximate)], Shape = [2, 3, 5, 5], Label = $"Gelu({approximate})" };

    [TestCase("none", "erf")]
    [TestCase("tanh", "tanh")]
    public void Each_formula_meets_its_contract_in_ort(string approximate, string form)
    {
        // Magnitudes up to 1e30 overflow x³ in the tanh formula; the contract is about the working range.
        float[] data = [.. ProbeData(0f).Where(v => Math.Abs(v) < 1e4f)];
        AssertFormMeetsContract(Gelu(approximate), new LowerGelu().Forms.Single(f => f.Name == form), data);
    }

    [TestCase("none", new[] { "Div", "Erf", "Add", "Mul", "Mul" })]
    [TestCase("tanh", new[] { "Mul", "Mul", "Mul", "Add", "Mul", "Tanh", "Add", "Mul", "Mul" })]
    public void Without_a_target_lowers_into_the_spec_formula(string approximate, string[] ops)
    {
        using Model m = Gelu(approximate).Build();
        using Model original = Gelu(approximate).Build();
        PipelineResult r = Run(m, new LowerGelu());
        Assert.That(Ops(m), Is.EquivalentTo(ops));
        Assert.That(m.Graph.Outputs[0].Name, Is.EqualTo("y"));
        Numerics.AssertMeetsContract(original, m, Choices(r).Single().Numerics);
    }

    [TestCase("ort-nnapi")]
    [TestCase("ort-coreml-neuralnetwork")]
    [TestCase("xnnpack")]
    public void Is_left_where_the_target_has_no_erf_and_says_so(string target)
    {
        using Model m = Gelu().Build();
        PipelineResult r = Run(m, new LowerGelu(TargetProfile.BuiltIn(target)));
        Assert.That(Ops(m), Is.EqualTo(new[] { "Gelu" }));
        string reason = r.Statistics[0].FailureSamples.Single();
        Assert.That(reason, Does.Contain($"no form of Gelu is accepted by {target}"));
        Assert.That(reason, Does.Contain($"erf: Erf refused: [op] {target} has no Erf operator"));
        Assert.That(reason, Does.Contain("tanh: approximate = none asks for the erf formula"));
    }

    [Test]
    public void The_tanh_formula_runs_where_tanh_does()
    {
        TargetProfile nnapi = TargetProfile.BuiltIn("ort-nnapi");
        using Model m = Gelu("tanh").Build();
        Run(m, new LowerGelu(nnapi));
        Assert.That(Ops(m), Does.Contain("Tanh"));
        Assert.That(ProfileChecker.Check(m.Graph, nnapi).AllSupported, Is.True);
    }

    [Test]
    public void Second_run_changes_nothing()
    {
        using Model m = Gelu().Build();
        AssertIdempotent(m, new LowerGelu());
    }

    [Test]
    public void Matches_golden()
    {
        using Model m = Gelu("tanh").Build();
        Run(m, new LowerGelu(TargetProfile.BuiltIn("ort-nnapi")));
        Golden.AssertMatches("lower-gelu-tanh-ort-nnapi", Print(m));
    }
}
