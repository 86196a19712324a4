using ModelBridge.OnnxProto;
using ModelBridge.Profiles;
using ModelBridge.Shapes;
using AttrType = ModelBridge.OnnxProto.AttributeProto.Types.AttributeType;

namespace ModelBridge.Tests.Robustness;

/// <summary>
/// One test per class of bad input: each is refused with the exact <see cref="ModelBridgeException"/>
/// subclass, and the message names the node or tensor and the problem. Nothing else escapes.
/// </summary>
[TestFixture]
public sealed class MalformedModelTests
{
    private static ModelProto Small() => TestModels.ReluIdentitySigmoid();

    private static Model Load(ModelProto p) => Model.Load(p.ToByteArray());

    /// <summary>x[1,2,4,4] -> Conv(w[2,1,3,3], group 2) -> y.</summary>
    private static ModelProto DepthwiseConv(Action<NodeProto>? edit = null)
    {
        var g = new GraphProto { Name = "conv" };
        g.Input.Add(TestModels.Info("x", 1, 2, 4, 4));
        g.Output.Add(TestModels.Info("y", 1, 2, 2, 2));
        g.Initializer.Add(TestModels.FloatTensor("w", [2, 1, 3, 3], new float[18]));
        NodeProto conv = TestModels.Node("Conv", ["x", "w"], ["y"], "conv");
        conv.Attribute.Add(new AttributeProto { Name = "group", Type = AttrType.Int, I = 2 });
        edit?.Invoke(conv);
        g.Node.Add(conv);
        return TestModels.Wrap(g);
    }

    // ---- protobuf ------------------------------------------------------------------------------

    [Test]
    public void Truncated_protobuf_is_refused_at_every_length()
    {
        byte[] bytes = Small().ToByteArray();
        for (int keep = 0; keep < bytes.Length; keep++)
        {
            Assert.DoesNotThrow(() => Stages.RunAll(bytes[..keep]), $"prefix of {keep} bytes");
        }
        var ex = Assert.Throws<InvalidModelException>(() => Model.Load(bytes.AsMemory(0, bytes.Length / 2)));
        Assert.That(ex!.Message, Does.Contain("Malformed protobuf").And.Contain("truncated"));
    }

    [Test]
    public void Every_single_bit_flip_is_loaded_or_refused_with_a_ModelBridgeException()
    {
        byte[] bytes = Small().ToByteArray();
        for (int i = 0; i < bytes.Length; i++)
        {
            byte[] flipped = (byte[])bytes.Clone();
            flipped[i] ^= (byte)(1 << (i % 8));
            Assert.DoesNotThrow(() => Stages.RunAll(flipped), $"bit {i % 8} of byte {i}");
        }
    }

    [Test]
    public void An_invalid_wire_type_is_refused_naming_the_field()
    {
        byte[] bytes = [(7 << 3) | 7, .. Small().ToByteArray()];
        var ex = Assert.Throws<InvalidModelException>(() => Model.Load(bytes));
        Assert.That(ex!.Message, Does.Contain("invalid wire type 7 for field 7"));
    }

    [Test]
    public void A_graph_field_with_the_wrong_wire_type_leaves_no_graph()
    {
        ModelProto p = Small();
        p.Graph = null;
        byte[] bytes = [.. p.ToByteArray(), 7 << 3, 1]; // field 7 (graph) as a varint
        var ex = Assert.Throws<InvalidModelException>(() => Model.Load(bytes));
        Assert.That(ex!.Message, Does.Contain("no graph"));
    }

    [Test]
    public void Subgraphs_nested_past_the_protobuf_recursion_limit_are_refused()
    {
        var ex = Assert.Throws<InvalidModelException>(() => Model.Load(NestedIf(60).ToByteArray()));
        Assert.That(ex!.Message, Does.Contain("Malformed protobuf"));
        Assert.That(ex.InnerException, Is.TypeOf<InvalidProtocolBufferException>());

        // A reasonable depth loads and converts, the nested bodies carried as they are.
        using Model m = Model.Load(NestedIf(8).ToByteArray());
        Assert.That(Stages.RunAll(NestedIf(8).ToByteArray()).Where(r => r.Stage != "profile-check"), Is.Empty);
        Assert.That(m.Graph.FindNode("if0")!.ImplicitInputs.Select(v => v.Name), Is.EquivalentTo(new[] { "c", "x" }));
    }

    private static GraphProto Leaf(string name)
    {
        var leaf = new GraphProto { Name = name };
        leaf.Node.Add(TestModels.Node("Identity", ["x"], [name + "_out"], name));
        leaf.Output.Add(TestModels.Info(name + "_out", 1, 2, 3));
        return leaf;
    }

    private static ModelProto NestedIf(int depth)
    {
        GraphProto body = Leaf("leaf");
        for (int i = depth - 1; i >= 0; i--)
        {
            var g = new GraphProto { Name = $"level{i}" };
            NodeProto n = TestModels.Node("If", ["c"], [$"o{i}"], $"if{i}");
            n.Attribute.Add(new AttributeProto { Name = "then_branch", Type = AttrType.Graph, G = body });
            // Only then_branch nests (sharing one body in both branches would double the file per level).
            n.Attribute.Add(new AttributeProto { Name = "else_branch", Type = AttrType.Graph, G = Leaf($"else{i}") });
            g.Node.Add(n);
            g.Output.Add(TestModels.Info($"o{i}", 1, 2, 3));
            body = g;
        }
        body.Name = "main";
        body.Input.Add(TestModels.Info("x", 1, 2, 3));
        body.Input.Add(new ValueInfoProto { Name = "c", Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 9, Shape = new TensorShapeProto() } } });
        return TestModels.Wrap(body);
    }

    // ---- dims and payloads ----------------------------------------------------------------------

    [Test]
    public void A_negative_declared_dimension_names_the_value()
    {
        ModelProto p = Small();
        p.Graph.Input[0].Type.TensorType.Shape.Dim[1].DimValue = -2;
        var ex = Assert.Throws<InvalidModelException>(() => Load(p));
        Assert.That(ex!.Message, Does.Contain("Value 'x'").And.Contain("negative dimension -2"));
    }

    [Test]
    public void Tensor_dims_whose_product_overflows_name_the_tensor()
    {
        ModelProto p = Small();
        p.Graph.Initializer[0].Dims.Clear();
        p.Graph.Initializer[0].Dims.Add([1L << 40, 1L << 40]);
        var ex = Assert.Throws<InvalidModelException>(() => Load(p));
        Assert.That(ex!.Message, Does.Contain("'bias'").And.Contain("overflows"));
    }

    [Test]
    public void A_declared_shape_whose_product_overflows_names_the_value()
    {
        ModelProto p = Small();
        p.Graph.Output[0].Type.TensorType.Shape.Dim[0].DimValue = long.MaxValue;
        var ex = Assert.Throws<InvalidModelException>(() => Load(p));
        Assert.That(ex!.Message, Does.Contain("Value 'y'").And.Contain("overflows"));
    }

    [Test]
    public void A_huge_tensor_claimed_without_data_allocates_nothing_and_is_refused_when_read()
    {
        ModelProto p = Small();
        var huge = new TensorProto { Name = "huge", DataType = 1 };
        huge.Dims.Add([1_000_000, 1_000_000]); // 4 TB of floats claimed, none stored
        p.Graph.Initializer.Add(huge);
        byte[] bytes = p.ToByteArray();

        long before = GC.GetAllocatedBytesForCurrentThread();
        using Model m = Model.Load(bytes);
        var problems = m.Graph.FindProblems();
        var read = Assert.Throws<InvalidModelException>(() => _ = m.Graph.GetValue("huge").Initializer!.Data);
        ShapeInference.Run(m.Graph);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.That(allocated, Is.LessThan(4 << 20), "nothing near the claimed size is allocated");
        Assert.That(problems.Select(x => x.Message), Has.One.Contains("'huge'").And.Contains("0 bytes").And.Contains("4000000000000"));
        Assert.That(read!.Message, Does.Contain("'huge'").And.Contain("4000000000000"));
    }

    [Test]
    public void Raw_data_that_disagrees_with_dims_is_refused_when_read_and_by_conversion()
    {
        ModelProto p = Small();
        p.Graph.Initializer[0].Dims[0] = 4; // 3 floats stored, 4 claimed
        using Model m = Load(p);
        var read = Assert.Throws<InvalidModelException>(() => _ = m.Graph.GetValue("bias").Initializer!.Data);
        Assert.That(read!.Message, Does.Contain("'bias'").And.Contain("12 bytes").And.Contain("16"));
        var convert = Assert.Throws<InvalidModelException>(() => ModelConverter.Convert(m, Stages.Nnapi));
        Assert.That(convert!.Message, Does.Contain("'bias'"));
    }

    [Test]
    public void Typed_data_that_disagrees_with_dims_is_reported()
    {
        ModelProto p = Small();
        TensorProto bias = p.Graph.Initializer[0];
        bias.ClearRawData();
        bias.FloatData.Add([1f, 2f]); // 2 of 3
        using Model m = Load(p);
        Assert.That(m.Graph.FindProblems().Select(x => x.Message), Has.One.Contains("'bias'").And.Contains("8 bytes of typed data").And.Contains("12"));
        Assert.That(() => m.Graph.GetValue("bias").Initializer!.ToFloatArray(), Throws.TypeOf<InvalidModelException>().With.Message.Contains("'bias'"));
    }

    [Test]
    public void An_unknown_element_type_is_reported_naming_the_tensor()
    {
        ModelProto p = Small();
        p.Graph.Initializer[0].DataType = 99;
        using Model m = Load(p);
        Assert.That(m.Graph.FindProblems().Select(x => x.Message), Has.One.Contains("'bias'").And.Contains("data_type 99"));
        Assert.That(() => m.Graph.GetValue("bias").Initializer!.Data, Throws.TypeOf<InvalidModelException>().With.Message.Contains("'bias'"));
    }

    [Test]
    public void String_tensors_are_carried_through_every_stage()
    {
        ModelProto p = Small();
        var labels = new TensorProto { Name = "labels", DataType = 8 };
        labels.Dims.Add(2);
        labels.StringData.Add([ByteString.CopyFromUtf8("cat"), ByteString.CopyFromUtf8("dog")]);
        p.Graph.Initializer.Add(labels);
        p.Graph.Node.Add(TestModels.Node("Identity", ["labels"], ["names"], "names"));
        p.Graph.Output.Add(new ValueInfoProto { Name = "names" });

        Assert.That(Stages.RunAll(p.ToByteArray()).Where(r => r.Stage != "profile-check"), Is.Empty);
        using Model m = Load(p);
        ConversionResult r = ModelConverter.Convert(m, Stages.Nnapi);
        using Model converted = r.Model;
        ModelProto back = ModelProto.Parser.ParseFrom(converted.ToBytes());
        TensorProto kept = back.Graph.Initializer.Single(t => t.Name == "labels" || t.DataType == 8);
        Assert.That(kept.StringData.Select(s => s.ToStringUtf8()), Is.EqualTo(new[] { "cat", "dog" }));
    }

    // ---- graph structure -------------------------------------------------------------------------

    [Test]
    public void Duplicate_value_names_are_refused_naming_the_value()
    {
        ModelProto twoInits = Small();
        twoInits.Graph.Initializer.Add(TestModels.FloatTensor("bias", [3], [1f, 2f, 3f]));
        Assert.That(() => Load(twoInits), Throws.TypeOf<InvalidModelException>().With.Message.Contains("Initializer 'bias' is declared twice"));

        ModelProto twoInputs = Small();
        twoInputs.Graph.Input.Add(TestModels.Info("x", 1, 2, 3));
        Assert.That(() => Load(twoInputs), Throws.TypeOf<InvalidModelException>().With.Message.Contains("Graph input 'x' is declared twice"));

        ModelProto overwrites = Small();
        overwrites.Graph.Node[1].Output[0] = "bias";
        Assert.That(() => Load(overwrites), Throws.TypeOf<InvalidModelException>().With.Message.Contains("Node 'relu' (Relu) writes 'bias'"));

        ModelProto twoProducers = Small();
        twoProducers.Graph.Node[4].Output[0] = "s";
        var ex = Assert.Throws<InvalidModelException>(() => Load(twoProducers));
        Assert.That(ex!.NodeName, Is.EqualTo("neg"));
        Assert.That(ex.Message, Does.Contain("Value 's' is produced by two nodes"));
    }

    [Test]
    public void A_cycle_is_refused_by_every_stage_naming_its_nodes()
    {
        ModelProto p = Small();
        p.Graph.Node[1].Input[0] = "i"; // relu <- identity <- relu
        var refusals = Stages.RunAll(p.ToByteArray());
        // The summary sizes values from shape facts, so it orders the graph too and meets the cycle.
        Assert.That(refusals.Select(r => r.Stage), Is.EqualTo(new[] { "validate", "summary", "shape-inference", "profile-check", "convert" }));
        foreach (var (stage, error) in refusals)
        {
            Assert.That(error, Is.TypeOf<InvalidModelException>(), stage);
            Assert.That(error.Message, Does.Contain("cycle").And.Contain("'relu'").And.Contain("'identity'"), stage);
        }
    }

    [Test]
    public void A_graph_output_nobody_produces_is_reported_by_name()
    {
        ModelProto p = Small();
        p.Graph.Output.Add(TestModels.Info("ghost", 1));
        var refusals = Stages.RunAll(p.ToByteArray());
        Assert.That(refusals.Select(r => r.Stage), Is.EqualTo(new[] { "validate", "convert" }), "conversion validates its input first");
        Assert.That(refusals.Select(r => r.Error), Has.All.TypeOf<InvalidModelException>().And.All.Message.Contains("Graph output 'ghost' is not produced by any node"));
    }

    [Test]
    public void An_attribute_of_the_wrong_type_names_the_node_and_attribute()
    {
        ModelProto p = DepthwiseConv(conv => conv.Attribute[0] = new AttributeProto { Name = "group", Type = AttrType.Float, F = 2f });
        using Model m = Load(p);
        var ex = Assert.Throws<InvalidModelException>(() => ShapeInference.Run(m.Graph));
        Assert.That(ex!.NodeName, Is.EqualTo("conv"));
        Assert.That(ex.Message, Does.Contain("attribute 'group' has type Float, expected Int"));
    }

    [Test]
    public void A_tensor_attribute_without_a_tensor_names_the_node()
    {
        ModelProto p = Small();
        NodeProto constant = TestModels.Node("Constant", [], ["k"], "k");
        constant.Attribute.Add(new AttributeProto { Name = "value", Type = AttrType.Tensor });
        p.Graph.Node.Add(constant);
        using Model m = Load(p);
        var ex = Assert.Throws<InvalidModelException>(() => ShapeInference.Run(m.Graph));
        Assert.That(ex!.Message, Does.Contain("Node 'k' (Constant): attribute 'value' is declared Tensor but holds no value"));
    }

    [Test]
    public void Unknown_ops_and_domains_are_carried_and_reported()
    {
        ModelProto p = Small();
        p.OpsetImport.Add(new OperatorSetIdProto { Domain = "com.example", Version = 1 });
        p.Graph.Node.Add(new NodeProto { Name = "frob", OpType = "Frobnicate", Domain = "com.example", Input = { "y" }, Output = { "f" } });
        p.Graph.Node.Add(new NodeProto { Name = "mystery", OpType = "NoSuchOp", Input = { "f" }, Output = { "z" } });
        p.Graph.Output.Add(new ValueInfoProto { Name = "z" });
        using Model m = Load(p);

        Assert.That(m.Graph.FindProblems(), Is.Empty);
        var shapes = ShapeInference.Run(m.Graph);
        Assert.That(shapes.Warnings, Has.Some.Contains("com.example.Frobnicate").And.Some.Contains("NoSuchOp"));
        ConversionResult r = ModelConverter.Convert(m, Stages.Nnapi);
        using Model converted = r.Model;
        Assert.That(converted.Graph.Nodes.Select(n => n.OpType), Does.Contain("Frobnicate").And.Contain("NoSuchOp"));
        Assert.That(r.Remaining.Unsupported.Select(n => n.Name), Is.SupersetOf(new[] { "frob", "mystery" }));
        using Model back = Model.Load(converted.ToBytes());
        Assert.That(back.Graph.FindNode("frob")!.Domain, Is.EqualTo("com.example"));
    }

    // ---- opsets ---------------------------------------------------------------------------------

    [Test]
    public void A_missing_opset_import_is_reported_and_nothing_crashes()
    {
        ModelProto p = Small();
        p.OpsetImport.Clear();
        var refusals = Stages.RunAll(p.ToByteArray());
        Assert.That(refusals.Select(r => r.Stage), Is.EqualTo(new[] { "validate", "convert" }), "conversion validates its input first");
        Assert.That(refusals.Select(r => r.Error), Has.All.TypeOf<InvalidModelException>()
            .And.All.Message.Contains("Node 'add' (Add) uses domain 'ai.onnx (default)', which the model's opset_import does not list"));
    }

    [Test]
    public void A_future_opset_is_inspected_with_a_warning_and_refused_by_conversion()
    {
        ModelProto p = Small();
        p.OpsetImport[0].Version = 99;
        using Model m = Load(p);
        Assert.That(m.Graph.FindProblems(), Is.Empty);
        Assert.That(ShapeInference.Run(m.Graph).Warnings, Has.One.Contains("opset 99 is newer than the newest ModelBridge knows"));
        Assert.That(ProfileChecker.Check(m.Graph, Stages.Nnapi).Nodes, Is.Not.Empty);
        var ex = Assert.Throws<UnsupportedOperatorException>(() => ModelConverter.Convert(m, Stages.Nnapi));
        Assert.That(ex!.Message, Does.Contain("opset 99").And.Contain($"({OpsetSupport.NewestKnown})"));
    }

    [Test]
    public void Duplicate_or_non_positive_opset_imports_are_refused()
    {
        ModelProto twice = Small();
        twice.OpsetImport.Add(new OperatorSetIdProto { Domain = "ai.onnx", Version = 17 });
        Assert.That(() => Load(twice), Throws.TypeOf<InvalidModelException>().With.Message.Contains("lists domain 'ai.onnx (default)' twice (versions 13 and 17)"));

        ModelProto zero = Small();
        zero.OpsetImport[0].Version = 0;
        Assert.That(() => Load(zero), Throws.TypeOf<InvalidModelException>().With.Message.Contains("version 0"));
    }

    // ---- regressions found by the fuzzer ----------------------------------------------------------

    [Test]
    public void A_kernel_shape_of_the_wrong_length_names_the_node()
    {
        ModelProto p = DepthwiseConv(conv => conv.Attribute.Add(new AttributeProto { Name = "kernel_shape", Type = AttrType.Ints, Ints = { 3 } }));
        using Model m = Load(p);
        var ex = Assert.Throws<InvalidModelException>(() => ShapeInference.Run(m.Graph));
        Assert.That(ex!.NodeName, Is.EqualTo("conv"));
        Assert.That(ex.Message, Does.Contain("kernel_shape [3] does not give one positive size for each of 2 spatial axes"));
    }

    [Test]
    public void Shape_arithmetic_that_overflows_names_the_node()
    {
        var g = new GraphProto { Name = "flatten" };
        g.Input.Add(TestModels.Info("a", 1L << 32, 1L << 20, 1L << 20, 0)); // zero-sized, so the declared shape is fine
        g.Node.Add(TestModels.Node("Flatten", ["a"], ["f"], "flat"));
        g.Node[0].Attribute.Add(new AttributeProto { Name = "axis", Type = AttrType.Int, I = 3 });
        g.Output.Add(new ValueInfoProto { Name = "f" });
        using Model m = Load(TestModels.Wrap(g));
        var ex = Assert.Throws<InvalidModelException>(() => ShapeInference.Run(m.Graph));
        Assert.That(ex!.NodeName, Is.EqualTo("flat"));
        Assert.That(ex.Message, Does.Contain("overflows a 64-bit integer"));
    }

    [Test]
    public void A_node_without_outputs_and_an_omitted_first_input_do_not_crash_any_stage()
    {
        ModelProto p = Small();
        p.Graph.Node.Add(TestModels.Node("Add", ["x", "bias"], [], "sink"));
        p.Graph.Node.Add(TestModels.Node("Neg", [""], ["orphan"], "no_input"));
        Assert.That(Stages.RunAll(p.ToByteArray()).Where(r => r.Stage is not ("validate" or "profile-check")), Is.Empty);
    }

    [Test]
    public void Float8_constants_are_not_read_as_numbers_by_patterns_or_passes()
    {
        ModelProto p = Small();
        TensorProto bias = p.Graph.Initializer[0];
        bias.DataType = 17; // float8e4m3fn: one byte each
        bias.RawData = ByteString.CopyFrom([1, 2, 3]);
        var dropout = TestModels.Node("Dropout", ["y", "", "training"], ["d"], "dropout");
        p.Graph.Initializer.Add(new TensorProto { Name = "training", DataType = 17, RawData = ByteString.CopyFrom([0]) });
        p.Graph.Node.Add(dropout);
        p.Graph.Output.Add(new ValueInfoProto { Name = "d" });
        using Model m = Load(p);
        Assert.That(Rewriting.Patterns.ConstFloats(m.Graph.GetValue("bias")), Is.Null);
        Assert.That(Stages.RunAll(p.ToByteArray()).Where(r => r.Stage != "profile-check"), Is.Empty);
    }

    [Test]
    public void BatchNorm_after_a_conv_with_a_malformed_weight_is_left_alone()
    {
        // X has no declared shape, so shape inference cannot check the weight; the fold must.
        var g = new GraphProto { Name = "bn" };
        g.Input.Add(new ValueInfoProto { Name = "x" });
        g.Initializer.Add(TestModels.FloatTensor("w", [], [1f]));
        foreach (string name in new[] { "scale", "b", "mean", "var" })
        {
            g.Initializer.Add(TestModels.FloatTensor(name, [1], [1f]));
        }
        g.Node.Add(TestModels.Node("Conv", ["x", "w"], ["c"], "conv"));
        g.Node.Add(TestModels.Node("BatchNormalization", ["c", "scale", "b", "mean", "var"], ["y"], "bn"));
        g.Output.Add(new ValueInfoProto { Name = "y" });
        using Model m = Load(TestModels.Wrap(g));
        ConversionResult r = ModelConverter.Convert(m, Stages.Nnapi);
        using Model converted = r.Model;
        Assert.That(converted.Graph.Nodes.Select(n => n.OpType), Is.EqualTo(new[] { "Conv", "BatchNormalization" }));
    }

    [Test]
    public void A_blocksize_whose_square_overflows_names_the_node()
    {
        var g = new GraphProto { Name = "d2s" };
        g.Input.Add(TestModels.Info("x", 1, 8, 2, 2));
        NodeProto n = TestModels.Node("DepthToSpace", ["x"], ["y"], "d2s");
        n.Attribute.Add(new AttributeProto { Name = "blocksize", Type = AttrType.Int, I = 1L << 33 });
        g.Node.Add(n);
        g.Output.Add(new ValueInfoProto { Name = "y" });
        using Model m = Load(TestModels.Wrap(g));
        Assert.That(() => ShapeInference.Run(m.Graph), Throws.TypeOf<InvalidModelException>().With.Message.Contains("DepthToSpace node 'd2s'").And.Message.Contains("overflows"));
    }

    [Test]
    public void A_backwards_slice_of_an_empty_axis_is_empty()
    {
        var g = new GraphProto { Name = "slice" };
        g.Input.Add(TestModels.Info("x", 0, 3));
        g.Initializer.Add(Ints("starts", -1));
        g.Initializer.Add(Ints("ends", long.MinValue));
        g.Initializer.Add(Ints("axes", 0));
        g.Initializer.Add(Ints("steps", -1));
        g.Node.Add(TestModels.Node("Slice", ["x", "starts", "ends", "axes", "steps"], ["y"], "slice"));
        g.Output.Add(new ValueInfoProto { Name = "y" });
        using Model m = Load(TestModels.Wrap(g));
        Assert.That(ShapeInference.Run(m.Graph).ShapeOf(m.Graph.GetValue("y")), Is.EqualTo(TensorShape.Of(0, 3)));

        static TensorProto Ints(string name, long v)
        {
            var t = new TensorProto { Name = name, DataType = 7 };
            t.Dims.Add(1);
            t.Int64Data.Add(v);
            return t;
        }
    }

    [Test]
    public void A_PRelu_without_a_slope_is_carried_not_lowered()
    {
        ModelProto p = Small();
        p.Graph.Node[1].OpType = "PRelu"; // relu becomes a PRelu with only its data input
        using Model m = Load(p);
        ConversionResult r = ModelConverter.Convert(m, TargetProfile.BuiltIn("xnnpack"));
        using Model converted = r.Model;
        Assert.That(converted.Graph.Nodes.Select(n => n.OpType), Does.Contain("PRelu"));
        Assert.That(r.Statistics.Single(s => s.Id == "lower-prelu").FailureSamples, Has.Some.Contains("PRelu without a slope input"));
    }
}
