using ModelBridge.Passes;
using ModelBridge.Rewriting;
using static ModelBridge.Tests.Passes.ConvModels;

namespace ModelBridge.Tests.Passes;

[TestFixture]
public sealed class LowerGemmToConv1x1Tests
{
    private static Model Fc(bool transB = true, float alpha = 1f, bool bias = true, long batch = 2)
    {
        var m = new Model(13);
        Graph g = m.Graph;
        var rng = new Random(9);
        Value a = g.AddInput("a", new TensorType(DataType.Float, TensorShape.Of(batch, 16)));
        Value b = g.AddInitializer("B", Tensor.Create<float>(transB ? [10, 16] : [16, 10], ConvModels.Random(rng, 160)));
        Value?[] ins = bias ? [a, b, g.AddInitializer("C", Tensor.Create<float>([10], ConvModels.Random(rng, 10)))] : [a, b];
        Node n = g.AddNode("Gemm", ins, ["y"], name: "/fc/Gemm");
        n.SetInt("transB", transB ? 1 : 0);
        if (alpha != 1f)
        {
            n.SetFloat("alpha", alpha);
        }
        g.SetOutputs([n.Outputs[0]!]);
        return m;
    }

    [Test]
    public void Lowers_to_reshape_conv_reshape()
    {
        using Model m = Fc();
        Run(m, new LowerGemmToConv1x1());
        Assert.That(Ops(m), Is.EqualTo(new[] { "Reshape", "Conv", "Reshape" }));
        Node conv = m.Graph.Nodes.Single(n => n.OpType == "Conv");
        Assert.That(Constants.Of(conv.Inputs[1])!.Dims, Is.EqualTo(new long[] { 10, 16, 1, 1 }));
        Assert.That(m.Graph.Outputs[0].Name, Is.EqualTo("y"));
    }

    [Test]
    public void Transposes_b_when_trans_b_is_zero()
    {
        using Model m = Fc(transB: false);
        float[] b = m.Graph.GetValue("B").Initializer!.ToFloatArray();
        Run(m, new LowerGemmToConv1x1());
        float[] w = Constants.Of(m.Graph.Nodes.Single(n => n.OpType == "Conv").Inputs[1])!.ToFloatArray();
        Assert.That(w[1 * 16 + 3], Is.EqualTo(b[3 * 10 + 1]), "W[m=1, k=3] = B[k=3, m=1]");
    }

    [Test]
    public void Does_not_fire_when_alpha_is_not_one()
    {
        using Model m = Fc(alpha: 2f);
        PipelineResult r = Run(m, new LowerGemmToConv1x1());
        Assert.That(Failures(r, "lower-gemm-to-conv1x1").Single(), Does.Contain("alpha"));
    }

    [Test]
    public void Second_run_changes_nothing()
    {
        using Model m = Fc();
        AssertIdempotent(m, new LowerGemmToConv1x1());
    }

    [Test]
    public void Matches_golden()
    {
        using Model m = Fc();
        Run(m, new LowerGemmToConv1x1());
        Golden.AssertMatches("lower-gemm-to-conv1x1", GraphPrinter.Print(m.Graph, ModelBridge.Shapes.ShapeInference.Run(m.Graph)));
    }

    [TestCase(true, true)]
    [TestCase(false, true)]
    [TestCase(true, false)]
    public void Meets_its_contract_in_ort(bool transB, bool bias)
    {
        using Model m = Fc(transB, bias: bias);
        AssertNumerics(m, new LowerGemmToConv1x1()).Dispose();
    }
}
