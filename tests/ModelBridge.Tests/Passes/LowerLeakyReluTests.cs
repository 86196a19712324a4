using ModelBridge.Passes;
using ModelBridge.Profiles;
using ModelBridge.Rewriting;
using static ModelBridge.Tests.Passes.ActivationModels;

namespace ModelBridge.Tests.Passes;

[TestFixture]
public sealed class LowerLeakyReluTests
{
    private static Sample LeakyRelu(float alpha = 0.1f, long opset = 17) =>
        new("LeakyRelu", opset) { Attributes = [Attr.Float("alpha", alpha)], Label = $"LeakyRelu({alpha})" };

    /// <summary>Every form, for the slopes where its precondition holds.</summary>
    private static IEnumerable<TestCaseData> FormsAndSlopes()
    {
        var pass = new LowerLeakyRelu();
        foreach (float alpha in new[] { 0.01f, 0.2f, 1f, 1.5f, -0.3f })
        {
            using Model m = LeakyRelu(alpha).Build();
            foreach (LoweringForm form in pass.Forms.Where(f => f.Precondition?.Invoke(m.Graph, Root(m, "LeakyRelu")) is null))
            {
                yield return new TestCaseData(form.Name, alpha).SetArgDisplayNames(form.Name, $"{alpha}");
            }
        }
    }

    [TestCaseSource(nameof(FormsAndSlopes))]
    public void Every_form_meets_its_own_contract_in_ort(string form, float alpha) =>
        AssertFormMeetsContract(LeakyRelu(alpha), new LowerLeakyRelu().Forms.Single(f => f.Name == form), ProbeData(0f, 1e-40f, -1e-40f));

    [Test]
    public void Relu_sum_differs_from_the_kernel_only_in_the_sign_of_underflowing_zeros()
    {
        // α·x underflows to −0 for tiny negative x; Relu(x) + (−0) is +0, so relu-sum is not bit-exact.
        float[] tiny = [-1e-45f, -1e-44f, -3e-39f];
        Sample sample = LeakyRelu(0.01f) with { Shape = [tiny.Length] };
        using Model original = sample.Build();
        using Model lowered = sample.Build();
        ApplyForm(lowered, "LeakyRelu", new LowerLeakyRelu().Forms.Single(f => f.Name == "relu-sum"));
        var inputs = new Dictionary<string, ModelBridge.Verify.TensorData> { ["x"] = ModelBridge.Verify.TensorData.Create<float>([tiny.Length], tiny) };
        float[] expected = [.. Numerics.Run(original, inputs)["y"].ToDoubleArray().Select(d => (float)d)];
        float[] actual = [.. Numerics.Run(lowered, inputs)["y"].ToDoubleArray().Select(d => (float)d)];
        Assert.That(expected.Select(float.IsNegative), Is.All.True, "the kernel gives −0 or a negative value");
        Assert.That(actual.Zip(expected).All(p => p.First == p.Second), Is.True, "equal as numbers");
        Assert.That(actual.Zip(expected).Any(p => BitConverter.SingleToInt32Bits(p.First) != BitConverter.SingleToInt32Bits(p.Second)), Is.True, "not as bits");
        Assert.That(LowerLeakyRelu.SignOfZeroNumerics.IsExact, Is.False);
    }

    [TestCase(0.1f, new[] { "PRelu" }, "prelu")]
    [TestCase(1.5f, new[] { "PRelu" }, "prelu")]
    public void Without_a_target_lowers_into_prelu(float alpha, string[] ops, string form)
    {
        using Model m = LeakyRelu(alpha).Build();
        PipelineResult r = Run(m, new LowerLeakyRelu());
        Assert.That(Ops(m), Is.EqualTo(ops));
        Assert.That(Choices(r).Single().Form, Is.EqualTo(form));
        Assert.That(Constants.Of(m.Graph.Nodes.Single().Inputs[1])!.ToFloatArray(), Is.EqualTo(new[] { alpha }));
        Assert.That(m.Graph.Outputs[0].Name, Is.EqualTo("y"));
    }

    [TestCase(0.1f, new[] { "Mul", "Max" }, "max")]
    [TestCase(1.5f, new[] { "Mul", "Min" }, "min")]
    [TestCase(-0.3f, new[] { "Min", "Mul", "Relu", "Add" }, "relu-sum")]
    public void On_a_target_without_prelu_chooses_by_slope(float alpha, string[] ops, string form)
    {
        TargetProfile noPrelu = ProfileWith("""
            "Mul": {}, "Add": {}, "Max": {}, "Min": {}, "Relu": {}
            """);
        using Model m = LeakyRelu(alpha).Build();
        PipelineResult r = Run(m, new LowerLeakyRelu(noPrelu));
        Assert.That(Ops(m), Is.EquivalentTo(ops));
        Assert.That(Choices(r).Single().Form, Is.EqualTo(form));
        Assert.That(ProfileChecker.Check(m.Graph, noPrelu).AllSupported, Is.True);
    }

    [Test]
    public void Leaves_a_leakyrelu_every_built_in_target_runs()
    {
        foreach (string name in TargetProfile.BuiltInNames)
        {
            using Model m = LeakyRelu().Build();
            PipelineResult r = Run(m, new LowerLeakyRelu(TargetProfile.BuiltIn(name)));
            Assert.That(Ops(m), Is.EqualTo(new[] { "LeakyRelu" }), name);
            Assert.That(r.Statistics[0].FailureSamples.Single(), Does.Contain($"{name} accepts this LeakyRelu as it is"));
        }
    }

    [Test]
    public void Second_run_changes_nothing()
    {
        using Model m = LeakyRelu().Build();
        Run(m, new LowerLeakyRelu());
        string once = Print(m);
        Assert.That(Run(m, new LowerLeakyRelu()).Statistics[0].Matches, Is.Zero, "PRelu is not the root op");
        Assert.That(Print(m), Is.EqualTo(once));
    }

    [Test]
    public void Matches_golden()
    {
        TargetProfile noPrelu = ProfileWith("""
            "Mul": {}, "Max": {}
            """);
        using Model m = LeakyRelu(0.1f).Build();
        Run(m, new LowerLeakyRelu(noPrelu));
        Golden.AssertMatches("lower-leakyrelu-max", Print(m));
    }
}
