using ModelBridge.Shapes;

namespace ModelBridge.Tests.Shapes;

/// <remarks>Tensor manipulation, reductions, symbolic shapes and partial evaluation.</remarks>
public sealed partial class ShapeInferenceTests
{
    // ---- tensor manipulation ----

    [Test]
    public void Reshape_copies_zeros_and_infers_minus_one()
    {
        using var b = new ShapeGraphBuilder(13);
        Value x = b.Input("x", "N", 3, 8, 8);
        Value y = b.One("Reshape", [x, b.Ints("shape", 0, -1)]);
        Value z = b.One("Reshape", [b.Input("s", 2, 3, 4), b.Ints("shape2", 4, 0, -1)]);
        Infer(b);
        Assert.That(ShapeOf(y), Is.EqualTo("[N,192]"));
        Assert.That(ShapeOf(z), Is.EqualTo("[4,3,2]"));
    }

    [Test]
    public void Reshape_allowzero_keeps_a_literal_zero()
    {
        using var b = new ShapeGraphBuilder(14);
        Value y = b.One("Reshape", [b.Input("x", 0, 3), b.Ints("shape", 3, 0)], n => n.SetInt("allowzero", 1));
        Infer(b);
        Assert.That(ShapeOf(y), Is.EqualTo("[3,0]"));
    }

    [Test]
    public void Reshape_with_mismatched_element_counts_throws_naming_the_node()
    {
        using var b = new ShapeGraphBuilder(13);
        b.One("Reshape", [b.Input("x", 2, 3, 4), b.Ints("shape", 5, 5)], name: "reshape_bad");
        var e = Assert.Throws<InvalidModelException>(() => Infer(b));
        Assert.That(e!.NodeName, Is.EqualTo("reshape_bad"));
        Assert.That(e.OpType, Is.EqualTo("Reshape"));
        Assert.That(e.Message, Does.Contain("element counts differ"));
    }

    [Test]
    public void Flatten_and_Transpose()
    {
        using var b = new ShapeGraphBuilder(13);
        Value x = b.Input("x", "N", 3, 4, 5);
        Value flat = b.One("Flatten", [x], n => n.SetInt("axis", -2));
        Value t = b.One("Transpose", [x], n => n.SetInts("perm", [0, 2, 3, 1]));
        Value rev = b.One("Transpose", [x]);
        Infer(b);
        Assert.That(ShapeOf(flat), Is.EqualTo("[?,20]"));
        Assert.That(ShapeOf(t), Is.EqualTo("[N,4,5,3]"));
        Assert.That(ShapeOf(rev), Is.EqualTo("[5,4,3,N]"));
    }

    [Test]
    public void Squeeze_and_Unsqueeze_take_axes_as_attribute_before_13()
    {
        using var b = new ShapeGraphBuilder(11);
        Value x = b.Input("x", 1, 3, 1, 5);
        Value sq = b.One("Squeeze", [x], n => n.SetInts("axes", [0, -2]));
        Value all = b.One("Squeeze", [x]);
        Value un = b.One("Unsqueeze", [sq], n => n.SetInts("axes", [0, 3]));
        Infer(b);
        Assert.That(ShapeOf(sq), Is.EqualTo("[3,5]"));
        Assert.That(ShapeOf(all), Is.EqualTo("[3,5]"));
        Assert.That(ShapeOf(un), Is.EqualTo("[1,3,5,1]"));
    }

    [Test]
    public void Squeeze_and_Unsqueeze_take_axes_as_input_from_13()
    {
        using var b = new ShapeGraphBuilder(13);
        Value x = b.Input("x", 1, 3, 1, 5);
        Value sq = b.One("Squeeze", [x, b.Ints("axes", 2)]);
        Value un = b.One("Unsqueeze", [sq, b.Ints("axes2", -1)]);
        Infer(b);
        Assert.That(ShapeOf(sq), Is.EqualTo("[1,3,5]"));
        Assert.That(ShapeOf(un), Is.EqualTo("[1,3,5,1]"));
    }

    [Test]
    public void Squeezing_an_axis_that_is_not_one_throws()
    {
        using var b = new ShapeGraphBuilder(13);
        b.One("Squeeze", [b.Input("x", 2, 3), b.Ints("axes", 1)], name: "sq");
        Assert.That(() => Infer(b), Throws.TypeOf<InvalidModelException>().With.Message.Contains("not 1"));
    }

    [Test]
    public void Unsqueeze_without_axes_at_opset_11_throws_for_the_missing_attribute()
    {
        using var b = new ShapeGraphBuilder(11);
        b.One("Unsqueeze", [b.Input("x", 2, 3)], name: "unsq");
        var e = Assert.Throws<InvalidModelException>(() => Infer(b));
        Assert.That(e!.NodeName, Is.EqualTo("unsq"));
        Assert.That(e.Message, Does.Contain("axes"));
    }

    [Test]
    public void Concat_sums_the_axis_and_merges_the_rest()
    {
        using var b = new ShapeGraphBuilder(13);
        Value y = b.One("Concat", [b.Input("a", "N", 3, 4), b.Input("c", "?", 5, 4)], n => n.SetInt("axis", 1));
        Infer(b);
        Assert.That(ShapeOf(y), Is.EqualTo("[N,8,4]"));
    }

    [Test]
    public void Concat_of_mismatched_ranks_throws_naming_the_node()
    {
        using var b = new ShapeGraphBuilder(13);
        b.One("Concat", [b.Input("a", 2, 3), b.Input("c", 2, 3, 1)], n => n.SetInt("axis", 0), name: "cat");
        var e = Assert.Throws<InvalidModelException>(() => Infer(b));
        Assert.That(e!.NodeName, Is.EqualTo("cat"));
        Assert.That(e.Message, Does.Contain("different ranks"));
    }

    [Test]
    public void Concat_without_axis_throws_for_the_missing_attribute()
    {
        using var b = new ShapeGraphBuilder(13);
        b.One("Concat", [b.Input("a", 2, 3), b.Input("c", 2, 3)], name: "cat");
        Assert.That(() => Infer(b), Throws.TypeOf<InvalidModelException>().With.Message.Contains("'axis' is missing"));
    }

    [Test]
    public void Split_by_attribute_input_and_num_outputs()
    {
        using var b11 = new ShapeGraphBuilder(11);
        Value[] attr = b11.Node("Split", [b11.Input("x", 10, 2)], outputs: 2, attributes: n => n.SetInts("split", [3, 7]));
        Infer(b11);
        Assert.That(attr.Select(ShapeOf), Is.EqualTo(new[] { "[3,2]", "[7,2]" }));

        using var b13 = new ShapeGraphBuilder(13);
        Value[] input = b13.Node("Split", [b13.Input("x", 2, 10), b13.Ints("split", 4, 6)], outputs: 2, attributes: n => n.SetInt("axis", -1));
        Value[] equal = b13.Node("Split", [b13.Input("y", 9)], outputs: 3);
        Infer(b13);
        Assert.That(input.Select(ShapeOf), Is.EqualTo(new[] { "[2,4]", "[2,6]" }));
        Assert.That(equal.Select(ShapeOf), Is.EqualTo(new[] { "[3]", "[3]", "[3]" }));

        using var b18 = new ShapeGraphBuilder(18);
        Value[] chunks = b18.Node("Split", [b18.Input("x", 10)], outputs: 3, attributes: n => n.SetInt("num_outputs", 3));
        Infer(b18);
        Assert.That(chunks.Select(ShapeOf), Is.EqualTo(new[] { "[4]", "[4]", "[2]" }));
    }

    [Test]
    public void Slice_clamps_negative_and_out_of_range_bounds_and_steps_backwards()
    {
        using var b = new ShapeGraphBuilder(13);
        Value x = b.Input("x", 10, 20, 5);
        // axis 0: [-3, 1000) -> 3; axis 1: 18 down to -100 with step -4 -> 18,14,10,6,2 = 5.
        Value y = b.One("Slice", [x, b.Ints("starts", -3, 18), b.Ints("ends", 1000, -100), b.Ints("axes", 0, 1), b.Ints("steps", 1, -4)]);
        Value empty = b.One("Slice", [x, b.Ints("s2", 4), b.Ints("e2", 2), b.Ints("a2", 2)]);
        Infer(b);
        Assert.That(ShapeOf(y), Is.EqualTo("[3,5,5]"));
        Assert.That(ShapeOf(empty), Is.EqualTo("[10,20,0]"));
    }

    [Test]
    public void Slice_takes_attributes_before_opset_10()
    {
        using var b = new ShapeGraphBuilder(9);
        Value y = b.One("Slice", [b.Input("x", 10, 20)], n =>
        {
            n.SetInts("starts", [1, 0]);
            n.SetInts("ends", [-1, 5]);
        });
        Infer(b);
        Assert.That(ShapeOf(y), Is.EqualTo("[8,5]"));
    }

    [Test]
    public void Gather_Shape_Size_Expand_Tile()
    {
        using var b = new ShapeGraphBuilder(15);
        Value x = b.Input("x", "N", 3, 4);
        Value g = b.One("Gather", [x, b.Graph.AddInitializer("idx", Tensor.Create<long>([2, 2], [0, 1, 1, 0]))], n => n.SetInt("axis", 1));
        Value shape = b.One("Shape", [x], n => n.SetInt("start", -2));
        Value size = b.One("Size", [b.Input("s", 2, 3)]);
        Value ex = b.One("Expand", [b.Input("e", 3, 1), b.Ints("to", 2, 1, 6)]);
        Value tile = b.One("Tile", [x, b.Ints("rep", 1, 2, 3)]);
        ShapeInferenceResult r = Infer(b);
        Assert.That(ShapeOf(g), Is.EqualTo("[N,2,2,4]"));
        Assert.That(ShapeOf(shape), Is.EqualTo("[2]"));
        Assert.That(r.TryGetConstantValue(shape, out long[] dims), Is.True);
        Assert.That(dims, Is.EqualTo(new long[] { 3, 4 }));
        Assert.That(r.TryGetConstantValue(size, out long[] count), Is.True);
        Assert.That(count, Is.EqualTo(new long[] { 6 }));
        Assert.That(ShapeOf(ex), Is.EqualTo("[2,3,6]"));
        Assert.That(ShapeOf(tile), Is.EqualTo("[N,6,12]"));
    }

    [Test]
    public void Pad_as_attribute_before_11_and_input_with_axes_from_18()
    {
        using var b2 = new ShapeGraphBuilder(10);
        Value p2 = b2.One("Pad", [b2.Input("x", 1, 3, 4, 4)], n => n.SetInts("pads", [0, 0, 1, 2, 0, 0, 3, 4]));
        Infer(b2);
        Assert.That(ShapeOf(p2), Is.EqualTo("[1,3,8,10]"));

        using var b18 = new ShapeGraphBuilder(18);
        Value p18 = b18.One("Pad", [b18.Input("x", 1, 3, 4, 4), b18.Ints("pads", 1, 2, 3, 4), null, b18.Ints("axes", -2, -1)], n => n.SetString("mode", "reflect"));
        Infer(b18);
        Assert.That(ShapeOf(p18), Is.EqualTo("[1,3,8,10]"));
    }

    [Test]
    public void Resize_by_scales_sizes_and_aspect_ratio_policy()
    {
        using var b10 = new ShapeGraphBuilder(10);
        Value r10 = b10.One("Resize", [b10.Input("x", 1, 3, 5, 5), b10.Floats("scales", 1, 1, 2.5f, 0.5f)]);
        Infer(b10);
        Assert.That(ShapeOf(r10), Is.EqualTo("[1,3,12,2]"), "floor(5 * 2.5), floor(5 * 0.5)");

        using var b13 = new ShapeGraphBuilder(13);
        Value r13 = b13.One("Resize", [b13.Input("x", "N", 3, 5, 5), null, null, b13.Ints("sizes", 1, 3, 7, 9)]);
        Infer(b13);
        Assert.That(ShapeOf(r13), Is.EqualTo("[1,3,7,9]"));

        using var b18 = new ShapeGraphBuilder(18);
        Value x = b18.Input("x", 1, 3, 5);
        Value notLarger = b18.One("Resize", [x, null, null, b18.Ints("sizes", 6, 6)], n =>
        {
            n.SetInts("axes", [1, 2]);
            n.SetString("keep_aspect_ratio_policy", "not_larger");
        });
        Value notSmaller = b18.One("Resize", [x, null, null, b18.Ints("sizes2", 6, 6)], n =>
        {
            n.SetInts("axes", [1, 2]);
            n.SetString("keep_aspect_ratio_policy", "not_smaller");
        });
        Infer(b18);
        // scale = min(6/3, 6/5) = 1.2 -> [4, 6]; max = 2 -> [6, 10].
        Assert.That(ShapeOf(notLarger), Is.EqualTo("[1,4,6]"));
        Assert.That(ShapeOf(notSmaller), Is.EqualTo("[1,6,10]"));
    }

    [Test]
    public void Upsample_scales_attribute_at_opset_7()
    {
        using var b = new ShapeGraphBuilder(7);
        Value y = b.One("Upsample", [b.Input("x", 1, 3, 4, 4)], n => n.SetFloats("scales", [1, 1, 2, 3]));
        Infer(b);
        Assert.That(ShapeOf(y), Is.EqualTo("[1,3,8,12]"));
    }

    // ---- reductions and misc ----

    [Test]
    public void Reductions_with_attribute_and_input_axes()
    {
        using var b13 = new ShapeGraphBuilder(13);
        Value x = b13.Input("x", "N", 3, 4);
        Value mean = b13.One("ReduceMean", [x], n =>
        {
            n.SetInts("axes", [1, -1]);
            n.SetInt("keepdims", 0);
        });
        Value sum = b13.One("ReduceSum", [x, b13.Ints("axes", 1)]);
        Value noop = b13.One("ReduceSum", [x], n => n.SetInt("noop_with_empty_axes", 1));
        Value all = b13.One("ReduceMax", [x]);
        Value arg = b13.One("ArgMax", [x], n => n.SetInt("axis", -1));
        Infer(b13);
        Assert.That(ShapeOf(mean), Is.EqualTo("[N]"));
        Assert.That(ShapeOf(sum), Is.EqualTo("[N,1,4]"));
        Assert.That(ShapeOf(noop), Is.EqualTo("[N,3,4]"));
        Assert.That(ShapeOf(all), Is.EqualTo("[1,1,1]"));
        Assert.That(TypeOf(arg), Is.EqualTo(new TensorType(DataType.Int64, new TensorShape([Dim.Sym("N"), Dim.Of(3), Dim.Of(1)]))));

        using var b18 = new ShapeGraphBuilder(18);
        Value l2 = b18.One("ReduceL2", [b18.Input("x", 2, 3, 4), b18.Ints("axes", 0)], n => n.SetInt("keepdims", 0));
        Infer(b18);
        Assert.That(ShapeOf(l2), Is.EqualTo("[3,4]"));
    }

    [Test]
    public void TopK_NonMaxSuppression_Constant_ConstantOfShape_Range()
    {
        using var b = new ShapeGraphBuilder(13);
        Value[] topk = b.Node("TopK", [b.Input("x", 3, 10), b.Ints("k", 4)], outputs: 2);
        Value nms = b.One("NonMaxSuppression", [b.Input("boxes", 1, 6, 4), b.Input("scores", 1, 1, 6)]);
        Value ints = b.One("Constant", [], n => n.SetInts("value_ints", [2, 3]));
        Value zeros = b.One("ConstantOfShape", [ints]);
        Value range = b.One("Range", [b.Graph.AddInitializer("s", Tensor.Create<long>([], [10])), b.Graph.AddInitializer("l", Tensor.Create<long>([], [1])), b.Graph.AddInitializer("d", Tensor.Create<long>([], [-3]))]);
        ShapeInferenceResult r = Infer(b);
        Assert.That(ShapeOf(topk[0]), Is.EqualTo("[3,4]"));
        Assert.That(TypeOf(topk[1])!.ElementType, Is.EqualTo(DataType.Int64));
        Assert.That(TypeOf(nms), Is.EqualTo(new TensorType(DataType.Int64, new TensorShape([Dim.Unknown, Dim.Of(3)]))));
        Assert.That(ShapeOf(zeros), Is.EqualTo("[2,3]"));
        Assert.That(TypeOf(zeros)!.ElementType, Is.EqualTo(DataType.Float));
        Assert.That(r.TryGetConstantValue(range, out long[] values), Is.True);
        Assert.That(values, Is.EqualTo(new long[] { 10, 7, 4 }));
    }

    [Test]
    public void Unknown_ops_and_other_domains_leave_outputs_unknown_with_a_warning()
    {
        using var b = new ShapeGraphBuilder(13);
        Value x = b.Input("x", 1, 3);
        Value custom = b.Graph.AddNode("FancyOp", [x], ["custom_out"], domain: "com.example").Outputs[0]!;
        Value unknownOp = b.One("NotAnOnnxOp", [x]);
        Value after = b.One("Relu", [custom]);
        ShapeInferenceResult r = Infer(b);
        Assert.That(TypeOf(custom), Is.Null);
        Assert.That(TypeOf(unknownOp), Is.Null);
        Assert.That(TypeOf(after), Is.Null);
        Assert.That(r.UnknownShapes, Is.EquivalentTo(new[] { custom, unknownOp, after }));
        Assert.That(r.Warnings, Has.Some.Contains("com.example.FancyOp"));
        Assert.That(r.Warnings, Has.Some.Contains("NotAnOnnxOp"));
    }

    [Test]
    public void Declared_types_fill_what_inference_cannot_derive()
    {
        using var b = new ShapeGraphBuilder(13);
        Value custom = b.Graph.AddNode("FancyOp", [b.Input("x", 1, 3)], ["custom_out"], domain: "com.example").Outputs[0]!;
        var declared = new TensorType(DataType.Float, TensorShape.Of(1, 3));
        custom.DeclaredType = declared;
        Infer(b);
        Assert.That(TypeOf(custom), Is.EqualTo(declared));
        Infer(b, new ShapeInferenceOptions { MergeDeclaredTypes = false });
        Assert.That(TypeOf(custom), Is.Null);
        Assert.That(custom.DeclaredType, Is.EqualTo(declared), "inference never changes the declaration");
    }

    // ---- symbolic shapes and partial evaluation ----

    /// <summary>x[N,3,8,8] -> Conv -> Reshape(y, Concat(Slice(Shape(y), 0, 1), [-1])).</summary>
    private static (ShapeGraphBuilder B, Value Conv, Value ShapeOfConv, Value Target, Value Flat) FlattenChain()
    {
        var b = new ShapeGraphBuilder(13);
        Value y = b.One("Conv", [b.Input("x", "N", 3, 8, 8), b.Weight("w", 16, 3, 3, 3)], n => n.SetInts("pads", [1, 1, 1, 1]));
        Value shape = b.One("Shape", [y]);
        Value batch = b.One("Slice", [shape, b.Ints("zero", 0), b.Ints("one", 1)]);
        Value target = b.One("Concat", [batch, b.Ints("minus_one", -1)], n => n.SetInt("axis", 0));
        Value flat = b.One("Reshape", [y, target]);
        return (b, y, shape, target, flat);
    }

    [Test]
    public void Symbolic_batch_flows_through_a_shape_chain()
    {
        var (b, conv, _, target, flat) = FlattenChain();
        using (b)
        {
            ShapeInferenceResult r = Infer(b);
            Assert.That(ShapeOf(conv), Is.EqualTo("[N,16,8,8]"));
            Assert.That(ShapeOf(flat), Is.EqualTo("[N,1024]"), "N cancels against N when -1 is inferred");
            Assert.That(r.TryGetConstantValue(target, out _), Is.False, "N is not a number yet");
            Assert.That(r.TryGetSymbolicValue(target, out var elements), Is.True);
            Assert.That(elements, Is.EqualTo(new[] { Dim.Sym("N"), Dim.Of(-1) }));
            Assert.That(r.UnknownShapes, Is.Empty);
        }
    }

    [Test]
    public void Pinning_the_batch_makes_the_chain_static_and_evaluable()
    {
        var (b, conv, shapeOfConv, target, flat) = FlattenChain();
        using (b)
        {
            var options = new ShapeInferenceOptions { DimOverrides = new Dictionary<string, long> { ["N"] = 1 } };
            ShapeInferenceResult r = Infer(b, options);
            Assert.That(TypeOf(b.Graph.Inputs[0])!.Shape, Is.EqualTo(TensorShape.Of(1, 3, 8, 8)));
            Assert.That(ShapeOf(conv), Is.EqualTo("[1,16,8,8]"));
            Assert.That(ShapeOf(flat), Is.EqualTo("[1,1024]"));
            Assert.That(r.TryGetConstantValue(shapeOfConv, out long[] shape), Is.True);
            Assert.That(shape, Is.EqualTo(new long[] { 1, 16, 8, 8 }));
            Assert.That(r.TryGetConstantValue(target, out long[] reshapeTo), Is.True);
            Assert.That(reshapeTo, Is.EqualTo(new long[] { 1, -1 }));
        }
    }

    [Test]
    public void Gather_Unsqueeze_Mul_Cast_arithmetic_is_evaluated()
    {
        using var b = new ShapeGraphBuilder(13);
        Value x = b.Input("x", "N", 4, 6);
        Value shape = b.One("Shape", [x]);
        Value scalar0 = b.Graph.AddInitializer("i0", Tensor.Create<long>([], [0]));
        Value scalar1 = b.Graph.AddInitializer("i1", Tensor.Create<long>([], [1]));
        Value scalar2 = b.Graph.AddInitializer("i2", Tensor.Create<long>([], [2]));
        Value n = b.One("Gather", [shape, scalar0]);
        Value hw = b.One("Mul", [b.One("Gather", [shape, scalar1]), b.One("Gather", [shape, scalar2])]);
        Value halved = b.One("Div", [b.One("Cast", [hw], a => a.SetInt("to", (long)DataType.Int32)), b.Graph.AddInitializer("two", Tensor.Create<int>([], [2]))]);
        Value target = b.One("Concat", [b.One("Unsqueeze", [n, b.Ints("ax", 0)]), b.One("Unsqueeze", [b.One("Cast", [halved], a => a.SetInt("to", (long)DataType.Int64)), b.Ints("ax2", 0)]), b.Ints("two_more", 2)], a => a.SetInt("axis", 0));
        Value y = b.One("Reshape", [x, target]);
        var options = new ShapeInferenceOptions { DimOverrides = new Dictionary<string, long> { ["N"] = 2 } };
        ShapeInferenceResult r = Infer(b, options);
        Assert.That(r.TryGetConstantValue(hw, out long[] product), Is.True);
        Assert.That(product, Is.EqualTo(new long[] { 24 }));
        Assert.That(r.TryGetConstantValue(target, out long[] values), Is.True);
        Assert.That(values, Is.EqualTo(new long[] { 2, 12, 2 }));
        Assert.That(ShapeOf(y), Is.EqualTo("[2,12,2]"));
    }

    [Test]
    public void Inferred_shapes_are_written_to_value_info_and_read_back()
    {
        var (b, conv, _, _, flat) = FlattenChain();
        using (b)
        {
            b.Graph.SetOutputs([flat]);
            ShapeInferenceResult pinned = Infer(b, new ShapeInferenceOptions { DimOverrides = new Dictionary<string, long> { ["N"] = 1 } });
            byte[] bytes = b.Model.ToBytes(new SaveOptions { WriteInferredShapes = true, Shapes = pinned });
            using Model loaded = Model.Load(bytes);
            Value loadedConv = loaded.Graph.GetValue(conv.Name);
            Assert.That(loadedConv.DeclaredType, Is.EqualTo(new TensorType(DataType.Float, TensorShape.Of(1, 16, 8, 8))));
            Assert.That(loaded.Graph.GetValue(flat.Name).DeclaredType, Is.EqualTo(new TensorType(DataType.Float, TensorShape.Of(1, 1024))));

            byte[] plain = b.Model.ToBytes();
            using Model withoutInfo = Model.Load(plain);
            Assert.That(withoutInfo.Graph.GetValue(conv.Name).DeclaredType, Is.Null, "without WriteInferredShapes nothing is written");
        }
    }
}
