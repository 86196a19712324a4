using ModelBridge.Passes;
using ModelBridge.Rewriting;
using static ModelBridge.Tests.Passes.ConvModels;

namespace ModelBridge.Tests.Passes;

[TestFixture]
public sealed class LowerAutoPadTests
{
    private static readonly ConvSpec Same = new() { Input = [1, 3, 7, 7], Kernel = [4, 4], Strides = [2, 2], AutoPad = "SAME_UPPER" };

    private static long[] PadsAfter(Model m, string op = "Conv")
    {
        Run(m, new LowerAutoPad());
        Node n = m.Graph.Nodes.Single(n => n.OpType == op);
        Assert.That(n.HasAttribute("auto_pad"), Is.False);
        return n.GetInts("pads")!;
    }

    [Test]
    public void Same_upper_puts_the_odd_pad_at_the_end_and_keeps_names()
    {
        using Model m = Conv(Same);
        Assert.That(PadsAfter(m), Is.EqualTo(new long[] { 1, 1, 2, 2 }));
        Node conv = m.Graph.Nodes.Single();
        Assert.That(conv.Name, Is.EqualTo("/conv/Conv"));
        Assert.That(conv.Outputs[0]!.Name, Is.EqualTo("y"));
        Assert.That(conv.GetInts("strides"), Is.EqualTo(new long[] { 2, 2 }));
    }

    [Test]
    public void Same_lower_puts_the_odd_pad_at_the_begin()
    {
        using Model m = Conv(Same with { AutoPad = "SAME_LOWER" });
        Assert.That(PadsAfter(m), Is.EqualTo(new long[] { 2, 2, 1, 1 }));
    }

    [Test]
    public void Same_uses_the_dilated_kernel_for_conv()
    {
        using Model m = Conv(Same with { Kernel = [3, 3], Strides = [1, 1], Dilations = [2, 2] });
        Assert.That(PadsAfter(m), Is.EqualTo(new long[] { 2, 2, 2, 2 }));
    }

    [Test]
    public void Valid_becomes_zero_pads_without_shapes()
    {
        using Model m = Conv(Same with { AutoPad = "VALID", Input = [1, 3, 7, 7] });
        Assert.That(PadsAfter(m), Is.EqualTo(new long[] { 0, 0, 0, 0 }));
    }

    [Test]
    public void Lowers_pools_and_conv_transpose()
    {
        using (Model m = Pool(new PoolSpec { Kernel = [2, 2], Strides = [2, 2], AutoPad = "SAME_UPPER" }))
        {
            Assert.That(PadsAfter(m, "MaxPool"), Is.EqualTo(new long[] { 0, 0, 1, 1 }));
        }
        using (Model m = ConvTranspose(kernel: 4, stride: 2, "SAME_UPPER"))
        {
            Assert.That(PadsAfter(m, "ConvTranspose"), Is.EqualTo(new long[] { 1, 1, 1, 1 }));
        }
    }

    internal static Model ConvTranspose(long kernel, long stride, string autoPad)
    {
        var m = new Model(13);
        Graph g = m.Graph;
        Value x = g.AddInput("x", new TensorType(DataType.Float, TensorShape.Of(1, 2, 4, 4)));
        Value w = g.AddInitializer("w", Tensor.Create<float>([2, 3, kernel, kernel], ConvModels.Random(new Random(3), 6 * kernel * kernel)));
        Node n = g.AddNode("ConvTranspose", [x, w], ["y"], name: "/up/ConvTranspose");
        n.SetInts("strides", [stride, stride]);
        n.SetString("auto_pad", autoPad);
        g.SetOutputs([n.Outputs[0]!]);
        return m;
    }

    [Test]
    public void Does_not_fire_when_input_shape_is_symbolic()
    {
        using Model m = Conv(Same);
        m.Graph.Inputs[0].DeclaredType = new TensorType(DataType.Float, new TensorShape([Dim.Of(1), Dim.Of(3), Dim.Sym("H"), Dim.Sym("W")]));
        PipelineResult r = Run(m, new LowerAutoPad());
        Assert.That(Matches(r, "lower-auto-pad"), Is.Zero);
        Assert.That(Failures(r, "lower-auto-pad").Single(), Does.Contain("not static"));
    }

    [Test]
    public void Does_not_fire_when_kernel_is_smaller_than_stride()
    {
        using Model m = Conv(Same with { Input = [1, 3, 8, 8], Kernel = [1, 1], Strides = [3, 3] });
        PipelineResult r = Run(m, new LowerAutoPad());
        Assert.That(Matches(r, "lower-auto-pad"), Is.Zero);
        Assert.That(Failures(r, "lower-auto-pad").Single(), Does.Contain("negative"));
    }

    [Test]
    public void Does_not_fire_when_conv_transpose_padding_is_odd()
    {
        using Model m = ConvTranspose(kernel: 3, stride: 2, "SAME_UPPER");
        PipelineResult r = Run(m, new LowerAutoPad());
        Assert.That(Matches(r, "lower-auto-pad"), Is.Zero);
        Assert.That(Failures(r, "lower-auto-pad").Single(), Does.Contain("odd"));
    }

    [Test]
    public void Does_not_fire_when_pool_is_dilated()
    {
        using Model m = Pool(new PoolSpec { Kernel = [2, 2], Dilations = [2, 2], AutoPad = "SAME_UPPER" });
        PipelineResult r = Run(m, new LowerAutoPad());
        Assert.That(Failures(r, "lower-auto-pad").Single(), Does.Contain("dilation"));
    }

    [Test]
    public void Second_run_changes_nothing()
    {
        using Model m = Conv(Same);
        AssertIdempotent(m, new LowerAutoPad());
    }

    [Test]
    public void Matches_golden()
    {
        using Model m = Conv(Same);
        Run(m, new LowerAutoPad());
        Golden.AssertMatches("lower-auto-pad", GraphPrinter.Print(m.Graph, ModelBridge.Shapes.ShapeInference.Run(m.Graph)));
    }

    [TestCase("SAME_UPPER", 4, 2)]
    [TestCase("SAME_LOWER", 4, 2)]
    [TestCase("SAME_UPPER", 3, 1)]
    [TestCase("SAME_LOWER", 2, 1)]
    [TestCase("VALID", 3, 2)]
    public void Is_bit_exact_in_ort(string autoPad, long kernel, long stride)
    {
        using (Model m = Conv(Same with { Kernel = [kernel, kernel], Strides = [stride, stride], AutoPad = autoPad }))
        {
            AssertNumerics(m, new LowerAutoPad()).Dispose();
        }
        using (Model m = Pool(new PoolSpec { Kernel = [kernel, kernel], Strides = [stride, stride], AutoPad = autoPad }))
        {
            AssertNumerics(m, new LowerAutoPad()).Dispose();
        }
        using (Model m = Pool(new PoolSpec { Op = "AveragePool", Kernel = [kernel, kernel], Strides = [stride, stride], AutoPad = autoPad }))
        {
            AssertNumerics(m, new LowerAutoPad()).Dispose();
        }
    }

    [Test]
    public void Conv_transpose_is_bit_exact_in_ort()
    {
        using Model m = ConvTranspose(kernel: 4, stride: 2, "SAME_UPPER");
        AssertNumerics(m, new LowerAutoPad()).Dispose();
    }
}
