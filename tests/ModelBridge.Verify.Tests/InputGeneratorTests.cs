namespace ModelBridge.Verify.Tests;

[TestFixture]
public sealed class InputGeneratorTests
{
    private static readonly TensorType Image = new(DataType.Float, new TensorShape([Dim.Sym("N"), Dim.Of(3), Dim.Sym("H"), Dim.Sym("W")]));

    private static Graph SignatureGraph()
    {
        var g = new Graph();
        g.AddInput("image", Image);
        g.AddInput("ids", new TensorType(DataType.Int64, new TensorShape([Dim.Sym("N"), Dim.Of(5)])));
        g.AddInput("mask", new TensorType(DataType.Bool, new TensorShape([Dim.Unknown, Dim.Of(16)])));
        return g;
    }

    [Test]
    public void The_same_seed_gives_the_same_bytes()
    {
        Graph g = SignatureGraph();
        var a = new InputGenerator(42).Generate(g);
        var b = new InputGenerator(42).Generate(g);

        Assert.That(a.Keys, Is.EquivalentTo(new[] { "image", "ids", "mask" }));
        foreach (string name in a.Keys)
        {
            Assert.That(a[name].Bytes.ToArray(), Is.EqualTo(b[name].Bytes.ToArray()), name);
        }
    }

    [Test]
    public void A_different_seed_gives_different_bytes()
    {
        Graph g = SignatureGraph();
        var a = new InputGenerator(42).Generate(g);
        var b = new InputGenerator(43).Generate(g);
        foreach (string name in a.Keys)
        {
            Assert.That(a[name].Bytes.ToArray(), Is.Not.EqualTo(b[name].Bytes.ToArray()), name);
        }
    }

    [Test]
    public void An_input_does_not_depend_on_the_others()
    {
        var g1 = new Graph();
        g1.AddInput("image", Image);
        TensorData alone = new InputGenerator(5).Generate(g1)["image"];
        TensorData withOthers = new InputGenerator(5).Generate(SignatureGraph())["image"];
        Assert.That(withOthers, Is.EqualTo(alone));
    }

    [Test]
    public void Symbolic_dims_come_from_the_dictionary_and_default_to_one()
    {
        var gen = new InputGenerator(1) { SymbolicDims = new Dictionary<string, long> { ["H"] = 8, ["W"] = 6 } };
        var inputs = gen.Generate(SignatureGraph());

        Assert.That(inputs["image"].Dims, Is.EqualTo(new long[] { 1, 3, 8, 6 }));
        Assert.That(inputs["ids"].Dims, Is.EqualTo(new long[] { 1, 5 }));
        Assert.That(inputs["mask"].Dims, Is.EqualTo(new long[] { 1, 16 }));
        Assert.That((new InputGenerator(1) { DefaultDim = 2 }).Generate(SignatureGraph())["image"].Dims, Is.EqualTo(new long[] { 2, 3, 2, 2 }));
    }

    [Test]
    public void Distributions_stay_in_their_ranges()
    {
        var shape = new TensorType(DataType.Float, TensorShape.Of(4096));
        float[] image01 = new InputGenerator(1) { Distribution = InputDistribution.Image01 }.Generate("x", shape).ToFloatArray();
        float[] image11 = new InputGenerator(1) { Distribution = InputDistribution.Image11 }.Generate("x", shape).ToFloatArray();
        float[] uniform = new InputGenerator(1) { Distribution = InputDistribution.Uniform(10, 12) }.Generate("x", shape).ToFloatArray();
        float[] normal = new InputGenerator(1) { Distribution = InputDistribution.Normal(5, 0.5) }.Generate("x", shape).ToFloatArray();

        Assert.That(image01, Has.All.InRange(0f, 1f));
        Assert.That(image11, Has.All.InRange(-1f, 1f));
        Assert.That(image11.Min(), Is.LessThan(-0.9f));
        Assert.That(uniform, Has.All.InRange(10f, 12f));
        Assert.That(normal.Average(), Is.EqualTo(5).Within(0.05));
        double std = Math.Sqrt(normal.Select(v => (v - 5.0) * (v - 5.0)).Average());
        Assert.That(std, Is.EqualTo(0.5).Within(0.05));
    }

    [Test]
    public void Integers_are_small_and_non_negative_and_bools_take_both_values()
    {
        var gen = new InputGenerator(9);
        long[] ints = gen.Generate("i", new TensorType(DataType.Int32, TensorShape.Of(1000))).ToInt64Array();
        long[] bytes = gen.Generate("u", new TensorType(DataType.UInt8, TensorShape.Of(1000))).ToInt64Array();
        long[] bools = gen.Generate("b", new TensorType(DataType.Bool, TensorShape.Of(1000))).ToInt64Array();

        Assert.That(ints, Has.All.InRange(0L, gen.IntegerLimit - 1L));
        Assert.That(ints.Distinct().Count(), Is.EqualTo(gen.IntegerLimit));
        Assert.That(bytes, Has.All.InRange(0L, gen.IntegerLimit - 1L));
        Assert.That(bools.Distinct().Order(), Is.EqualTo(new[] { 0L, 1L }));
    }

    [Test]
    public void Half_precision_inputs_are_generated()
    {
        var gen = new InputGenerator(2) { Distribution = InputDistribution.Image01 };
        float[] halves = gen.Generate("h", new TensorType(DataType.Float16, TensorShape.Of(64))).ToFloatArray();
        float[] bf16 = gen.Generate("b", new TensorType(DataType.BFloat16, TensorShape.Of(64))).ToFloatArray();
        Assert.That(halves, Has.All.InRange(0f, 1f));
        Assert.That(bf16, Has.All.InRange(0f, 1f));
        Assert.That(halves.Distinct().Count(), Is.GreaterThan(10));
    }

    [Test]
    public void Unsupported_signatures_are_refused_clearly()
    {
        var gen = new InputGenerator(0);
        Assert.Throws<NotSupportedException>(() => gen.Generate("s", new TensorType(DataType.String, TensorShape.Of(1))));
        Assert.Throws<InvalidOperationException>(() => gen.Generate("r", new TensorType(DataType.Float, null)));
        var g = new Graph();
        g.AddInput("seq", null);
        var e = Assert.Throws<InvalidOperationException>(() => gen.Generate(g));
        Assert.That(e!.Message, Does.Contain("'seq'"));
        Assert.Throws<ArgumentOutOfRangeException>(() => InputDistribution.Uniform(1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => InputDistribution.Normal(0, -1));
    }
}
