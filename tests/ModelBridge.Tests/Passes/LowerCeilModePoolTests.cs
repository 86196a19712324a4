using ModelBridge.Passes;
using ModelBridge.Rewriting;
using static ModelBridge.Tests.Passes.ConvModels;

namespace ModelBridge.Tests.Passes;

[TestFixture]
public sealed class LowerCeilModePoolTests
{
    private static readonly PoolSpec Ceil = new() { Input = [1, 3, 6, 6], Kernel = [3, 3], Strides = [2, 2], CeilMode = 1 };

    [Test]
    public void Adds_end_pads_that_give_the_ceil_size()
    {
        using Model m = Pool(Ceil);
        Run(m, new LowerCeilModePool());
        Node pool = m.Graph.Nodes.Single();
        Assert.That(pool.HasAttribute("ceil_mode"), Is.False);
        Assert.That(pool.GetInts("pads"), Is.EqualTo(new long[] { 0, 0, 1, 1 }));
        Assert.That(pool.Outputs[0]!.Name, Is.EqualTo("y"));
        Assert.That(ModelBridge.Shapes.ShapeInference.Run(m.Graph).ShapeOf(pool.Outputs[0]), Is.EqualTo(TensorShape.Of(1, 3, 3, 3)));
    }

    [Test]
    public void Keeps_existing_pads_and_adds_nothing_where_floor_agrees()
    {
        using Model m = Pool(Ceil with { Input = [1, 3, 7, 6], Pads = [1, 0, 1, 0] });
        Run(m, new LowerCeilModePool());
        Assert.That(m.Graph.Nodes.Single().GetInts("pads"), Is.EqualTo(new long[] { 1, 0, 1, 1 }));
    }

    [Test]
    public void Lowers_average_pool_that_excludes_pads()
    {
        using Model m = Pool(Ceil with { Op = "AveragePool" });
        Assert.That(Matches(Run(m, new LowerCeilModePool()), "lower-ceil-mode-pool"), Is.EqualTo(1));
    }

    [Test]
    public void Does_not_fire_when_average_pool_counts_pads()
    {
        using Model m = Pool(Ceil with { Op = "AveragePool", CountIncludePad = 1 });
        PipelineResult r = Run(m, new LowerCeilModePool());
        Assert.That(Matches(r, "lower-ceil-mode-pool"), Is.Zero);
        Assert.That(Failures(r, "lower-ceil-mode-pool").Single(), Does.Contain("count_include_pad=1"));
    }

    [Test]
    public void Drops_a_last_window_that_would_start_in_the_padding()
    {
        // in 5, pads 0/1, k 2, s 3: ⌈4/3⌉ + 1 = 3, but the third window would start at 6 ≥ 5 and
        // is dropped; floor already gives 2, so only ceil_mode goes.
        using Model m = Pool(Ceil with { Input = [1, 2, 5, 5], Kernel = [2, 2], Strides = [3, 3], Pads = [0, 0, 1, 1] });
        using Model lowered = AssertNumerics(m, new LowerCeilModePool());
        Assert.That(lowered.Graph.Nodes.Single().GetInts("pads"), Is.EqualTo(new long[] { 0, 0, 1, 1 }));
        Assert.That(Numerics.Run(lowered, Numerics.Inputs(lowered))["y"].Dims, Is.EqualTo(new long[] { 1, 2, 2, 2 }));
    }

    [Test]
    public void Does_not_fire_when_ceil_mode_is_off()
    {
        using Model m = Pool(Ceil with { CeilMode = 0 });
        Assert.That(Matches(Run(m, new LowerCeilModePool()), "lower-ceil-mode-pool"), Is.Zero);
    }

    [Test]
    public void Second_run_changes_nothing()
    {
        using Model m = Pool(Ceil);
        AssertIdempotent(m, new LowerCeilModePool());
    }

    [Test]
    public void Matches_golden()
    {
        using Model m = Pool(Ceil);
        Run(m, new LowerCeilModePool());
        Golden.AssertMatches("lower-ceil-mode-pool", GraphPrinter.Print(m.Graph, ModelBridge.Shapes.ShapeInference.Run(m.Graph)));
    }

    [TestCase("MaxPool", 6, 3, 2, 0)]
    [TestCase("MaxPool", 10, 3, 2, 1)]
    [TestCase("MaxPool", 8, 3, 3, 0)]
    [TestCase("AveragePool", 6, 3, 2, 0)]
    [TestCase("AveragePool", 9, 2, 2, 0)]
    [TestCase("AveragePool", 7, 3, 2, 1)]
    public void Is_bit_exact_in_ort(string op, long size, long k, long s, long pad)
    {
        using Model m = Pool(Ceil with { Op = op, Input = [1, 3, size, size + 1], Kernel = [k, k], Strides = [s, s], Pads = [pad, pad, pad, pad] });
        AssertNumerics(m, new LowerCeilModePool()).Dispose();
    }
}
