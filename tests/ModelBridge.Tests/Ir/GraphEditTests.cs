namespace ModelBridge.Tests.Ir;

[TestFixture]
public sealed class GraphEditTests
{
    [Test]
    public void Def_use_indices_follow_edits()
    {
        var model = new Model(opsetVersion: 17);
        Graph g = model.Graph;
        Value x = g.AddInput("x", new TensorType(DataType.Float, TensorShape.Of(1, 4)));
        Node relu = g.AddNode("Relu", [x], ["r"]);
        Node neg = g.AddNode("Neg", [relu.Outputs[0]], ["n"]);
        g.SetOutputs([neg.Outputs[0]!]);

        Assert.That(x.Uses, Is.EqualTo(new[] { new Use(relu, 0) }));
        Assert.That(relu.Outputs[0]!.Producer, Is.SameAs(relu));

        g.SetInput(neg, 0, x);
        Assert.That(relu.Outputs[0]!.Uses, Is.Empty);
        Assert.That(x.Uses, Has.Count.EqualTo(2));
        g.RemoveNode(relu);
        Assert.That(x.Uses, Is.EqualTo(new[] { new Use(neg, 0) }));
        Assert.That(g.FindValue("r"), Is.Null);
        Assert.That(g.FindProblems(), Is.Empty);
    }

    [Test]
    public void Removing_a_node_whose_output_is_used_throws()
    {
        var model = new Model(opsetVersion: 17);
        Graph g = model.Graph;
        Value x = g.AddInput("x", null);
        Node relu = g.AddNode("Relu", [x], ["r"]);
        g.AddNode("Neg", [relu.Outputs[0]], ["n"]);
        Assert.That(() => g.RemoveNode(relu), Throws.InvalidOperationException.With.Message.Contains("'r'"));
    }

    [Test]
    public void New_nodes_are_placed_after_their_anchor_in_topological_order()
    {
        var model = new Model(opsetVersion: 17);
        Graph g = model.Graph;
        Value x = g.AddInput("x", null);
        Node a = g.AddNode("Relu", [x], ["a"]);
        Node b = g.AddNode("Neg", [a.Outputs[0]], ["b"]);
        Node c = g.AddNode("Abs", [b.Outputs[0]], ["c"]);
        Node late = g.AddNode("Sigmoid", [a.Outputs[0]], ["s"], placeAfter: a);
        Assert.That(g.TopologicalOrder(), Is.EqualTo(new[] { a, late, b, c }));
    }

    [Test]
    public void Unique_names_are_deterministic()
    {
        var model = new Model(opsetVersion: 17);
        Graph g = model.Graph;
        g.AddInput("t", null);
        Assert.That(g.UniqueValueName("t"), Is.EqualTo("t_1"));
        Assert.That(g.UniqueValueName("u"), Is.EqualTo("u"));
    }

    [Test]
    public void Attributes_are_typed()
    {
        var model = new Model(opsetVersion: 17);
        Graph g = model.Graph;
        Value x = g.AddInput("x", null);
        Node n = g.AddNode("Conv", [x], ["y"]);
        n.SetInts("strides", [2, 2]);
        n.SetInt("group", 4);
        Assert.That(n.GetInts("strides"), Is.EqualTo(new long[] { 2, 2 }));
        Assert.That(n.GetInt("group", 1), Is.EqualTo(4));
        Assert.That(n.GetInt("missing", 7), Is.EqualTo(7));
        var ex = Assert.Throws<InvalidModelException>(() => n.GetFloat("group", 0f));
        Assert.That(ex!.Message, Does.Contain("'group'").And.Contain("Int"));
        Assert.That(ex.NodeName, Is.EqualTo(n.Name));
    }

    [Test]
    public void Built_graph_saves_and_reloads()
    {
        var model = new Model(opsetVersion: 17);
        Graph g = model.Graph;
        Value x = g.AddInput("x", new TensorType(DataType.Float, new TensorShape([Dim.Sym("N"), 3])));
        Value w = g.AddInitializer("w", Tensor.Create<float>([3], [1f, 2f, 3f]));
        Node mul = g.AddNode("Mul", [x, w], ["y"]);
        g.SetOutputs([mul.Outputs[0]!]);
        mul.Outputs[0]!.DeclaredType = new TensorType(DataType.Float, new TensorShape([Dim.Sym("N"), 3]));
        using Model back = Model.Load(model.ToBytes());
        Assert.That(back.Graph.Inputs[0].DeclaredType!.ToString(), Is.EqualTo("float[N,3]"));
        Assert.That(back.Graph.GetValue("w").Initializer!.AsSpan<float>().ToArray(), Is.EqualTo(new[] { 1f, 2f, 3f }));
        Assert.That(back.Graph.FindProblems(), Is.Empty);
    }
}
