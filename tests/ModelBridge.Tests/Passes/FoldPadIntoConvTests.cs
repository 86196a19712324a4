using ModelBridge.Passes;
using ModelBridge.Rewriting;
using static ModelBridge.Tests.Passes.ConvModels;

namespace ModelBridge.Tests.Passes;

[TestFixture]
public sealed class FoldPadIntoConvTests
{
    /// <summary>x → Pad → Conv (or AveragePool) → y, optionally with a second reader of the Pad.</summary>
    internal static Model PadConv(long[]? pads = null, float value = 0f, string consumer = "Conv", bool secondReader = false, long countIncludePad = 1, string mode = "constant")
    {
        var m = new Model(13);
        Graph g = m.Graph;
        var rng = new Random(5);
        Value x = g.AddInput("x", new TensorType(DataType.Float, TensorShape.Of(1, 3, 6, 7)));
        Value p = g.AddInitializer("pads", Tensor.Create<long>([8], pads ?? [0, 0, 1, 0, 0, 0, 1, 2]));
        Value v = g.AddInitializer("value", Tensor.Create<float>([], [value]));
        Node pad = g.AddNode("Pad", [x, p, v], ["padded"], name: "/pad/Pad");
        pad.SetString("mode", mode);
        Node c;
        if (consumer == "Conv")
        {
            Value w = g.AddInitializer("w", Tensor.Create<float>([4, 3, 3, 3], ConvModels.Random(rng, 108)));
            c = g.AddNode("Conv", [pad.Outputs[0], w], ["y"], name: "/conv/Conv");
            c.SetInts("pads", [1, 1, 1, 1]);
        }
        else
        {
            c = g.AddNode("AveragePool", [pad.Outputs[0]], ["y"], name: "/pool/AveragePool");
            c.SetInts("kernel_shape", [3, 3]);
            c.SetInt("count_include_pad", countIncludePad);
        }
        var outs = new List<Value> { c.Outputs[0]! };
        if (secondReader)
        {
            outs.Add(g.AddNode("Relu", [pad.Outputs[0]], ["leak"], name: "/leak/Relu").Outputs[0]!);
        }
        g.SetOutputs(outs);
        return m;
    }

    [Test]
    public void Folds_spatial_zero_pad_into_conv()
    {
        using Model m = PadConv();
        Run(m, new FoldPadIntoConv());
        Assert.That(Ops(m), Is.EqualTo(new[] { "Conv" }));
        Node conv = m.Graph.Nodes.Single();
        Assert.That(conv.GetInts("pads"), Is.EqualTo(new long[] { 2, 1, 2, 3 }));
        Assert.That(conv.Inputs[0]!.Name, Is.EqualTo("x"));
        Assert.That(conv.Outputs[0]!.Name, Is.EqualTo("y"));
        Assert.That(conv.Name, Is.EqualTo("/conv/Conv"));
    }

    [Test]
    public void Folds_into_average_pool_that_counts_pads()
    {
        using Model m = PadConv(pads: [0, 0, 1, 1, 0, 0, 1, 1], consumer: "AveragePool");
        Run(m, new FoldPadIntoConv());
        Assert.That(Ops(m), Is.EqualTo(new[] { "AveragePool" }));
        Assert.That(m.Graph.Nodes.Single().GetInts("pads"), Is.EqualTo(new long[] { 1, 1, 1, 1 }));
    }

    [Test]
    public void Does_not_fire_when_pad_value_is_not_zero()
    {
        using Model m = PadConv(value: 1f);
        PipelineResult r = Run(m, new FoldPadIntoConv());
        Assert.That(Matches(r, "fold-pad-into-conv"), Is.Zero);
        Assert.That(Failures(r, "fold-pad-into-conv").Single(), Does.Contain("not a constant +0"));
    }

    [Test]
    public void Does_not_fire_when_pad_has_another_reader()
    {
        using Model m = PadConv(secondReader: true);
        Assert.That(Matches(Run(m, new FoldPadIntoConv()), "fold-pad-into-conv"), Is.Zero);
    }

    [Test]
    public void Does_not_fire_when_pad_touches_the_batch_axis()
    {
        using Model m = PadConv(pads: [1, 0, 1, 1, 0, 0, 1, 1]);
        PipelineResult r = Run(m, new FoldPadIntoConv());
        Assert.That(Failures(r, "fold-pad-into-conv").Single(), Does.Contain("batch or channel"));
    }

    [Test]
    public void Does_not_fire_when_mode_is_reflect()
    {
        using Model m = PadConv(mode: "reflect");
        Assert.That(Matches(Run(m, new FoldPadIntoConv()), "fold-pad-into-conv"), Is.Zero);
    }

    [Test]
    public void Does_not_fire_when_average_pool_excludes_pads()
    {
        using Model m = PadConv(pads: [0, 0, 1, 1, 0, 0, 1, 1], consumer: "AveragePool", countIncludePad: 0);
        Assert.That(Matches(Run(m, new FoldPadIntoConv()), "fold-pad-into-conv"), Is.Zero);
    }

    [Test]
    public void Symmetric_only_mode_keeps_asymmetric_results_apart()
    {
        using Model m = PadConv();
        PipelineResult r = Run(m, new FoldPadIntoConv(symmetricOnly: true));
        Assert.That(Matches(r, "fold-pad-into-conv"), Is.Zero);
        Assert.That(Failures(r, "fold-pad-into-conv").Single(), Does.Contain("asymmetric"));
    }

    [Test]
    public void Second_run_changes_nothing()
    {
        using Model m = PadConv();
        AssertIdempotent(m, new FoldPadIntoConv());
    }

    [Test]
    public void Matches_golden()
    {
        using Model m = PadConv();
        Run(m, new FoldPadIntoConv());
        Golden.AssertMatches("fold-pad-into-conv", GraphPrinter.Print(m.Graph, ModelBridge.Shapes.ShapeInference.Run(m.Graph)));
    }

    [Test]
    public void Is_bit_exact_in_ort()
    {
        using (Model m = PadConv())
        {
            AssertNumerics(m, new FoldPadIntoConv()).Dispose();
        }
        using (Model m = PadConv(pads: [0, 0, 1, 0, 0, 0, 1, 1], consumer: "AveragePool"))
        {
            AssertNumerics(m, new FoldPadIntoConv()).Dispose();
        }
    }
}
