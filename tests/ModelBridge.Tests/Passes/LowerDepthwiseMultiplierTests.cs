using ModelBridge.Passes;
using ModelBridge.Rewriting;
using static ModelBridge.Tests.Passes.ConvModels;

namespace ModelBridge.Tests.Passes;

[TestFixture]
public sealed class LowerDepthwiseMultiplierTests
{
    private static readonly ConvSpec Depthwise = new() { Input = [1, 4, 7, 7], OutChannels = 8, Group = 4, Pads = [1, 1, 1, 1] };

    /// <summary>Depthwise (multiplier M) followed by a 1×1 conv, like MobileNet's separable blocks.</summary>
    internal static Model WithPointwise(long c = 4, long multiplier = 2, int seed = 2)
    {
        Model m = Conv(Depthwise with { Input = [1, c, 7, 7], OutChannels = c * multiplier, Group = c, Seed = seed });
        Graph g = m.Graph;
        Value dw = g.Outputs[0];
        Value w = g.AddInitializer("pw_w", Tensor.Create<float>([5, c * multiplier, 1, 1], ConvModels.Random(new Random(seed), 5 * c * multiplier)));
        Value b = g.AddInitializer("pw_b", Tensor.Create<float>([5], ConvModels.Random(new Random(seed + 1), 5)));
        Node pw = g.AddNode("Conv", [dw, w, b], ["z"], name: "/pw/Conv");
        g.SetOutputs([pw.Outputs[0]!]);
        return m;
    }

    [Test]
    public void Splits_into_multiplier_one_convs_and_restores_channel_order()
    {
        using Model m = Conv(Depthwise);
        Run(m, new LowerDepthwiseMultiplier());
        Assert.That(Ops(m), Is.EqualTo(new[] { "Conv", "Conv", "Concat", "Reshape", "Transpose", "Reshape" }));
        Node[] convs = [.. m.Graph.Nodes.Where(n => n.OpType == "Conv")];
        Assert.That(convs.Select(c => Constants.Of(c.Inputs[1])!.Dims[0]), Is.All.EqualTo(4));
        Assert.That(m.Graph.Outputs[0].Name, Is.EqualTo("y"));
        float[] w = ((Tensor)m.Graph.Initializers.Single(v => v.Name.EndsWith("multiplier1_weight", StringComparison.Ordinal)).Initializer!).ToFloatArray();
        using Model original = Conv(Depthwise);
        float[] w0 = original.Graph.GetValue("w").Initializer!.ToFloatArray();
        Assert.That(w[9..18], Is.EqualTo(w0[27..36]), "channel 1, filter 1 is original output channel 1·2 + 1 = 3");
    }

    [Test]
    public void Permutes_the_following_pointwise_conv()
    {
        using Model m = WithPointwise();
        Run(m, new LowerDepthwiseMultiplier(intoPointwise: true));
        Assert.That(Ops(m), Is.EqualTo(new[] { "Conv", "Conv", "Concat", "Conv" }));
        Assert.That(m.Graph.Nodes.Last().Name, Is.EqualTo("/pw/Conv"));
        Assert.That(m.Graph.Outputs[0].Name, Is.EqualTo("z"));
    }

    [Test]
    public void Does_not_fire_when_multiplier_is_one()
    {
        using Model m = Conv(Depthwise with { OutChannels = 4 });
        PipelineResult r = Run(m, new LowerDepthwiseMultiplier());
        Assert.That(Matches(r, "lower-depthwise-multiplier"), Is.Zero);
        Assert.That(Failures(r, "lower-depthwise-multiplier").Single(), Does.Contain("multiplier"));
    }

    [Test]
    public void Does_not_fire_into_pointwise_when_the_reader_is_not_1x1()
    {
        using Model m = Conv(Depthwise);
        PipelineResult r = Run(m, new LowerDepthwiseMultiplier(intoPointwise: true));
        Assert.That(Matches(r, "lower-depthwise-multiplier-into-pointwise"), Is.Zero);
    }

    [Test]
    public void Does_not_fire_when_conv_is_grouped_not_depthwise()
    {
        using Model m = Conv(Depthwise with { Group = 2, OutChannels = 8 });
        Assert.That(Matches(Run(m, new LowerDepthwiseMultiplier()), "lower-depthwise-multiplier"), Is.Zero);
    }

    [Test]
    public void Second_run_changes_nothing()
    {
        using Model m = Conv(Depthwise);
        AssertIdempotent(m, new LowerDepthwiseMultiplier());
    }

    [Test]
    public void Matches_golden()
    {
        using Model m = Conv(Depthwise);
        Run(m, new LowerDepthwiseMultiplier());
        Golden.AssertMatches("lower-depthwise-multiplier", GraphPrinter.Print(m.Graph, ModelBridge.Shapes.ShapeInference.Run(m.Graph)));
    }

    [TestCase(4, 2, 3, 1)]
    [TestCase(8, 3, 3, 2)]
    [TestCase(16, 2, 5, 3)]
    [TestCase(3, 4, 3, 4)]
    public void Meets_its_contract_in_ort(long c, long multiplier, long k, int seed)
    {
        long p = k / 2;
        using (Model m = Conv(Depthwise with { Input = [1, c, 9, 10], OutChannels = c * multiplier, Group = c, Kernel = [k, k], Pads = [p, p, p, p], Seed = seed }))
        {
            AssertNumerics(m, new LowerDepthwiseMultiplier()).Dispose();
        }
        using (Model m = WithPointwise(c, multiplier, seed))
        {
            AssertNumerics(m, new LowerDepthwiseMultiplier(intoPointwise: true)).Dispose();
        }
    }
}
