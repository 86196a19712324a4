using ModelBridge.Passes;
using ModelBridge.Rewriting;
using static ModelBridge.Tests.Passes.ConvModels;

namespace ModelBridge.Tests.Passes;

[TestFixture]
public sealed class LowerGlobalPoolTests
{
    internal static Model Global(string op = "GlobalAveragePool", long opset = 13, params long[] shape)
    {
        var m = new Model(opset);
        Graph g = m.Graph;
        Value x = g.AddInput("x", new TensorType(DataType.Float, TensorShape.Of(shape.Length == 0 ? [1, 8, 5, 7] : shape)));
        Node n = g.AddNode(op, [x], ["y"], name: "/head/" + op);
        g.SetOutputs([n.Outputs[0]!]);
        return m;
    }

    [Test]
    public void Lowers_to_reduce_mean_with_axes_attribute_before_opset_18()
    {
        using Model m = Global();
        Run(m, new LowerGlobalPool());
        Node r = m.Graph.Nodes.Single();
        Assert.That(r.OpType, Is.EqualTo("ReduceMean"));
        Assert.That(r.GetInts("axes"), Is.EqualTo(new long[] { 2, 3 }));
        Assert.That(r.GetInt("keepdims"), Is.EqualTo(1));
        Assert.That(r.Outputs[0]!.Name, Is.EqualTo("y"));
    }

    [Test]
    public void Lowers_with_axes_input_from_opset_18()
    {
        using Model m = Global("GlobalMaxPool", 18, 1, 4, 3, 5, 6);
        Run(m, new LowerGlobalPool());
        Node r = m.Graph.Nodes.Single();
        Assert.That(r.OpType, Is.EqualTo("ReduceMax"));
        Assert.That(Constants.Of(r.Inputs[1])!.ToInt64Array(), Is.EqualTo(new long[] { 2, 3, 4 }));
    }

    [Test]
    public void Does_not_fire_when_rank_is_unknown()
    {
        using Model m = Global();
        m.Graph.Inputs[0].DeclaredType = new TensorType(DataType.Float, null);
        PipelineResult r = new Pipeline([new LowerGlobalPool()]).Run(m);
        Assert.That(Matches(r, "lower-global-pool"), Is.Zero);
        Assert.That(Failures(r, "lower-global-pool").Single(), Does.Contain("rank"));
    }

    [Test]
    public void Second_run_changes_nothing()
    {
        using Model m = Global();
        AssertIdempotent(m, new LowerGlobalPool());
    }

    [Test]
    public void Matches_golden()
    {
        using Model m = Global(opset: 18);
        Run(m, new LowerGlobalPool());
        Golden.AssertMatches("lower-global-pool", GraphPrinter.Print(m.Graph, ModelBridge.Shapes.ShapeInference.Run(m.Graph)));
    }

    [TestCase("GlobalAveragePool", 13)]
    [TestCase("GlobalAveragePool", 18)]
    [TestCase("GlobalMaxPool", 13)]
    [TestCase("GlobalMaxPool", 18)]
    public void Meets_its_contract_in_ort(string op, long opset)
    {
        using Model m = Global(op, opset, 2, 16, 13, 11);
        Model lowered = AssertNumerics(m, new LowerGlobalPool());
        var inputs = Numerics.Inputs(m);
        bool identical = Numerics.Run(m, inputs)["y"].Bytes.Span.SequenceEqual(Numerics.Run(lowered, inputs)["y"].Bytes.Span);
        TestContext.Out.WriteLine($"{op} opset {opset}: bit-identical = {identical}");
        if (op == "GlobalMaxPool")
        {
            Assert.That(identical, Is.True, "max is order-independent");
        }
        lowered.Dispose();
    }
}
