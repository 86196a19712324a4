using ModelBridge.Passes;
using ModelBridge.Profiles;
using ModelBridge.Rewriting;
using static ModelBridge.Tests.Passes.ActivationModels;

namespace ModelBridge.Tests.Passes;

[TestFixture]
public sealed class LowerHardSigmoidTests
{
    private static Sample HardSigmoid(float alpha = 0.2f, float beta = 0.5f, long opset = 17) =>
        new("HardSigmoid", opset) { Attributes = [Attr.Float("alpha", alpha), Attr.Float("beta", beta)], Label = $"HardSigmoid({alpha:G9}, {beta:G9})" };

    private static TargetProfile Nnapi => TargetProfile.BuiltIn("ort-nnapi");

    private static IEnumerable<TestCaseData> FormsAndParameters()
    {
        foreach (LoweringForm form in new LowerHardSigmoid().Forms)
        {
            foreach ((float a, float b) in new[] { (0.2f, 0.5f), (1f / 6f, 0.5f), (0.25f, 0.4f), (0.1f, -0.3f) })
            {
                yield return new TestCaseData(form.Name, a, b).SetArgDisplayNames(form.Name, $"{a:G3}", $"{b:G3}");
            }
        }
    }

    [TestCaseSource(nameof(FormsAndParameters))]
    public void Every_form_meets_its_own_contract_in_ort(string form, float alpha, float beta)
    {
        LoweringForm f = new LowerHardSigmoid().Forms.Single(x => x.Name == form);
        // Breakpoints of the clamp: α·x + β = 0 and = 1.
        AssertFormMeetsContract(HardSigmoid(alpha, beta), f, ProbeData(-beta / alpha, (1 - beta) / alpha));
    }

    [Test]
    public void Exact_forms_come_before_rescaled_ones()
    {
        var forms = new LowerHardSigmoid().Forms;
        Assert.That(forms.Select(f => f.Name), Is.EqualTo(new[] { "clip", "relu-min", "max-min", "relu1", "relu6" }));
        Assert.That(forms.Take(3).All(f => f.Numerics.IsExact), Is.True);
        Assert.That(forms.Skip(3).All(f => !f.Numerics.IsExact), Is.True);
    }

    [Test]
    public void Without_a_target_lowers_into_clip()
    {
        using Model m = HardSigmoid().Build();
        PipelineResult r = Run(m, new LowerHardSigmoid());
        Assert.That(Ops(m), Is.EqualTo(new[] { "Mul", "Add", "Clip" }));
        Assert.That(m.Graph.Outputs[0].Name, Is.EqualTo("y"));
        Assert.That(Choices(r).Single().Form, Is.EqualTo("clip"));
    }

    [Test]
    public void On_nnapi_chooses_relu_min_because_nnapi_refuses_clip_0_1()
    {
        using Model m = HardSigmoid().Build();
        PipelineResult r = Run(m, new LowerHardSigmoid(Nnapi));
        Assert.That(Ops(m), Is.EqualTo(new[] { "Mul", "Add", "Relu", "Min" }));
        LoweringChoice choice = Choices(r).Single();
        Assert.That(choice.Form, Is.EqualTo("relu-min"));
        Assert.That(choice.PassedOver.Single(), Does.StartWith("clip: Clip refused: [clipBounds] Clip(0, 1); ort-nnapi runs only Clip(0, 6) or (-1, 1)"));
        Assert.That(ProfileChecker.Check(m.Graph, Nnapi).AllSupported, Is.True);
        Assert.That(r.Provenance.Get("y")!.Contract.IsExact, Is.True, "the tensor map records the chosen form's contract");
    }

    [Test]
    public void On_coreml_keeps_the_clip_form_with_constant_bounds()
    {
        using Model m = HardSigmoid().Build();
        Run(m, new LowerHardSigmoid(TargetProfile.BuiltIn("ort-coreml-neuralnetwork")));
        Assert.That(Ops(m), Is.EqualTo(new[] { "Mul", "Add", "Clip" }));
    }

    [Test]
    public void Before_opset_11_the_clip_bounds_are_attributes_and_nnapi_still_gets_relu_min()
    {
        using Model m = HardSigmoid(opset: 9).Build();
        Run(m, new LowerHardSigmoid(TargetProfile.BuiltIn("ort-coreml-neuralnetwork")));
        Node clip = m.Graph.Nodes.Single(n => n.OpType == "Clip");
        Assert.That((clip.GetFloat("min", -1), clip.GetFloat("max", -1), clip.Inputs.Count), Is.EqualTo((0f, 1f, 1)));

        using Model n9 = HardSigmoid(opset: 9).Build();
        Run(n9, new LowerHardSigmoid(Nnapi));
        Assert.That(Ops(n9), Is.EqualTo(new[] { "Mul", "Add", "Relu", "Min" }));
    }

    [Test]
    public void Takes_a_rescaled_form_when_only_relu6_is_accepted()
    {
        TargetProfile relu6Only = ProfileWith("""
            "Mul": {}, "Add": {}, "Div": {}, "Clip": { "clipBounds": [[0, 6]] }
            """);
        using Model m = HardSigmoid(0.25f, 0.4f).Build();
        PipelineResult r = Run(m, new LowerHardSigmoid(relu6Only));
        LoweringChoice choice = Choices(r).Single();
        Assert.That(choice.Form, Is.EqualTo("relu6"));
        Assert.That(choice.Numerics, Is.EqualTo(LowerHardSigmoid.RescaledNumerics));
        Assert.That(choice.PassedOver.Select(p => p.Split(':')[0]), Is.EqualTo(new[] { "clip", "relu-min", "max-min", "relu1" }));
        Assert.That(r.Provenance.Get("y")!.Contract, Is.EqualTo(LowerHardSigmoid.RescaledNumerics));
        Assert.That(ProfileChecker.Check(m.Graph, relu6Only).AllSupported, Is.True);
    }

    [Test]
    public void Does_not_fire_when_the_target_accepts_no_form_and_says_what_refused_each()
    {
        TargetProfile clip6Only = ProfileWith("""
            "Mul": {}, "Add": {}, "Clip": { "clipBounds": [[0, 6]] }
            """);
        using Model m = HardSigmoid().Build();
        PipelineResult r = Run(m, new LowerHardSigmoid(clip6Only));
        Assert.That(Ops(m), Is.EqualTo(new[] { "HardSigmoid" }));
        string reason = r.Statistics.Single().FailureSamples.Single();
        Assert.That(reason, Does.Contain("no form of HardSigmoid is accepted by test"));
        Assert.That(reason, Does.Contain("clip: Clip refused: [clipBounds] Clip(0, 1)"));
        Assert.That(reason, Does.Contain("relu-min: Relu refused: [op] test has no Relu operator"));
        Assert.That(reason, Does.Contain("max-min: Max refused: [op]"));
        Assert.That(reason, Does.Contain("relu1: Clip refused: [clipBounds] Clip(-1, 1)"));
        Assert.That(reason, Does.Contain("relu6: Div refused: [op] test has no Div operator"));
    }

    [Test]
    public void Does_not_fire_on_nnapi_while_the_shape_is_symbolic()
    {
        using Model m = (HardSigmoid() with { SymbolicBatch = true }).Build();
        PipelineResult r = Run(m, new LowerHardSigmoid(Nnapi));
        Assert.That(Ops(m), Is.EqualTo(new[] { "HardSigmoid" }));
        Assert.That(r.Statistics.Single().FailureSamples.Single(), Does.Contain("[staticShapes]").And.Contain("--set-dim"));

        using Model pinned = (HardSigmoid() with { SymbolicBatch = true }).Build();
        Run(pinned, new LowerHardSigmoid(Nnapi), new Dictionary<string, long> { ["N"] = 1 });
        Assert.That(Ops(pinned), Is.EqualTo(new[] { "Mul", "Add", "Relu", "Min" }), "pinned dims make every node static");
    }

    [Test]
    public void Does_not_fire_before_opset_7()
    {
        using Model m = HardSigmoid(opset: 6).Build();
        PipelineResult r = Run(m, new LowerHardSigmoid());
        Assert.That(r.Statistics[0].Matches, Is.Zero);
        Assert.That(r.Statistics[0].FailureSamples.Single(), Does.Contain("opset 7"));
    }

    [Test]
    public void Second_run_changes_nothing()
    {
        using Model m = HardSigmoid().Build();
        AssertIdempotent(m, new LowerHardSigmoid(Nnapi));
    }

    [Test]
    public void Declares_the_ops_of_every_form()
    {
        Assert.That(new LowerHardSigmoid().GeneratedOps, Is.EquivalentTo(new[] { "Mul", "Add", "Clip", "Relu", "Min", "Max", "Div" }));
        Assert.That(new LowerHardSigmoid(Nnapi).Numerics, Is.EqualTo(LowerHardSigmoid.RescaledNumerics), "nnapi lists the ops of the rescaled forms too");
        Assert.That(new LowerHardSigmoid(TargetProfile.BuiltIn("ort-coreml-neuralnetwork")).Numerics, Is.EqualTo(LowerHardSigmoid.RescaledNumerics));
    }

    [Test]
    public void Matches_golden_on_nnapi()
    {
        using Model m = HardSigmoid(0.2f, 0.5f).Build();
        Run(m, new LowerHardSigmoid(Nnapi));
        Golden.AssertMatches("lower-hardsigmoid-ort-nnapi", Print(m));
    }
}
