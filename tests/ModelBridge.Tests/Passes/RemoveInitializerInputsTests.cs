using ModelBridge.Passes;
using ModelBridge.Profiles;
using ModelBridge.Rewriting;

namespace ModelBridge.Tests.Passes;

[TestFixture]
public sealed class RemoveInitializerInputsTests
{
    private static string Rfb => Path.Combine(TestPaths.Fixtures, "real", "version-RFB-320", "model.onnx");

    /// <summary>x → Conv(w) → BatchNormalization(γ, β, μ, σ²) → y, with every initializer also listed as an input (IR 3).</summary>
    private static Model ConvBnWithInitializerInputs()
    {
        var (m, g, x) = Build.Start(9, 1, 2, 4, 4);
        var rng = new Random(3);
        Value Init(string name, long[] dims, bool positive = false)
        {
            float[] data = [.. Enumerable.Range(0, (int)dims.Aggregate(1L, (a, b) => a * b)).Select(_ => (float)(positive ? 0.5 + rng.NextDouble() : rng.NextDouble() - 0.5))];
            Value v = g.AddInitializer(name, Tensor.Create<float>(dims, data));
            g.RegisterInput(v);
            return v;
        }
        Value w = Init("conv.weight", [3, 2, 1, 1]);
        Node conv = g.AddNode("Conv", [x, w], ["c"], "");
        Node bn = g.AddNode("BatchNormalization", [conv.Outputs[0], Init("bn.weight", [3]), Init("bn.bias", [3]), Init("bn.running_mean", [3]), Init("bn.running_var", [3], positive: true)], ["y"], "");
        g.SetOutputs([bn.Outputs[0]!]);
        return m;
    }

    [Test]
    public void Takes_initializers_off_the_inputs_so_batchnorm_folds()
    {
        using Model m = ConvBnWithInitializerInputs();
        using Model original = m.Clone();
        Assert.That(m.Graph.Inputs, Has.Count.EqualTo(6), "precondition: the IR < 4 habit");
        PipelineResult blocked = Build.Run(m.Clone(), new FoldBatchNormIntoConv());
        Assert.That(blocked.Statistics[0].FailureSamples.Single(), Does.Contain("must all be constant"), "an overridable weight is not a constant");

        PipelineResult r = Build.Run(m, new RemoveInitializerInputs(), new FoldBatchNormIntoConv(), new EliminateDeadNodes());
        Assert.That(m.Graph.Inputs.Select(v => v.Name), Is.EqualTo(new[] { "x" }));
        Assert.That(r.Statistics[0].Matches, Is.EqualTo(5));
        Assert.That(Build.Ops(m), Is.EqualTo(new[] { "Conv" }), "BatchNorm folds once its parameters are constants");
        Numerics.AssertMeetsContract(original, m, new FoldBatchNormIntoConv().Numerics);
        Assert.That(Build.Run(m, new RemoveInitializerInputs()).Statistics[0].Matches, Is.Zero, "idempotent");
        Golden.AssertMatches("remove-initializer-inputs", GraphPrinter.Print(m.Graph, m.Graph.Shapes));
    }

    [Test]
    public void Leaves_every_value_as_it_was()
    {
        using Model m = ConvBnWithInitializerInputs();
        using Model original = m.Clone();
        Build.Run(m, new RemoveInitializerInputs());
        Assert.That(Build.Ops(m), Is.EqualTo(Build.Ops(original)));
        Numerics.AssertMeetsContract(original, m, NumericContract.Exact);
    }

    [Test]
    public void Rfb_converts_with_weights_as_constants_and_keeps_them_overridable_on_request()
    {
        using Model original = Model.Load(Rfb);
        TargetProfile target = TargetProfile.BuiltIn("tflite-builtins");
        ConversionResult r = ModelConverter.Convert(original, target);
        using (r.Model)
        {
            Assert.That(r.Model.Graph.Inputs.Select(v => v.Name), Is.EqualTo(new[] { "input" }));
            Assert.That(r.Statistics.Single(s => s.Id == "remove-initializer-inputs").Matches, Is.EqualTo(original.Graph.Inputs.Count - 1));
            Assert.That(r.Model.Graph.Nodes.Count(n => n.OpType == "BatchNormalization"), Is.Zero, "every BatchNorm folded");
            Assert.That(r.Remaining.Unsupported, Is.Empty);
        }
        ConversionResult kept = ModelConverter.Convert(original, target, new ConvertOptions { KeepInitializerInputs = true });
        using (kept.Model)
        {
            Assert.That(kept.Model.Graph.Inputs, Has.Count.EqualTo(original.Graph.Inputs.Count));
            Assert.That(kept.PassIds, Does.Not.Contain("remove-initializer-inputs"));
            NodeVerdict conv = kept.Remaining.Unsupported.First(n => n.OpType == "Conv");
            Assert.That(conv.Reasons.Select(x => x.Message), Has.Some.Contains("computed at run time"));
        }
    }
}
