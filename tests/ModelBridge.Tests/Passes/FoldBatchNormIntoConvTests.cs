using ModelBridge.Passes;
using ModelBridge.Rewriting;

namespace ModelBridge.Tests.Passes;

[TestFixture]
public sealed class FoldBatchNormIntoConvTests
{
    internal static Model ConvBn(string producer = "Conv", bool secondReader = false, bool constantScale = true, long group = 1)
    {
        var m = new Model(13);
        Graph g = m.Graph;
        var rng = new Random(11);
        float[] R(int n, float lo, float hi) => [.. Enumerable.Range(0, n).Select(_ => lo + (float)rng.NextDouble() * (hi - lo))];
        Value x = g.AddInput("x", new TensorType(DataType.Float, TensorShape.Of(1, 4, 6, 6)));
        Node p;
        if (producer == "Conv")
        {
            Value w = g.AddInitializer("w", Tensor.Create<float>([6, 4 / group, 3, 3], R(6 * (int)(4 / group) * 9, -1, 1)));
            Value b = g.AddInitializer("b", Tensor.Create<float>([6], R(6, -1, 1)));
            p = g.AddNode("Conv", [x, w, b], ["conv_out"], name: "/conv/Conv");
            p.SetInts("pads", [1, 1, 1, 1]);
            p.SetInt("group", group);
        }
        else
        {
            Value w = g.AddInitializer("w", Tensor.Create<float>([4, 6 / group, 3, 3], R(4 * (int)(6 / group) * 9, -1, 1)));
            p = g.AddNode("ConvTranspose", [x, w], ["conv_out"], name: "/conv/ConvTranspose");
            p.SetInts("strides", [2, 2]);
            p.SetInt("group", group);
        }
        Value scale = constantScale ? g.AddInitializer("gamma", Tensor.Create<float>([6], R(6, 0.5f, 1.5f))) : g.AddInput("gamma", new TensorType(DataType.Float, TensorShape.Of(6)));
        Value beta = g.AddInitializer("beta", Tensor.Create<float>([6], R(6, -0.2f, 0.2f)));
        Value mean = g.AddInitializer("mean", Tensor.Create<float>([6], R(6, -0.2f, 0.2f)));
        Value var = g.AddInitializer("var", Tensor.Create<float>([6], R(6, 0.5f, 2f)));
        Node bn = g.AddNode("BatchNormalization", [p.Outputs[0], scale, beta, mean, var], ["bn_out"], name: "/bn/BatchNormalization");
        Node relu = g.AddNode("Relu", [bn.Outputs[0]], ["y"], name: "/act/Relu");
        var outs = new List<Value> { relu.Outputs[0]! };
        if (secondReader)
        {
            outs.Add(g.AddNode("Neg", [p.Outputs[0]], ["leak"], name: "/leak/Neg").Outputs[0]!);
        }
        g.SetOutputs(outs);
        return m;
    }

    private static Pipeline Fold() => new([new FoldBatchNormIntoConv(), new EliminateDeadNodes()]);

    [Test]
    public void Matches_golden()
    {
        using Model m = ConvBn();
        Fold().Run(m);
        Golden.AssertMatches("fold-batchnorm-into-conv", GraphPrinter.Print(m.Graph, m.Graph.Shapes, nodeNames: true));
    }

    [Test]
    public void Folds_into_conv_and_keeps_the_bn_output_name()
    {
        using Model m = ConvBn();
        PipelineResult r = Fold().Run(m);
        Assert.That(m.Graph.TopologicalOrder().Select(n => n.OpType), Is.EqualTo(new[] { "Conv", "Relu" }));
        Node conv = m.Graph.Nodes.Single(n => n.OpType == "Conv");
        Assert.That(conv.Outputs[0]!.Name, Is.EqualTo("bn_out"));
        Assert.That(conv.GetInts("pads"), Is.EqualTo(new long[] { 1, 1, 1, 1 }));
        Assert.That(r.Provenance.Get("bn_out")!.Original, Is.EqualTo("bn_out"));
        Assert.That(m.Graph.Initializers.Select(v => v.Name), Has.None.EqualTo("gamma"), "BN parameters are gone");
    }

    [Test]
    public void Folded_weights_follow_the_formula()
    {
        using Model m = ConvBn();
        float[] w = m.Graph.GetValue("w").Initializer!.ToFloatArray();
        float[] b = m.Graph.GetValue("b").Initializer!.ToFloatArray();
        float[] gamma = m.Graph.GetValue("gamma").Initializer!.ToFloatArray(), beta = m.Graph.GetValue("beta").Initializer!.ToFloatArray();
        float[] mean = m.Graph.GetValue("mean").Initializer!.ToFloatArray(), var = m.Graph.GetValue("var").Initializer!.ToFloatArray();
        Fold().Run(m);
        Node conv = m.Graph.Nodes.Single(n => n.OpType == "Conv");
        float[] w2 = Constants.Of(conv.Inputs[1])!.ToFloatArray(), b2 = Constants.Of(conv.Inputs[2])!.ToFloatArray();
        for (int o = 0; o < 6; o++)
        {
            double s = gamma[o] / Math.Sqrt(var[o] + 1e-5);
            Assert.That(b2[o], Is.EqualTo((b[o] - mean[o]) * s + beta[o]).Within(1e-6));
            for (int k = 0; k < 36; k++)
            {
                Assert.That(w2[o * 36 + k], Is.EqualTo(w[o * 36 + k] * s).Within(1e-6));
            }
        }
    }

    [Test]
    public void Folds_into_grouped_conv_transpose()
    {
        using Model m = ConvBn("ConvTranspose", group: 2);
        Fold().Run(m);
        Assert.That(m.Graph.TopologicalOrder().Select(n => n.OpType), Is.EqualTo(new[] { "ConvTranspose", "Relu" }));
        Assert.That(m.Graph.Nodes.Single(n => n.OpType == "ConvTranspose").Inputs, Has.Count.EqualTo(3), "a bias is added");
    }

    [Test]
    public void Does_not_fire_when_conv_output_has_two_consumers()
    {
        using Model m = ConvBn(secondReader: true);
        PipelineResult r = Fold().Run(m);
        Assert.That(m.Graph.Nodes.Count(n => n.OpType == "BatchNormalization"), Is.EqualTo(1));
        Assert.That(r.Statistics[0].FailureSamples.Single(), Does.Contain("other readers"));
    }

    [Test]
    public void Does_not_fire_when_bn_scale_is_not_constant()
    {
        using Model m = ConvBn(constantScale: false);
        Fold().Run(m);
        Assert.That(m.Graph.Nodes.Count(n => n.OpType == "BatchNormalization"), Is.EqualTo(1));
    }

    [Test]
    public void Second_run_changes_nothing()
    {
        using Model m = ConvBn();
        Fold().Run(m);
        Assert.That(Fold().Run(m).Statistics.Sum(s => s.Matches), Is.Zero);
    }

    [Test]
    public void Standalone_bn_lowers_to_mul_add()
    {
        using Model m = ConvBn(secondReader: true);
        ModelBridge.Shapes.ShapeInference.Run(m.Graph);
        new Pipeline([new FoldBatchNormIntoConv(), new LowerBatchNormToMulAdd()]).Run(m);
        Assert.That(m.Graph.Nodes.Select(n => n.OpType), Is.EquivalentTo(new[] { "Conv", "Mul", "Add", "Relu", "Neg" }));
        Assert.That(m.Graph.Nodes.Single(n => n.OpType == "Add").Outputs[0]!.Name, Is.EqualTo("bn_out"));
    }
}
