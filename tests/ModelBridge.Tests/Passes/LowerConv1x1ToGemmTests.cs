using ModelBridge.Passes;
using ModelBridge.Rewriting;
using static ModelBridge.Tests.Passes.ConvModels;

namespace ModelBridge.Tests.Passes;

[TestFixture]
public sealed class LowerConv1x1ToGemmTests
{
    private static readonly ConvSpec Pointwise = new() { Input = [1, 8, 5, 6], OutChannels = 12, Kernel = [1, 1] };

    [Test]
    public void Lowers_to_reshape_gemm_reshape()
    {
        using Model m = Conv(Pointwise);
        Run(m, new LowerConv1x1ToGemm());
        Assert.That(Ops(m), Is.EqualTo(new[] { "Reshape", "Gemm", "Reshape" }));
        Node gemm = m.Graph.Nodes.Single(n => n.OpType == "Gemm");
        Assert.That(Constants.Of(gemm.Inputs[0])!.Dims, Is.EqualTo(new long[] { 12, 8 }));
        Assert.That(Constants.Of(gemm.Inputs[2])!.Dims, Is.EqualTo(new long[] { 12, 1 }));
        Assert.That(m.Graph.Outputs[0].Name, Is.EqualTo("y"));
    }

    [Test]
    public void Uses_matmul_without_bias()
    {
        using Model m = Conv(Pointwise with { Bias = false });
        Run(m, new LowerConv1x1ToGemm());
        Assert.That(Ops(m), Is.EqualTo(new[] { "Reshape", "MatMul", "Reshape" }));
    }

    [Test]
    public void Does_not_fire_when_batch_is_not_one()
    {
        using Model m = Conv(Pointwise with { Input = [2, 8, 5, 6] });
        PipelineResult r = Run(m, new LowerConv1x1ToGemm());
        Assert.That(Failures(r, "lower-conv1x1-to-gemm").Single(), Does.Contain("batch is 2"));
    }

    [Test]
    public void Does_not_fire_when_kernel_is_3x3()
    {
        using Model m = Conv(Pointwise with { Kernel = [3, 3] });
        Assert.That(Matches(Run(m, new LowerConv1x1ToGemm()), "lower-conv1x1-to-gemm"), Is.Zero);
    }

    [Test]
    public void Does_not_fire_when_strided()
    {
        using Model m = Conv(Pointwise with { Strides = [2, 2] });
        Assert.That(Matches(Run(m, new LowerConv1x1ToGemm()), "lower-conv1x1-to-gemm"), Is.Zero);
    }

    [Test]
    public void Second_run_changes_nothing()
    {
        using Model m = Conv(Pointwise);
        AssertIdempotent(m, new LowerConv1x1ToGemm());
    }

    [Test]
    public void Matches_golden()
    {
        using Model m = Conv(Pointwise);
        Run(m, new LowerConv1x1ToGemm());
        Golden.AssertMatches("lower-conv1x1-to-gemm", GraphPrinter.Print(m.Graph, ModelBridge.Shapes.ShapeInference.Run(m.Graph)));
    }

    [TestCase(true, 1)]
    [TestCase(false, 2)]
    [TestCase(true, 3)]
    public void Meets_its_contract_in_ort(bool bias, int seed)
    {
        using Model m = Conv(Pointwise with { Input = [1, 8 * seed, 7, 9], OutChannels = 16, Bias = bias, Seed = seed });
        AssertNumerics(m, new LowerConv1x1ToGemm()).Dispose();
    }
}
