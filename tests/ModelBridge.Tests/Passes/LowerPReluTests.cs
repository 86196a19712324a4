using ModelBridge.Passes;
using ModelBridge.Profiles;
using ModelBridge.Rewriting;
using static ModelBridge.Tests.Passes.ActivationModels;

namespace ModelBridge.Tests.Passes;

[TestFixture]
public sealed class LowerPReluTests
{
    /// <summary>PRelu on x [*, 3, ...] with a constant slope of shape [3, 1, 1] (or [1]).</summary>
    private static Sample PRelu(float[] slope, long opset = 17) => new("PRelu", opset)
    {
        Extra = g => [g.AddInitializer("slope", slope.Length == 1 ? Tensor.Create<float>([1], slope) : Tensor.Create<float>([3, 1, 1], slope))],
        Shape = [2, 3, 5, 5],
        Label = $"PRelu([{string.Join(", ", slope)}])",
    };

    private static Sample RuntimeSlope() => new("PRelu", 17)
    {
        Extra = g => [g.AddInput("slope", new TensorType(DataType.Float, TensorShape.Of(3, 1, 1)))],
        Shape = [2, 3, 5, 5],
        Label = "PRelu(runtime slope)",
    };

    private static IEnumerable<TestCaseData> FormsAndSlopes()
    {
        var pass = new LowerPRelu();
        foreach (float[] slope in new[] { [0.25f], new[] { 0.1f, 0.25f, 1f }, new[] { 1f, 1.5f, 3f }, new[] { 0.1f, 0.25f, -0.3f } })
        {
            using Model m = PRelu(slope).Build();
            foreach (LoweringForm form in pass.Forms.Where(f => f.Precondition?.Invoke(m.Graph, Root(m, "PRelu")) is null))
            {
                yield return new TestCaseData(form.Name, slope).SetArgDisplayNames(form.Name, $"[{string.Join(",", slope)}]");
            }
        }
    }

    [TestCaseSource(nameof(FormsAndSlopes))]
    public void Every_form_meets_its_own_contract_in_ort(string form, float[] slope)
    {
        // x is [n/3, 3, 1, 1] so the per-channel slope broadcasts over the probe values.
        float[] data = ProbeData(0f);
        data = data[..(data.Length / 3 * 3)];
        Sample sample = PRelu(slope) with { Shape = [data.Length / 3, 3, 1, 1] };
        using Model original = sample.Build();
        using Model lowered = sample.Build();
        LoweringForm f = new LowerPRelu().Forms.Single(x => x.Name == form);
        ApplyForm(lowered, "PRelu", f);
        Assert.That(lowered.Graph.Nodes.Select(n => n.OpType).Distinct(), Is.SubsetOf(f.Ops));
        var inputs = new Dictionary<string, ModelBridge.Verify.TensorData> { ["x"] = ModelBridge.Verify.TensorData.Create<float>([data.Length / 3, 3, 1, 1], data) };
        var expected = Numerics.Run(original, inputs)["y"];
        var actual = Numerics.Run(lowered, inputs)["y"];
        TestContext.Out.WriteLine($"{sample} {form}: bit-identical {expected.Equals(actual)}");
        Numerics.AssertClose($"{sample} as {form}", expected, actual, f.Numerics);
    }

    [Test]
    public void A_runtime_slope_takes_the_relu_sum_form()
    {
        using Model m = RuntimeSlope().Build();
        using Model original = RuntimeSlope().Build();
        PipelineResult r = Run(m, new LowerPRelu());
        LoweringChoice choice = Choices(r).Single();
        Assert.That(choice.Form, Is.EqualTo("relu-sum"));
        Assert.That(choice.PassedOver, Has.Count.EqualTo(3).And.All.Contain("constant"));
        Numerics.AssertMeetsContract(original, m, choice.Numerics);
    }

    [TestCase(new[] { 0.25f }, "leakyrelu")]
    [TestCase(new[] { 0.1f, 0.25f, 1f }, "max")]
    [TestCase(new[] { 1f, 1.5f, 3f }, "min")]
    [TestCase(new[] { 0.1f, 0.25f, -0.3f }, "relu-sum")]
    public void Without_a_target_takes_the_first_form_the_slope_allows(float[] slope, string form)
    {
        using Model m = PRelu(slope).Build();
        PipelineResult r = Run(m, new LowerPRelu());
        Assert.That(Choices(r).Single().Form, Is.EqualTo(form));
        Assert.That(m.Graph.Outputs[0].Name, Is.EqualTo("y"));
    }

    [Test]
    public void On_xnnpack_a_one_value_slope_becomes_leakyrelu_and_others_max()
    {
        TargetProfile xnnpack = TargetProfile.BuiltIn("xnnpack");
        using Model one = PRelu([0.25f]).Build();
        Run(one, new LowerPRelu(xnnpack));
        Assert.That(Ops(one), Is.EqualTo(new[] { "LeakyRelu" }));
        Assert.That(one.Graph.Nodes.Single().GetFloat("alpha", 0), Is.EqualTo(0.25f));

        using Model perChannel = PRelu([0.1f, 0.25f, 1f]).Build();
        Run(perChannel, new LowerPRelu(xnnpack));
        Assert.That(Ops(perChannel), Is.EqualTo(new[] { "Mul", "Max" }));
        Assert.That(ProfileChecker.Check(perChannel.Graph, xnnpack).AllSupported, Is.True);
    }

    [Test]
    public void On_coreml_a_runtime_slope_is_refused_and_no_form_is_accepted()
    {
        // CoreML wants a constant slope; the relu-sum form needs Min, which CoreML lacks.
        using Model m = RuntimeSlope().Build();
        PipelineResult r = Run(m, new LowerPRelu(TargetProfile.BuiltIn("ort-coreml-neuralnetwork")));
        Assert.That(Ops(m), Is.EqualTo(new[] { "PRelu" }));
        Assert.That(r.Statistics[0].FailureSamples.Single(), Does.Contain("relu-sum: Min refused: [op] ort-coreml-neuralnetwork has no Min operator"));
    }

    [Test]
    public void A_PRelu_without_a_slope_is_left_alone()
    {
        using Model m = new Sample("PRelu").Build();
        PipelineResult r = Run(m, new LowerPRelu());
        Assert.That(r.Statistics[0].FailureSamples.Single(), Does.Contain("PRelu without a slope input"));
    }

    [Test]
    public void Second_run_changes_nothing()
    {
        using Model m = PRelu([0.1f, 0.25f, 1f]).Build();
        AssertIdempotent(m, new LowerPRelu());
    }

    [Test]
    public void Matches_golden_on_xnnpack()
    {
        using Model m = PRelu([0.1f, 0.25f, 1f]).Build();
        Run(m, new LowerPRelu(TargetProfile.BuiltIn("xnnpack")));
        Golden.AssertMatches("lower-prelu-xnnpack", Print(m));
    }
}
