using ModelBridge.Shapes;

namespace ModelBridge.Tests.Shapes;

[TestFixture]
public sealed class GroupNormShapeChainTests
{
    [TestCase("retinanet_mbv2_gn_op11")]
    [TestCase("retinanet_mbv2_gn_op13")]
    [TestCase("retinanet_mbv2_gn_op17")]
    public void Reshape_of_Shape_chains_become_constant_once_the_batch_is_pinned(string fixture)
    {
        using Model m = Model.Load(Path.Combine(TestPaths.Fixtures, fixture, "model.onnx"));
        // Make the batch dimension dynamic, as a user exporting with dynamic_axes would have it.
        Value input = m.Graph.Inputs[0];
        input.DeclaredType = input.DeclaredType! with { Shape = new TensorShape([Dim.Sym("N"), .. input.DeclaredType.Shape!.Dims.Skip(1)]) };
        Value[] restoreShapes = [.. m.Graph.Nodes.Where(n => n.OpType == "Reshape" && n.Inputs[1]!.Producer?.OpType == "Shape").Select(n => n.Inputs[1]!)];
        Assert.That(restoreShapes, Has.Length.EqualTo(20), "one Reshape(x, Shape(x)) per exported GroupNorm");

        ShapeInferenceResult dynamic = ShapeInference.Run(m.Graph);
        Assert.That(restoreShapes.Count(v => dynamic.TryGetConstantValue(v, out _)), Is.Zero, "with a symbolic batch the shapes are not constants");

        ShapeInferenceResult pinned = ShapeInference.Run(m.Graph, new ShapeInferenceOptions { DimOverrides = new Dictionary<string, long> { ["N"] = 1 } });
        foreach (Value v in restoreShapes)
        {
            Assert.That(pinned.TryGetConstantValue(v, out long[] shape), Is.True, $"'{v.Name}' is a constant once N=1");
            Assert.That(shape, Has.Length.EqualTo(4));
            Assert.That(shape[0], Is.EqualTo(1));
            Node reshape = v.Uses[0].Node;
            Assert.That(pinned.ShapeOf(reshape.Outputs[0])!.IsStatic, Is.True);
        }
    }
}
