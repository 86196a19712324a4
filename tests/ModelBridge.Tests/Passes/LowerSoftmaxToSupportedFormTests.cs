using ModelBridge.Passes;
using ModelBridge.Rewriting;
using static ModelBridge.Tests.Passes.ConvModels;

namespace ModelBridge.Tests.Passes;

[TestFixture]
public sealed class LowerSoftmaxToSupportedFormTests
{
    private const string Id = "lower-softmax-to-supported-form";

    /// <summary>ort-nnapi: rank 2 or 4, any axis; Reshape and Transpose available.</summary>
    private static readonly SoftmaxForms Nnapi = new() { Ranks = [2, 4] };

    /// <summary>xnnpack: last axis only, no Reshape.</summary>
    private static readonly SoftmaxForms LastAxisNoReshape = new() { LastAxisOnly = true, Reshape = false };

    private static Model Softmax(long[] shape, long? axis, long opset, string op = "Softmax", bool symbolicBatch = false)
    {
        var m = new Model(opset);
        Graph g = m.Graph;
        TensorShape s = symbolicBatch ? new TensorShape([Dim.Sym("N"), .. shape[1..].Select(d => (Dim)d)]) : TensorShape.Of(shape);
        Value x = g.AddInput("x", new TensorType(DataType.Float, s));
        Node n = g.AddNode(op, [x], ["y"], name: "/head/" + op);
        if (axis is long a)
        {
            n.SetInt("axis", a);
        }
        g.SetOutputs([n.Outputs[0]!]);
        return m;
    }

    [Test]
    public void Rank_3_last_axis_at_opset_9_is_flattened_to_2d_keeping_the_output_name()
    {
        // version-RFB-320's scores: Softmax(axis=2) on [1, 4420, 2] at opset 9.
        using Model m = Softmax([1, 4420, 2], 2, 9);
        PipelineResult r = Run(m, new LowerSoftmaxToSupportedForm(Nnapi));
        Assert.That(Matches(r, Id), Is.EqualTo(1));
        Assert.That(Ops(m), Is.EqualTo(new[] { "Reshape", "Softmax", "Reshape" }));
        Node softmax = m.Graph.Nodes.Single(n => n.OpType == "Softmax");
        Assert.That(softmax.GetInt("axis"), Is.EqualTo(1));
        var shapes = ModelBridge.Shapes.ShapeInference.Run(m.Graph);
        Assert.That(shapes.StaticDimsOf(softmax.Inputs[0]), Is.EqualTo(new long[] { 4420, 2 }));
        Assert.That(m.Graph.Outputs.Single().Name, Is.EqualTo("y"));
        Assert.That(shapes.StaticDimsOf(m.Graph.Outputs.Single()), Is.EqualTo(new long[] { 1, 4420, 2 }));
    }

    [Test]
    public void Before_opset_13_a_middle_axis_flattens_the_trailing_axes()
    {
        using Model m = Softmax([2, 3, 4, 5], 1, 11);
        Run(m, new LowerSoftmaxToSupportedForm(Nnapi));
        Assert.That(Ops(m), Is.EqualTo(new[] { "Reshape", "Softmax", "Reshape" }));
        Node reshape = m.Graph.TopologicalOrder().First();
        Assert.That(Patterns.ConstInts(reshape.Inputs[1]), Is.EqualTo(new long[] { 2, 60 }));
    }

    [Test]
    public void From_opset_13_a_middle_axis_of_rank_3_moves_last_and_flattens()
    {
        using Model m = Softmax([2, 3, 5], 1, 13);
        Run(m, new LowerSoftmaxToSupportedForm(Nnapi));
        Assert.That(Ops(m), Is.EqualTo(new[] { "Transpose", "Reshape", "Softmax", "Reshape", "Transpose" }));
        Node[] order = [.. m.Graph.TopologicalOrder()];
        Assert.That(order[0].GetInts("perm"), Is.EqualTo(new long[] { 0, 2, 1 }));
        Assert.That(Patterns.ConstInts(order[1].Inputs[1]), Is.EqualTo(new long[] { 10, 3 }));
        Assert.That(order[4].GetInts("perm"), Is.EqualTo(new long[] { 0, 2, 1 }));
    }

    [Test]
    public void A_last_axis_only_target_gets_transposes_without_reshape()
    {
        using Model m = Softmax([1, 6, 4, 4], 1, 13);
        Run(m, new LowerSoftmaxToSupportedForm(LastAxisNoReshape));
        Assert.That(Ops(m), Is.EqualTo(new[] { "Transpose", "Softmax", "Transpose" }));
        Assert.That(m.Graph.Nodes.Single(n => n.OpType == "Softmax").GetInt("axis"), Is.EqualTo(3));
    }

    [Test]
    public void A_missing_axis_from_opset_13_on_rank_4_is_written_out()
    {
        // ONNX means −1; ORT's NNAPI builder would read 1.
        using Model m = Softmax([1, 6, 4, 4], null, 13);
        Run(m, new LowerSoftmaxToSupportedForm(Nnapi));
        Assert.That(Ops(m), Is.EqualTo(new[] { "Softmax" }));
        Assert.That(m.Graph.Nodes.Single().GetInt("axis"), Is.EqualTo(3));
    }

    [Test]
    public void LogSoftmax_is_lowered_the_same_way()
    {
        using Model m = Softmax([1, 4420, 2], 2, 9, "LogSoftmax");
        Run(m, new LowerSoftmaxToSupportedForm(Nnapi));
        Assert.That(Ops(m), Is.EqualTo(new[] { "Reshape", "LogSoftmax", "Reshape" }));
    }

    [Test]
    public void Does_not_fire_on_a_form_the_target_runs()
    {
        using Model m = Softmax([1, 6, 4, 4], 1, 13);
        PipelineResult r = Run(m, new LowerSoftmaxToSupportedForm(Nnapi));
        Assert.That(Matches(r, Id), Is.Zero);
        Assert.That(Failures(r, Id).Single(), Does.Contain("already a form the target runs"));
    }

    [Test]
    public void Does_not_fire_before_opset_13_when_the_trailing_dims_are_1()
    {
        // [N, C, 1, 1] with axis 1: flattening and per-axis mean the same thing.
        using Model m = Softmax([2, 10, 1, 1], 1, 11);
        PipelineResult r = Run(m, new LowerSoftmaxToSupportedForm(Nnapi));
        Assert.That(Matches(r, Id), Is.Zero);
    }

    [Test]
    public void Does_not_fire_when_flattening_needs_a_reshape_the_target_lacks()
    {
        using Model m = Softmax([1, 6, 4, 4], 1, 11);
        PipelineResult r = Run(m, new LowerSoftmaxToSupportedForm(LastAxisNoReshape));
        Assert.That(Failures(r, Id).Single(), Does.Contain("flattened axes 1..3").And.Contain("the target has no Reshape").And.Contain("changes which elements"));
    }

    [Test]
    public void Does_not_fire_when_the_shape_is_not_static()
    {
        using Model m = Softmax([1, 4420, 2], 2, 9, symbolicBatch: true);
        PipelineResult r = Run(m, new LowerSoftmaxToSupportedForm(Nnapi));
        Assert.That(Failures(r, Id).Single(), Does.Contain("not static"));
    }

    [Test]
    public void Does_not_fire_when_the_rank_is_unknown()
    {
        using Model m = Softmax([1, 4420, 2], 2, 9);
        Value x = m.Graph.Inputs[0];
        x.DeclaredType = x.DeclaredType! with { Shape = null };
        PipelineResult r = Run(m, new LowerSoftmaxToSupportedForm(Nnapi));
        Assert.That(Failures(r, Id).Single(), Does.Contain("rank is unknown"));
    }

    [Test]
    public void Rejects_ops_it_does_not_lower() =>
        Assert.That(() => new LowerSoftmaxToSupportedForm(Nnapi, ["Hardmax"]), Throws.ArgumentException);

    [Test]
    public void Second_run_changes_nothing()
    {
        using Model m = Softmax([2, 3, 5], 1, 13);
        AssertIdempotent(m, new LowerSoftmaxToSupportedForm(Nnapi));
    }

    [Test]
    public void Matches_golden()
    {
        using Model m = Softmax([2, 3, 5], 1, 13);
        Run(m, new LowerSoftmaxToSupportedForm());
        Golden.AssertMatches("lower-softmax-to-supported-form", GraphPrinter.Print(m.Graph, ModelBridge.Shapes.ShapeInference.Run(m.Graph)));
    }

    private static IEnumerable<TestCaseData> Cases()
    {
        (string Name, SoftmaxForms Forms)[] targets = [("2d", SoftmaxForms.TwoDimensional), ("nnapi", Nnapi), ("last", LastAxisNoReshape), ("last-reshape", new SoftmaxForms { LastAxisOnly = true })];
        long[][] shapes = [[7], [3, 5], [2, 3, 5], [2, 3, 4, 5], [1, 4420, 2], [2, 3, 1, 4, 2]];
        foreach (long opset in new long[] { 9, 11, 13 })
        {
            foreach (long[] shape in shapes)
            {
                for (long axis = -shape.Length; axis < shape.Length; axis++)
                {
                    foreach (string op in new[] { "Softmax", "LogSoftmax" })
                    {
                        var (name, forms) = targets[(int)((opset + axis + shape.Length) % targets.Length)];
                        yield return new TestCaseData(shape, axis, opset, op, forms).SetArgDisplayNames($"{op}_op{opset}_{string.Join('x', shape)}_axis{axis}_{name}");
                    }
                }
            }
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void Is_bit_exact_in_ort_where_it_applies(long[] shape, long axis, long opset, string op, SoftmaxForms forms)
    {
        using Model m = Softmax(shape, axis, opset, op);
        var pass = new LowerSoftmaxToSupportedForm(forms);
        using Model probe = m.Clone();
        PipelineResult r = Run(probe, pass);
        if (Matches(r, Id) == 0)
        {
            Assert.That(Failures(r, Id).Single(), Does.Contain("already a form").Or.Contain("does not run as is"));
            return;
        }
        AssertNumerics(m, pass).Dispose();
    }
}
