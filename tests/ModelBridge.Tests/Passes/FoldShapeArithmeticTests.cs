using ModelBridge.Passes;
using ModelBridge.Rewriting;

namespace ModelBridge.Tests.Passes;

[TestFixture]
public sealed class FoldShapeArithmeticTests
{
    [Test]
    public void Replaces_a_shape_chain_with_a_constant_once_the_batch_is_pinned()
    {
        var m = new Model(13);
        Graph g = m.Graph;
        Value x = g.AddInput("x", new TensorType(DataType.Float, new TensorShape([Dim.Sym("N"), 4, 3, 3])));
        Node shape = g.AddNode("Shape", [x], ["s"]);
        Value zero = g.AddInitializer("zero", Tensor.Create<long>([], [0]));
        Node gather = g.AddNode("Gather", [shape.Outputs[0], zero], ["n"]);
        Value axes = g.AddInitializer("axes", Tensor.Create<long>([1], [0]));
        Node un = g.AddNode("Unsqueeze", [gather.Outputs[0], axes], ["n1"]);
        Value minus = g.AddInitializer("minus_one", Tensor.Create<long>([1], [-1]));
        Node concat = g.AddNode("Concat", [un.Outputs[0], minus], ["target"]);
        concat.SetInt("axis", 0);
        Node reshape = g.AddNode("Reshape", [x, concat.Outputs[0]], ["y"]);
        g.SetOutputs([reshape.Outputs[0]!]);
        using Model original = m.Clone();

        Assert.That(Build.Run(m, new FoldShapeArithmetic(), new EliminateDeadNodes()).Statistics[0].Matches, Is.Zero, "N unknown: nothing to fold");
        Build.Run(m, new FoldShapeArithmetic(new Dictionary<string, long> { ["N"] = 1 }), new EliminateDeadNodes());
        Assert.That(Build.Ops(m), Is.EqualTo(new[] { "Reshape" }));
        Assert.That(Constants.Of(g.FindNode("y")!.Inputs[1])!.ToInt64Array(), Is.EqualTo(new long[] { 1, -1 }));
        Assert.That(g.Inputs[0].DeclaredType!.Shape!.IsStatic, Is.True, "folding with N pinned pins the input it was folded for");
        Numerics.AssertMeetsContract(original, m, NumericContract.Exact);
        Golden.AssertMatches("fold-shape-arithmetic", GraphPrinter.Print(g, ModelBridge.Shapes.ShapeInference.Run(g)));
    }
}
