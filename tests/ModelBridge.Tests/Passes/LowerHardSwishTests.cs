using ModelBridge.Passes;
using ModelBridge.Profiles;
using ModelBridge.Rewriting;
using static ModelBridge.Tests.Passes.ActivationModels;

namespace ModelBridge.Tests.Passes;

[TestFixture]
public sealed class LowerHardSwishTests
{
    private static Sample HardSwish(long opset = 17) => new("HardSwish", opset);

    private static IEnumerable<string> FormNames() => new LowerHardSwish().Forms.Select(f => f.Name);

    [TestCaseSource(nameof(FormNames))]
    public void Every_form_meets_its_own_contract_in_ort(string form) =>
        AssertFormMeetsContract(HardSwish(), new LowerHardSwish().Forms.Single(f => f.Name == form), ProbeData(-3f, 3f));

    [Test]
    public void Exact_forms_come_before_the_relu6_forms()
    {
        var forms = new LowerHardSwish().Forms;
        Assert.That(forms.Select(f => f.Name), Is.EqualTo(new[] { "hardsigmoid", "clip", "relu-min", "max-min", "relu6", "relu6-min" }));
        Assert.That(forms.Select(f => f.Numerics.IsExact), Is.EqualTo(new[] { true, true, true, true, false, false }));
    }

    [Test]
    public void Without_a_target_lowers_into_x_times_hardsigmoid_and_keeps_the_name()
    {
        using Model m = HardSwish().Build();
        Run(m, new LowerHardSwish());
        Assert.That(Ops(m), Is.EqualTo(new[] { "HardSigmoid", "Mul" }));
        Node gate = m.Graph.Nodes.Single(n => n.OpType == "HardSigmoid");
        Assert.That((gate.GetFloat("alpha", 0), gate.GetFloat("beta", 0)), Is.EqualTo((1f / 6f, 0.5f)));
        Assert.That(m.Graph.Outputs[0].Name, Is.EqualTo("y"));
    }

    [TestCase("ort-nnapi", new[] { "Mul", "Add", "Relu", "Min", "Mul" }, "relu-min")]
    [TestCase("ort-coreml-neuralnetwork", new[] { "Mul", "Add", "Clip", "Mul" }, "clip")]
    [TestCase("ort-coreml-mlprogram", new[] { "Mul", "Add", "Clip", "Mul" }, "clip")]
    public void Chooses_the_first_exact_form_the_target_accepts(string target, string[] ops, string form)
    {
        TargetProfile profile = TargetProfile.BuiltIn(target);
        using Model m = HardSwish().Build();
        PipelineResult r = Run(m, new LowerHardSwish(profile));
        Assert.That(Ops(m), Is.EqualTo(ops));
        Assert.That(Choices(r).Single().Form, Is.EqualTo(form));
        Assert.That(Choices(r).Single().PassedOver[0], Does.StartWith($"hardsigmoid: HardSigmoid refused: [op] {target} has no HardSigmoid operator"));
        Assert.That(ProfileChecker.Check(m.Graph, profile).AllSupported, Is.True);
    }

    [TestCase("xnnpack")]
    [TestCase("ncnn")]
    [TestCase("tflite-builtins")]
    public void Leaves_a_hardswish_the_target_runs(string target)
    {
        using Model m = HardSwish().Build();
        PipelineResult r = Run(m, new LowerHardSwish(TargetProfile.BuiltIn(target)));
        Assert.That(Ops(m), Is.EqualTo(new[] { "HardSwish" }));
        Assert.That(r.Statistics[0].FailureSamples.Single(), Does.Contain($"{target} accepts this HardSwish as it is"));
    }

    [Test]
    public void Takes_the_relu6_form_where_only_relu6_clamps_are_accepted()
    {
        TargetProfile relu6Only = ProfileWith("""
            "Mul": {}, "Add": {}, "Div": {}, "Clip": { "clipBounds": [[0, 6]] }
            """);
        using Model m = HardSwish().Build();
        PipelineResult r = Run(m, new LowerHardSwish(relu6Only));
        Assert.That(Ops(m), Is.EqualTo(new[] { "Add", "Clip", "Div", "Mul" }));
        Assert.That(Choices(r).Single().Numerics, Is.EqualTo(LowerHardSwish.Relu6Numerics));
        Assert.That(r.Provenance.Get("y")!.Contract, Is.EqualTo(LowerHardSwish.Relu6Numerics));
    }

    [Test]
    public void Second_run_changes_nothing()
    {
        TargetProfile nnapi = TargetProfile.BuiltIn("ort-nnapi");
        using Model m = HardSwish().Build();
        AssertIdempotent(m, new LowerHardSwish(nnapi));
    }

    [Test]
    public void Matches_golden_on_nnapi()
    {
        using Model m = HardSwish().Build();
        Run(m, new LowerHardSwish(TargetProfile.BuiltIn("ort-nnapi")));
        Golden.AssertMatches("lower-hardswish-ort-nnapi", Print(m));
    }
}
