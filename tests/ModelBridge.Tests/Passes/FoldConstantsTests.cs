using ModelBridge.Passes;
using ModelBridge.Rewriting;

namespace ModelBridge.Tests.Passes;

[TestFixture]
public sealed class FoldConstantsTests
{
    [Test]
    public void Folds_unsqueeze_transpose_and_arithmetic_on_constants_bit_exactly()
    {
        var (m, g, x) = Build.Start(13, 1, 4, 3, 3);
        Value gamma = g.AddInitializer("gamma", Tensor.Create<float>([4], [0.5f, 1.5f, -2f, 0.1f]));
        Value axes = g.AddInitializer("axes", Tensor.Create<long>([2], [1, 2]));
        Node un = g.AddNode("Unsqueeze", [gamma, axes], ["g3"]);
        Value three = g.AddInitializer("three", Tensor.Create<float>([], [3f]));
        Node div = g.AddNode("Div", [un.Outputs[0], three], ["g3d"]);
        Node mul = g.AddNode("Mul", [x, div.Outputs[0]], ["y"]);
        g.SetOutputs([mul.Outputs[0]!]);
        ModelBridge.Shapes.ShapeInference.Run(g);
        using Model original = m.Clone();
        PipelineResult r = Build.Run(m, new FoldConstants(), new EliminateDeadNodes());
        Assert.That(Build.Ops(m), Is.EqualTo(new[] { "Mul" }));
        Tensor folded = Constants.Of(g.FindNode("y")!.Inputs[1])!;
        Assert.That(folded.Dims, Is.EqualTo(new long[] { 4, 1, 1 }));
        Assert.That(folded.ToFloatArray(), Is.EqualTo(new[] { 0.5f / 3f, 1.5f / 3f, -2f / 3f, 0.1f / 3f }));
        Numerics.AssertMeetsContract(original, m, NumericContract.Exact);
        Assert.That(r.Statistics[0].Matches, Is.EqualTo(2));
        Golden.AssertMatches("fold-constants", GraphPrinter.Print(g));
    }

    [Test]
    public void Does_not_fold_nodes_with_a_runtime_input()
    {
        var (m, g, x) = Build.Start();
        Node n = g.AddNode("Neg", [x], ["y"]);
        g.SetOutputs([n.Outputs[0]!]);
        Assert.That(Build.Run(m, new FoldConstants()).Statistics[0].Matches, Is.Zero);
    }
}
