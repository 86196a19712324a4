using ModelBridge.Passes;
using ModelBridge.Rewriting;
using static ModelBridge.Tests.Passes.ConvModels;

namespace ModelBridge.Tests.Passes;

[TestFixture]
public sealed class RaiseReduceToGlobalPoolTests
{
    private static Model Reduce(string op = "ReduceMean", long opset = 13, long[]? axes = null, long keepdims = 1)
    {
        var m = new Model(opset);
        Graph g = m.Graph;
        Value x = g.AddInput("x", new TensorType(DataType.Float, TensorShape.Of(1, 8, 5, 7)));
        axes ??= [2, 3];
        Node n = opset >= 18
            ? g.AddNode(op, [x, g.AddInitializer("axes", Tensor.Create<long>([axes.Length], axes))], ["y"], name: "/head/" + op)
            : g.AddNode(op, [x], ["y"], name: "/head/" + op);
        if (opset < 18)
        {
            n.SetInts("axes", axes);
        }
        n.SetInt("keepdims", keepdims);
        g.SetOutputs([n.Outputs[0]!]);
        return m;
    }

    [Test]
    public void Raises_reduce_mean_over_spatial_axes()
    {
        using Model m = Reduce(axes: [-1, 2]);
        Run(m, new RaiseReduceToGlobalPool());
        Assert.That(Ops(m), Is.EqualTo(new[] { "GlobalAveragePool" }));
        Assert.That(m.Graph.Nodes.Single().Outputs[0]!.Name, Is.EqualTo("y"));
    }

    [Test]
    public void Raises_reduce_max_with_axes_input()
    {
        using Model m = Reduce("ReduceMax", 18);
        Run(m, new RaiseReduceToGlobalPool());
        Assert.That(Ops(m), Is.EqualTo(new[] { "GlobalMaxPool" }));
        Assert.That(m.Graph.Initializers, Is.Empty, "the axes initializer is cleaned up");
    }

    [Test]
    public void Does_not_fire_when_keepdims_is_zero()
    {
        using Model m = Reduce(keepdims: 0);
        PipelineResult r = Run(m, new RaiseReduceToGlobalPool());
        Assert.That(Failures(r, "raise-reduce-to-global-pool").Single(), Does.Contain("keepdims"));
    }

    [Test]
    public void Does_not_fire_when_axes_include_channels()
    {
        using Model m = Reduce(axes: [1, 2, 3]);
        Assert.That(Matches(Run(m, new RaiseReduceToGlobalPool()), "raise-reduce-to-global-pool"), Is.Zero);
    }

    [Test]
    public void Second_run_changes_nothing()
    {
        using Model m = Reduce();
        AssertIdempotent(m, new RaiseReduceToGlobalPool());
    }

    [Test]
    public void Matches_golden()
    {
        using Model m = Reduce("ReduceMax", 18);
        Run(m, new RaiseReduceToGlobalPool());
        Golden.AssertMatches("raise-reduce-to-global-pool", GraphPrinter.Print(m.Graph, ModelBridge.Shapes.ShapeInference.Run(m.Graph)));
    }

    [TestCase("ReduceMean", 13)]
    [TestCase("ReduceMean", 18)]
    [TestCase("ReduceMax", 18)]
    public void Meets_its_contract_in_ort(string op, long opset)
    {
        using Model m = Reduce(op, opset);
        AssertNumerics(m, new RaiseReduceToGlobalPool()).Dispose();
    }
}
