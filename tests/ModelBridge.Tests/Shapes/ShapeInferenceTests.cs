using ModelBridge.Shapes;

namespace ModelBridge.Tests.Shapes;

/// <summary>Shape and dtype inference on hand-built graphs, expected shapes computed by formula.</summary>
[TestFixture]
public sealed partial class ShapeInferenceTests
{
    private ShapeInferenceResult? _last;

    /// <summary>The type the last <see cref="Infer"/> gave <paramref name="v"/>.</summary>
    private TensorType? TypeOf(Value v) => _last!.TypeOf(v);

    private string ShapeOf(Value v) => TypeOf(v)?.Shape?.ToString() ?? "?";

    private ShapeInferenceResult Infer(ShapeGraphBuilder b, ShapeInferenceOptions? options = null) => _last = ShapeInference.Run(b.Graph, options);

    // ---- convolution and pooling ----

    [Test]
    public void Conv_output_size_follows_pads_strides_and_dilations()
    {
        using var b = new ShapeGraphBuilder(17);
        Value y = b.One("Conv", [b.Input("x", 1, 3, 32, 32), b.Weight("w", 16, 3, 5, 5)], n =>
        {
            n.SetInts("pads", [2, 1, 2, 1]);
            n.SetInts("strides", [2, 3]);
            n.SetInts("dilations", [2, 1]);
        });
        Infer(b);
        // H: floor((32 + 2 + 2 - ((5 - 1) * 2 + 1)) / 2) + 1 = 14; W: floor((32 + 1 + 1 - 5) / 3) + 1 = 10.
        Assert.That(ShapeOf(y), Is.EqualTo("[1,16,14,10]"));
        Assert.That(TypeOf(y)!.ElementType, Is.EqualTo(DataType.Float));
    }

    [TestCase("SAME_UPPER", 7, 2, "[1,4,4,4]")]
    [TestCase("SAME_LOWER", 8, 3, "[1,4,3,3]")]
    [TestCase("VALID", 7, 2, "[1,4,3,3]")]
    public void Conv_auto_pad_gives_the_spec_sizes(string autoPad, int size, int stride, string expected)
    {
        using var b = new ShapeGraphBuilder(11);
        Value y = b.One("Conv", [b.Input("x", 1, 2, size, size), b.Weight("w", 4, 2, 3, 3)], n =>
        {
            n.SetString("auto_pad", autoPad);
            n.SetInts("strides", [stride, stride]);
        });
        Infer(b);
        Assert.That(ShapeOf(y), Is.EqualTo(expected));
    }

    [Test]
    public void Conv_keeps_a_symbolic_batch_and_checks_grouped_channels()
    {
        using var b = new ShapeGraphBuilder(13);
        Value y = b.One("Conv", [b.Input("x", "N", 8, 10, 10), b.Weight("w", 8, 2, 3, 3)], n =>
        {
            n.SetInt("group", 4);
            n.SetInts("pads", [1, 1, 1, 1]);
        });
        Infer(b);
        Assert.That(ShapeOf(y), Is.EqualTo("[N,8,10,10]"));
    }

    [Test]
    public void Conv_with_mismatched_channels_throws_naming_the_node()
    {
        using var b = new ShapeGraphBuilder(13);
        b.One("Conv", [b.Input("x", 1, 3, 8, 8), b.Weight("w", 4, 2, 3, 3)], name: "bad_conv");
        var e = Assert.Throws<InvalidModelException>(() => Infer(b));
        Assert.That(e!.NodeName, Is.EqualTo("bad_conv"));
        Assert.That(e.OpType, Is.EqualTo("Conv"));
        Assert.That(e.Message, Does.Contain("channels"));
    }

    [Test]
    public void ConvTranspose_uses_output_padding_group_and_output_shape()
    {
        using var b = new ShapeGraphBuilder(17);
        Value x = b.Input("x", 1, 2, 5, 5);
        Value w = b.Weight("w", 2, 3, 3, 3);
        Value padded = b.One("ConvTranspose", [x, w], n =>
        {
            n.SetInts("strides", [2, 2]);
            n.SetInts("pads", [1, 1, 1, 1]);
            n.SetInts("output_padding", [1, 0]);
            n.SetInt("group", 2);
        });
        Value explicitShape = b.One("ConvTranspose", [x, w], n =>
        {
            n.SetInts("strides", [2, 2]);
            n.SetInts("output_shape", [10, 9]);
        });
        Value same = b.One("ConvTranspose", [x, w], n =>
        {
            n.SetInts("strides", [3, 3]);
            n.SetString("auto_pad", "SAME_UPPER");
        });
        Infer(b);
        // 2 * (5 - 1) + output_padding + ((3 - 1) * 1 + 1) - 1 - 1: 10 with output_padding 1, 9 without; channels 3 * group 2.
        Assert.That(ShapeOf(padded), Is.EqualTo("[1,6,10,9]"));
        Assert.That(ShapeOf(explicitShape), Is.EqualTo("[1,3,10,9]"));
        Assert.That(ShapeOf(same), Is.EqualTo("[1,3,15,15]"));
    }

    [Test]
    public void MaxPool_ceil_mode_drops_a_window_that_starts_in_the_padding()
    {
        using var b = new ShapeGraphBuilder(12);
        Value x = b.Input("x", 1, 1, 4, 5);
        Value[] ceil = b.Node("MaxPool", [x], outputs: 2, attributes: n =>
        {
            n.SetInts("kernel_shape", [3, 2]);
            n.SetInts("strides", [2, 2]);
            n.SetInts("pads", [0, 1, 0, 1]);
            n.SetInt("ceil_mode", 1);
        });
        Value floor = b.One("MaxPool", [x], n =>
        {
            n.SetInts("kernel_shape", [3, 2]);
            n.SetInts("strides", [2, 2]);
            n.SetInts("pads", [0, 1, 0, 1]);
        });
        Infer(b);
        // H: ceil((4 - 3) / 2) + 1 = 2 (floor: 1). W: ceil((5 + 2 - 2) / 2) + 1 = 4, but (4 - 1) * 2 >= 5 + 1, so 3 (floor: 3).
        Assert.That(ShapeOf(ceil[0]), Is.EqualTo("[1,1,2,3]"));
        Assert.That(ShapeOf(ceil[1]), Is.EqualTo("[1,1,2,3]"));
        Assert.That(TypeOf(ceil[1])!.ElementType, Is.EqualTo(DataType.Int64));
        Assert.That(ShapeOf(floor), Is.EqualTo("[1,1,1,3]"));
    }

    [TestCase("SAME_LOWER", "[N,3,4,4]")]
    [TestCase("VALID", "[N,3,3,3]")]
    [TestCase("NOTSET", "[N,3,3,3]")]
    public void AveragePool_auto_pad(string autoPad, string expected)
    {
        using var b = new ShapeGraphBuilder(11);
        Value y = b.One("AveragePool", [b.Input("x", "N", 3, 7, 7)], n =>
        {
            n.SetInts("kernel_shape", [3, 3]);
            n.SetInts("strides", [2, 2]);
            n.SetString("auto_pad", autoPad);
        });
        Infer(b);
        Assert.That(ShapeOf(y), Is.EqualTo(expected));
    }

    [Test]
    public void Pool_without_kernel_shape_throws()
    {
        using var b = new ShapeGraphBuilder(13);
        b.One("MaxPool", [b.Input("x", 1, 3, 7, 7)], name: "pool");
        var e = Assert.Throws<InvalidModelException>(() => Infer(b));
        Assert.That(e!.NodeName, Is.EqualTo("pool"));
        Assert.That(e.Message, Does.Contain("kernel_shape"));
    }

    [Test]
    public void Global_pooling_and_normalisations()
    {
        using var b = new ShapeGraphBuilder(17);
        Value x = b.Input("x", "N", 4, 6, 6);
        Value gap = b.One("GlobalAveragePool", [x]);
        Value[] bn = b.Node("BatchNormalization", [x, b.Weight("s", 4), b.Weight("bias", 4), b.Weight("m", 4), b.Weight("v", 4)], outputs: 3,
            attributes: n => n.SetInt("training_mode", 1));
        Value[] ln = b.Node("LayerNormalization", [x, b.Weight("g", 6, 6)], outputs: 3, attributes: n => n.SetInt("axis", 2));
        Value inorm = b.One("InstanceNormalization", [x, b.Weight("is", 4), b.Weight("ib", 4)]);
        Infer(b);
        Assert.That(ShapeOf(gap), Is.EqualTo("[N,4,1,1]"));
        Assert.That(ShapeOf(bn[0]), Is.EqualTo("[N,4,6,6]"));
        Assert.That(ShapeOf(bn[1]), Is.EqualTo("[4]"));
        Assert.That(ShapeOf(ln[0]), Is.EqualTo("[N,4,6,6]"));
        Assert.That(ShapeOf(ln[1]), Is.EqualTo("[N,4,1,1]"));
        Assert.That(ShapeOf(inorm), Is.EqualTo("[N,4,6,6]"));
    }

    // ---- elementwise ----

    [Test]
    public void Binary_ops_broadcast_multidirectionally_and_comparisons_are_bool()
    {
        using var b = new ShapeGraphBuilder(13);
        Value a = b.Input("a", "N", 3, 1);
        Value c = b.Input("c", 1, 4);
        Value m = b.Input("m", "M", 1, 1);
        Value sum = b.One("Add", [a, c]);
        Value less = b.One("Less", [a, c]);
        Value mixed = b.One("Mul", [a, m]);
        Value where = b.One("Where", [less, a, c]);
        Value mean = b.One("Mean", [a, c, b.Input("d", 5, 1, 1)]);
        Infer(b);
        Assert.That(ShapeOf(sum), Is.EqualTo("[N,3,4]"));
        Assert.That(TypeOf(less)!.ElementType, Is.EqualTo(DataType.Bool));
        Assert.That(ShapeOf(mixed), Is.EqualTo("[?,3,1]"), "two different symbols give an unknown dimension");
        Assert.That(ShapeOf(where), Is.EqualTo("[N,3,4]"));
        Assert.That(TypeOf(where)!.ElementType, Is.EqualTo(DataType.Float));
        Assert.That(ShapeOf(mean), Is.EqualTo("[5,3,4]"));
    }

    [Test]
    public void Broadcast_conflict_throws_naming_the_node()
    {
        using var b = new ShapeGraphBuilder(13);
        b.One("Sub", [b.Input("a", 2, 3), b.Input("c", 4, 3)], name: "sub");
        var e = Assert.Throws<InvalidModelException>(() => Infer(b));
        Assert.That(e!.NodeName, Is.EqualTo("sub"));
        Assert.That(e.Message, Does.Contain("broadcast"));
    }

    [Test]
    public void Unary_ops_cast_and_dropout()
    {
        using var b = new ShapeGraphBuilder(13);
        Value x = b.Input("x", "N", 7);
        Value clip = b.One("Clip", [x]);
        Value soft = b.One("Softmax", [b.One("HardSwish", [x])]);
        Value cast = b.One("Cast", [x], n => n.SetInt("to", (long)DataType.Float16));
        Value[] drop = b.Node("Dropout", [x], outputs: 2);
        Value nan = b.One("IsNaN", [x]);
        Infer(b);
        Assert.That(ShapeOf(clip), Is.EqualTo("[N,7]"));
        Assert.That(ShapeOf(soft), Is.EqualTo("[N,7]"));
        Assert.That(TypeOf(cast), Is.EqualTo(new TensorType(DataType.Float16, new TensorShape([Dim.Sym("N"), Dim.Of(7)]))));
        Assert.That(TypeOf(drop[1])!.ElementType, Is.EqualTo(DataType.Bool));
        Assert.That(TypeOf(nan)!.ElementType, Is.EqualTo(DataType.Bool));
    }

    // ---- linear ----

    [Test]
    public void Gemm_honours_transA_and_transB()
    {
        using var b = new ShapeGraphBuilder(13);
        Value y = b.One("Gemm", [b.Input("a", 7, "B"), b.Weight("w", 10, 7), b.Weight("bias", 10)], n =>
        {
            n.SetInt("transA", 1);
            n.SetInt("transB", 1);
        });
        Infer(b);
        Assert.That(ShapeOf(y), Is.EqualTo("[B,10]"));
    }

    [Test]
    public void MatMul_promotes_1d_operands_and_broadcasts_batches()
    {
        using var b = new ShapeGraphBuilder(13);
        Value batched = b.One("MatMul", [b.Input("a", "N", 1, 4, 5), b.Input("c", 3, 5, 6)]);
        Value vecLeft = b.One("MatMul", [b.Input("v", 5), b.Input("m", 2, 5, 6)]);
        Value vecRight = b.One("MatMul", [b.Input("m2", 2, 4, 5), b.Input("v2", 5)]);
        Value dot = b.One("MatMul", [b.Input("v3", 5), b.Input("v4", 5)]);
        Infer(b);
        Assert.That(ShapeOf(batched), Is.EqualTo("[N,3,4,6]"));
        Assert.That(ShapeOf(vecLeft), Is.EqualTo("[2,6]"));
        Assert.That(ShapeOf(vecRight), Is.EqualTo("[2,4]"));
        Assert.That(ShapeOf(dot), Is.EqualTo("[]"));
    }

    [Test]
    public void MatMul_inner_dimension_mismatch_throws()
    {
        using var b = new ShapeGraphBuilder(13);
        b.One("MatMul", [b.Input("a", 4, 5), b.Input("c", 6, 7)], name: "mm");
        Assert.That(() => Infer(b), Throws.TypeOf<InvalidModelException>().With.Property(nameof(InvalidModelException.NodeName)).EqualTo("mm"));
    }
}
