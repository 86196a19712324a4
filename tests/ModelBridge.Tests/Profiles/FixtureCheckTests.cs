using ModelBridge.Profiles;

namespace ModelBridge.Tests.Profiles;

/// <summary>The built-in profiles on the committed PyTorch fixtures (declared shapes only; no shape inference).</summary>
[TestFixture]
public sealed class FixtureCheckTests
{
    private static Model LoadFixture(string name) => Model.Load(Path.Combine(TestPaths.Fixtures, name, "model.onnx"));

    [TestCase("retinanet_mbv2_gn_op11")]
    [TestCase("retinanet_mbv2_gn_op13")]
    [TestCase("retinanet_mbv2_gn_op17")]
    [TestCase("fcos_gn_op13")]
    public void Nnapi_refuses_the_GroupNorm_InstanceNormalization_and_Shape_nodes(string fixture)
    {
        using Model m = LoadFixture(fixture);
        ProfileReport report = ProfileChecker.Check(m.Graph, TargetProfile.BuiltIn("ort-nnapi"));

        var instanceNorms = report.Nodes.Where(n => n.OpType == "InstanceNormalization").ToList();
        var shapes = report.Nodes.Where(n => n.OpType == "Shape").ToList();
        Assert.That(instanceNorms, Has.Count.EqualTo(20));
        Assert.That(shapes, Has.Count.EqualTo(22));
        Assert.Multiple(() =>
        {
            foreach (NodeVerdict v in instanceNorms.Concat(shapes))
            {
                Assert.That(v.Supported, Is.False, v.Name);
                Assert.That(v.Reasons.Single().Constraint, Is.EqualTo("op"), v.Name);
                Assert.That(v.Reasons.Single().Message, Does.Contain($"ort-nnapi has no {v.OpType} operator"), v.Name);
            }
        });
        Assert.That(report.AllSupported, Is.False);
        Assert.That(report.Partition.Count, Is.GreaterThan(1), "the unsupported GroupNorm pieces split the graph");
    }

    [Test]
    public void Nnapi_reason_for_InstanceNormalization_names_the_workaround()
    {
        using Model m = LoadFixture("retinanet_mbv2_gn_op13");
        ProfileReport report = ProfileChecker.Check(m.Graph, TargetProfile.BuiltIn("ort-nnapi"));
        NodeVerdict v = report.Find("/head/cls_subnet/cls_subnet.1/InstanceNormalization")!;
        Assert.That(v.Reasons[0].Message, Does.Contain("no builder"));
    }

    [Test]
    public void Tflite_flags_the_grouped_conv_of_resnext_block_with_the_group_constraint()
    {
        using Model m = LoadFixture("resnext_block");
        ProfileReport report = ProfileChecker.Check(m.Graph, TargetProfile.BuiltIn("tflite-builtins"));

        NodeVerdict grouped = report.Unsupported.Single();
        Assert.That(grouped.OpType, Is.EqualTo("Conv"));
        Assert.That(grouped.Reasons.Select(r => r.Constraint), Is.EqualTo(new[] { "groupPolicy" }));
        Assert.That(grouped.Reasons[0].Message, Is.EqualTo(
            "group=8 with 64 input channels is a grouped convolution (8 channels per group); tflite-builtins runs only standard or depthwise (multiplier 1) convolutions"));
        Assert.That(grouped.Note, Does.Contain("split"));
    }

    [Test]
    public void Nnapi_runs_the_grouped_conv_of_resnext_block()
    {
        using Model m = LoadFixture("resnext_block");
        ProfileReport report = ProfileChecker.Check(m.Graph, TargetProfile.BuiltIn("ort-nnapi"));
        Assert.That(report.Nodes.Where(n => n.OpType == "Conv").Select(n => n.Reasons.Count), Is.All.Zero);
    }

    [Test]
    public void Tflite_refuses_depthwise_multiplier_2_but_xnnpack_runs_it()
    {
        using Model m = LoadFixture("depthwise_multiplier");
        NodeVerdict tflite = ProfileChecker.Check(m.Graph, TargetProfile.BuiltIn("tflite-builtins")).Unsupported.Single();
        Assert.That(tflite.Reasons[0].Message, Does.Contain("channel multiplier 2"));
        ProfileReport xnn = ProfileChecker.Check(m.Graph, TargetProfile.BuiltIn("xnnpack"));
        Assert.That(xnn.Nodes.Where(n => n.OpType == "Conv").All(n => n.Supported), Is.True);
    }

    [Test]
    public void Unknown_shapes_leave_constraints_unchecked_instead_of_failing()
    {
        // An input with no declared type: nothing downstream has a known type or shape.
        using var g = new TinyGraph();
        Value x = g.Graph.AddInput("x", null);
        g.Graph.SetOutputs([g.Graph.AddNode("Relu", [x], ["y"], "relu").Outputs[0]!]);
        ProfileReport report = ProfileChecker.Check(g.Graph, TargetProfile.BuiltIn("ort-nnapi"));
        NodeVerdict relu = report.Nodes.First(n => n.OpType == "Relu");
        Assert.That(relu.Supported, Is.True);
        Assert.That(relu.Unchecked, Does.Contain("staticShapes").Or.Contain("dataTypes"));
    }

    [Test]
    public void An_unsupported_node_on_a_chain_splits_it_into_two_partitions()
    {
        // x -> Relu(a) -> InstanceNormalization(b, unsupported on NNAPI) -> Relu(c) -> Sigmoid(d)
        using var g = new TinyGraph();
        Value x = g.Input("x", 1, 4, 8, 8);
        Node a = g.Graph.AddNode("Relu", [x], ["a"], "a");
        Node b = g.Graph.AddNode("InstanceNormalization", [a.Outputs[0], g.Weight("s", 4), g.Weight("bb", 4)], ["b"], "b");
        Node c = g.Graph.AddNode("Relu", [b.Outputs[0]], ["c"], "c");
        Node d = g.Graph.AddNode("Sigmoid", [c.Outputs[0]], ["d"], "d");
        foreach (Node n in new[] { a, b, c, d })
        {
            n.Outputs[0]!.DeclaredType = TinyGraph.Float(1, 4, 8, 8);
        }
        g.Graph.SetOutputs([d.Outputs[0]!]);

        ProfileReport report = ProfileChecker.Check(g.Graph, TargetProfile.BuiltIn("ort-nnapi"));
        Assert.That(report.Partition.Count, Is.EqualTo(2));
        Assert.That(report.Partition.SupportedNodes, Is.EqualTo(3));
        Assert.That(report.Partition.NodeShare, Is.EqualTo(0.75));
    }

    [Test]
    public void A_node_breaking_several_constraints_gets_every_reason()
    {
        // Grouped + dilated conv with a dynamic weight and a symbolic batch, on NNAPI.
        using var g = new TinyGraph();
        Value x = g.Graph.AddInput("x", new TensorType(DataType.Float, new TensorShape([Dim.Sym("N"), 8, 16, 16])));
        Value w = g.Input("w", 8, 4, 3, 3);
        g.Add("Conv", [x, w], new TensorType(DataType.Float, new TensorShape([Dim.Sym("N"), 8, 12, 12])), "node",
            ("group", 2L), ("dilations", new long[] { 2, 2 }));
        NodeVerdict v = ProfileChecker.Check(g.Graph, TargetProfile.BuiltIn("ort-nnapi")).Find("node")!;
        Assert.That(v.Reasons.Select(r => r.Constraint), Is.EquivalentTo(new[] { "constantInputs", "dilationsOn", "staticShapes" }));
        Assert.That(v.Reasons.Single(r => r.Constraint == "dilationsOn").Message,
            Is.EqualTo("dilations=[2,2] on a grouped convolution; ort-nnapi accepts dilations only on standard and depthwise convolutions"));
    }
}
