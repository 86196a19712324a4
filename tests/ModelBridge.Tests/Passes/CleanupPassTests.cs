using ModelBridge.Passes;
using ModelBridge.Rewriting;

namespace ModelBridge.Tests.Passes;

/// <summary>Shared helpers for small hand-built pass tests.</summary>
internal static class Build
{
    public static (Model Model, Graph Graph, Value X) Start(long opset = 13, params long[] dims)
    {
        var m = new Model(opset);
        Value x = m.Graph.AddInput("x", new TensorType(DataType.Float, TensorShape.Of(dims.Length == 0 ? [1, 4, 3, 3] : dims)));
        return (m, m.Graph, x);
    }

    public static PipelineResult Run(Model m, params Pass[] passes) => new Pipeline(passes).Run(m);

    public static string[] Ops(Model m) => [.. m.Graph.TopologicalOrder().Select(n => n.OpType)];
}

[TestFixture]
public sealed class EliminateIdentityTests
{
    [Test]
    public void Rewires_readers_and_keeps_graph_output_names()
    {
        var (m, g, x) = Build.Start();
        Node relu = g.AddNode("Relu", [x], ["r"]);
        Node id = g.AddNode("Identity", [relu.Outputs[0]], ["y"]);
        Node id2 = g.AddNode("Identity", [relu.Outputs[0]], ["i2"]);
        Node neg = g.AddNode("Neg", [id2.Outputs[0]], ["n"]);
        g.SetOutputs([id.Outputs[0]!, neg.Outputs[0]!]);
        using Model original = m.Clone();
        PipelineResult r = Build.Run(m, new EliminateIdentity());
        Assert.That(Build.Ops(m), Is.EqualTo(new[] { "Relu", "Neg" }));
        Assert.That(g.Outputs.Select(o => o.Name), Is.EqualTo(new[] { "y", "n" }), "graph output names never change");
        Assert.That(g.FindNode("n")!.Inputs[0]!.Name, Is.EqualTo("y"));
        Assert.That(r.Provenance.Get("y")!.Original, Is.EqualTo("r"));
        Numerics.AssertMeetsContract(original, m, NumericContract.Exact);
        Assert.That(Build.Run(m, new EliminateIdentity()).Statistics[0].Matches, Is.Zero, "idempotent");
        Golden.AssertMatches("eliminate-identity", GraphPrinter.Print(g));
    }

    [Test]
    public void Does_not_fire_between_a_graph_input_and_a_graph_output()
    {
        var (m, g, x) = Build.Start();
        Node id = g.AddNode("Identity", [x], ["y"]);
        g.SetOutputs([id.Outputs[0]!]);
        PipelineResult r = Build.Run(m, new EliminateIdentity());
        Assert.That(Build.Ops(m), Is.EqualTo(new[] { "Identity" }));
        Assert.That(r.Statistics[0].FailureSamples.Single(), Does.Contain("both names must stay"));
    }
}

[TestFixture]
public sealed class EliminateDropoutTests
{
    [Test]
    public void Removes_inference_dropout()
    {
        var (m, g, x) = Build.Start();
        Node d = g.AddNode("Dropout", [x], ["d"]);
        Node relu = g.AddNode("Relu", [d.Outputs[0]], ["y"]);
        g.SetOutputs([relu.Outputs[0]!]);
        using Model original = m.Clone();
        Build.Run(m, new EliminateDropout());
        Assert.That(Build.Ops(m), Is.EqualTo(new[] { "Relu" }));
        Numerics.AssertMeetsContract(original, m, NumericContract.Exact);
    }

    [Test]
    public void Does_not_fire_when_the_mask_is_used()
    {
        var (m, g, x) = Build.Start();
        Node d = g.AddNode("Dropout", [x], ["d", "mask"]);
        g.SetOutputs([d.Outputs[0]!, d.Outputs[1]!]);
        PipelineResult r = Build.Run(m, new EliminateDropout());
        Assert.That(Build.Ops(m), Is.EqualTo(new[] { "Dropout" }));
        Assert.That(r.Statistics[0].FailureSamples.Single(), Does.Contain("mask"));
    }

    [Test]
    public void Does_not_fire_in_training_mode()
    {
        var (m, g, x) = Build.Start();
        Value ratio = g.AddInitializer("ratio", Tensor.Create<float>([], [0.5f]));
        Value training = g.AddInitializer("training", Tensor.Create<bool>([], [true]));
        Node d = g.AddNode("Dropout", [x, ratio, training], ["d"]);
        Node relu = g.AddNode("Relu", [d.Outputs[0]], ["y"]);
        g.SetOutputs([relu.Outputs[0]!]);
        Build.Run(m, new EliminateDropout());
        Assert.That(Build.Ops(m), Has.Member("Dropout"));
    }
}

[TestFixture]
public sealed class EliminateDeadNodesTests
{
    [Test]
    public void Removes_unread_nodes_and_initializers_only()
    {
        var (m, g, x) = Build.Start();
        Value w = g.AddInitializer("w", Tensor.Create<float>([1], [2f]));
        Value unused = g.AddInitializer("unused", Tensor.Create<float>([1], [3f]));
        Node keep = g.AddNode("Mul", [x, w], ["y"]);
        Node dead1 = g.AddNode("Relu", [x], ["dead1"]);
        g.AddNode("Neg", [dead1.Outputs[0]], ["dead2"]);
        g.SetOutputs([keep.Outputs[0]!]);
        Build.Run(m, new EliminateDeadNodes());
        Assert.That(Build.Ops(m), Is.EqualTo(new[] { "Mul" }));
        Assert.That(g.Initializers.Select(v => v.Name), Is.EqualTo(new[] { "w" }));
        Assert.That(unused.Graph.FindValue("unused"), Is.Null);
        Assert.That(Build.Run(m, new EliminateDeadNodes()).Statistics[0].Matches, Is.Zero);
    }
}

[TestFixture]
public sealed class ConstantToInitializerTests
{
    [Test]
    public void Turns_every_value_form_into_an_initializer()
    {
        var (m, g, x) = Build.Start();
        Node c1 = g.AddNode("Constant", [], ["c1"]);
        c1.SetTensor("value", Tensor.Create<float>([4, 1, 1], [1, 2, 3, 4]));
        Node c2 = g.AddNode("Constant", [], ["c2"]);
        c2.SetFloat("value_float", 0.5f);
        Node c3 = g.AddNode("Constant", [], ["c3"]);
        c3.SetInts("value_ints", [1, 4, 9]);
        Node mul = g.AddNode("Mul", [x, c1.Outputs[0]], ["a"]);
        Node add = g.AddNode("Add", [mul.Outputs[0], c2.Outputs[0]], ["b"]);
        Node reshape = g.AddNode("Reshape", [add.Outputs[0], c3.Outputs[0]], ["y"]);
        g.SetOutputs([reshape.Outputs[0]!]);
        using Model original = m.Clone();
        Build.Run(m, new ConstantToInitializer());
        Assert.That(Build.Ops(m), Is.EqualTo(new[] { "Mul", "Add", "Reshape" }));
        Assert.That(g.Initializers.Select(v => v.Name), Is.EquivalentTo(new[] { "c1", "c2", "c3" }), "initializers keep the constants' names");
        Assert.That(g.GetValue("c3").Initializer!.ToInt64Array(), Is.EqualTo(new long[] { 1, 4, 9 }));
        Numerics.AssertMeetsContract(original, m, NumericContract.Exact);
    }
}

[TestFixture]
public sealed class DeduplicateInitializersTests
{
    [Test]
    public void Merges_identical_payloads_and_keeps_distinct_ones()
    {
        var (m, g, x) = Build.Start();
        Value a = g.AddInitializer("a", Tensor.Create<float>([4, 1, 1], [1, 2, 3, 4]));
        Value b = g.AddInitializer("b", Tensor.Create<float>([4, 1, 1], [1, 2, 3, 4]));
        Value c = g.AddInitializer("c", Tensor.Create<float>([4, 1, 1], [1, 2, 3, 5]));
        Value d = g.AddInitializer("d", Tensor.Create<float>([1, 4, 1, 1], [1, 2, 3, 4]));
        Node n1 = g.AddNode("Mul", [x, a], ["n1"]);
        Node n2 = g.AddNode("Mul", [n1.Outputs[0], b], ["n2"]);
        Node n3 = g.AddNode("Mul", [n2.Outputs[0], c], ["n3"]);
        Node n4 = g.AddNode("Mul", [n3.Outputs[0], d], ["y"]);
        g.SetOutputs([n4.Outputs[0]!]);
        using Model original = m.Clone();
        Build.Run(m, new DeduplicateInitializers());
        Assert.That(g.Initializers.Select(v => v.Name), Is.EqualTo(new[] { "a", "c", "d" }), "same bytes but other dims stay apart");
        Assert.That(g.FindNode("n2")!.Inputs[1]!.Name, Is.EqualTo("a"));
        Numerics.AssertMeetsContract(original, m, NumericContract.Exact);
    }
}

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
