using ModelBridge.Passes;
using ModelBridge.Profiles;
using ModelBridge.Rewriting;
using static ModelBridge.Tests.Passes.ActivationModels;

namespace ModelBridge.Tests.Passes;

[TestFixture]
public sealed class LowerClipTests
{
    private static TargetProfile Nnapi => TargetProfile.BuiltIn("ort-nnapi");

    /// <summary>Clip with constant bounds as inputs (opset 13) or attributes (opset 9); null leaves a bound out.</summary>
    private static Sample Clip(float? lo, float? hi, long opset = 13) => opset >= 11
        ? new("Clip", opset)
        {
            Extra = g => [lo is { } l ? Scalar(g, "lo", l) : null, hi is { } h ? Scalar(g, "hi", h) : null],
            Label = $"Clip({lo}, {hi})@{opset}",
        }
        : new("Clip", opset)
        {
            Attributes = [.. lo is { } l ? [Attr.Float("min", l)] : Array.Empty<AttributeValue>(), .. hi is { } h ? [Attr.Float("max", h)] : Array.Empty<AttributeValue>()],
            Label = $"Clip({lo}, {hi})@{opset}",
        };

    private static Sample RuntimeBounds() => new("Clip", 13)
    {
        Extra = g => [g.AddInput("lo", new TensorType(DataType.Float, TensorShape.Of())), g.AddInput("hi", new TensorType(DataType.Float, TensorShape.Of()))],
        Label = "Clip(runtime bounds)",
    };

    private static IEnumerable<TestCaseData> FormsAndBounds()
    {
        var pass = new LowerClip(Nnapi);
        foreach ((float? lo, float? hi) in new (float?, float?)[] { (0, 1), (0, 6), (-1, 1), (-2.5f, 0.75f), (3, -1), (0, null), (null, 2), (-3, null) })
        {
            using Model m = Clip(lo, hi).Build();
            foreach (LoweringForm form in pass.Forms.Where(f => f.Precondition?.Invoke(m.Graph, Root(m, "Clip")) is null))
            {
                yield return new TestCaseData(form.Name, lo, hi).SetArgDisplayNames(form.Name, $"{lo}", $"{hi}");
            }
        }
    }

    [TestCaseSource(nameof(FormsAndBounds))]
    public void Every_form_meets_its_own_contract_in_ort(string form, float? lo, float? hi) =>
        AssertFormMeetsContract(Clip(lo, hi), new LowerClip(Nnapi).Forms.Single(f => f.Name == form), ProbeData([.. new[] { lo, hi }.OfType<float>()]));

    [TestCase(0f, 1f, 13, new[] { "Relu", "Min" }, "relu-min")]
    [TestCase(0f, 1f, 9, new[] { "Relu", "Min" }, "relu-min")]
    [TestCase(-2f, 2f, 13, new[] { "Max", "Min" }, "max-min")]
    [TestCase(0f, 5f, 9, new[] { "Relu", "Min" }, "relu-min")]
    [TestCase(-3f, 0f, 13, new[] { "Max", "Min" }, "max-min-any")]
    public void On_nnapi_lowers_a_clip_it_refuses(float lo, float hi, long opset, string[] ops, string form)
    {
        using Model m = Clip(lo, hi, opset).Build();
        PipelineResult r = Run(m, new LowerClip(Nnapi));
        Assert.That(Ops(m), Is.EqualTo(ops));
        Assert.That(Choices(r).Single().Form, Is.EqualTo(form));
        Assert.That(m.Graph.Outputs[0].Name, Is.EqualTo("y"));
        Assert.That(ProfileChecker.Check(m.Graph, Nnapi).AllSupported, Is.True);
    }

    [TestCase(0f, 6f)]
    [TestCase(-1f, 1f)]
    public void Leaves_a_clip_nnapi_accepts(float lo, float hi)
    {
        using Model m = Clip(lo, hi).Build();
        PipelineResult r = Run(m, new LowerClip(Nnapi));
        Assert.That(Ops(m), Is.EqualTo(new[] { "Clip" }));
        Assert.That(r.Statistics[0].FailureSamples.Single(), Does.Contain("ort-nnapi accepts this Clip as it is"));
    }

    [Test]
    public void Runtime_bounds_become_max_and_min_of_the_same_values()
    {
        using Model m = RuntimeBounds().Build();
        PipelineResult r = Run(m, new LowerClip(Nnapi));
        Assert.That(Ops(m), Is.EqualTo(new[] { "Max", "Min" }));
        Assert.That(m.Graph.Nodes.Select(n => n.Inputs[1]!.Name), Is.EqualTo(new[] { "lo", "hi" }));
        LoweringChoice choice = Choices(r).Single();
        Assert.That(choice.Form, Is.EqualTo("max-min-any"), "run-time bounds may be zero");
        Assert.That(choice.PassedOver, Has.Count.EqualTo(3));
    }

    [Test]
    public void Runtime_bounds_meet_the_spec_even_when_lo_exceeds_hi()
    {
        float[] data = ProbeData(-1f, 3f);
        Sample flat = RuntimeBounds() with { Shape = [data.Length] };
        using Model original = flat.Build();
        using Model lowered = flat.Build();
        NumericContract contract = Choices(Run(lowered, new LowerClip(Nnapi))).Single().Numerics;
        foreach ((float lo, float hi) in new[] { (-1f, 3f), (3f, -1f), (0f, 3f), (-2f, 0f) })
        {
            var inputs = new Dictionary<string, ModelBridge.Verify.TensorData>
            {
                ["x"] = ModelBridge.Verify.TensorData.Create<float>([data.Length], data),
                ["lo"] = ModelBridge.Verify.TensorData.Scalar(lo),
                ["hi"] = ModelBridge.Verify.TensorData.Scalar(hi),
            };
            Numerics.AssertClose($"({lo}, {hi})", Numerics.Run(original, inputs)["y"], Numerics.Run(lowered, inputs)["y"], contract);
        }
    }

    [Test]
    public void On_coreml_runtime_bounds_are_refused_and_no_form_is_accepted()
    {
        using Model m = RuntimeBounds().Build();
        PipelineResult r = Run(m, new LowerClip(TargetProfile.BuiltIn("ort-coreml-neuralnetwork")));
        Assert.That(Ops(m), Is.EqualTo(new[] { "Clip" }));
        string reason = r.Statistics[0].FailureSamples.Single();
        Assert.That(reason, Does.Contain("max-min-any: Max refused: [op] ort-coreml-neuralnetwork has no Max operator"));
    }

    [Test]
    public void A_clip_without_bounds_is_left_alone()
    {
        using Model m = new Sample("Clip", 13).Build();
        PipelineResult r = Run(m, new LowerClip(Nnapi));
        Assert.That(r.Statistics[0].FailureSamples.Single(), Does.Contain("without bounds"));
    }

    [Test]
    public void Needs_a_target()
    {
        Assert.That(() => new LowerClip(null!), Throws.ArgumentNullException);
    }

    [Test]
    public void Second_run_changes_nothing()
    {
        using Model m = Clip(0, 1).Build();
        AssertIdempotent(m, new LowerClip(Nnapi));
    }

    [Test]
    public void Matches_golden_on_nnapi()
    {
        using Model m = Clip(-2, 2).Build();
        Run(m, new LowerClip(Nnapi));
        Golden.AssertMatches("lower-clip-ort-nnapi", Print(m));
    }
}
