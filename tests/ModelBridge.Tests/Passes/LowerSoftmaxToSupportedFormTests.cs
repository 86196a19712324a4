using ModelBridge.Passes;
using ModelBridge.Profiles;
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

    [TestCase("ort-nnapi", 1)]
    [TestCase("ort-coreml-neuralnetwork", 0)]
    public void Rfb_320_scores_run_on_the_target_and_match_ort_on_the_photographs(string target, int lowered)
    {
        // Softmax(axis=2) on [1, 4420, 2] at opset 9: NNAPI runs rank 2 or 4 only; CoreML's builder reshapes it itself.
        const string fixture = "version-RFB-320";
        ConversionResult r = RealModels.Convert(fixture, target);
        using Model converted = r.Model;
        Assert.That(r.Statistics.Where(s => s.Id == Id).Sum(s => s.Matches), Is.EqualTo(lowered));
        Assert.That(r.Remaining.Unsupported.Where(v => v.OpType is "Softmax" or "Reshape" or "Transpose"), Is.Empty);
        Assert.That(RealModels.NodesFrom(r, Id).Select(n => r.Remaining.Nodes.Single(v => v.Node == n)).Where(v => !v.Supported), Is.Empty,
            "every node the lowering made runs on the target");
        RealModels.AssertParityOnPhotographs(fixture, converted);
        RealModels.AssertLayerParity(fixture, r, target);
    }

    private static IEnumerable<string> BuiltInTargets() => TargetProfile.BuiltInNames;

    [TestCase("ort-nnapi", true)]
    [TestCase("xnnpack", true)]
    [TestCase("ort-coreml-neuralnetwork", false)]
    [TestCase("ort-coreml-mlprogram", false)]
    [TestCase("tflite-builtins", false)]
    [TestCase("ncnn", false)]
    public void Is_registered_for_targets_that_restrict_softmax(string target, bool registered)
    {
        TargetProfile profile = TargetProfile.BuiltIn(target);
        Assert.That(ModelConverter.PassIds(profile), registered ? Does.Contain(Id) : Does.Not.Contain(Id));
        if (Pipeline.SoftmaxLoweringFor(profile) is LowerSoftmaxToSupportedForm pass)
        {
            Assert.That(pass.Forms.ToString(), Is.EqualTo(target == "ort-nnapi" ? "rank 2/4, Reshape, Transpose" : "rank any, last axis, Transpose"));
            Assert.That(pass.Forms.MaxReshapeRank, Is.EqualTo(target == "ort-nnapi" ? 4 : null));
        }
    }

    [TestCaseSource(nameof(BuiltInTargets))]
    public void Conversion_emits_only_nodes_the_target_accepts(string target)
    {
        (long[] Shape, long? Axis, long Opset)[] heads = [([1, 4420, 2], 2, 9), ([2, 3, 4, 5], 1, 11), ([2, 3, 5], 1, 13), ([1, 6, 4, 4], null, 13), ([4, 10], 1, 13), ([1, 2, 3, 4, 5], -1, 13)];
        TargetProfile profile = TargetProfile.BuiltIn(target);
        foreach (var (shape, axis, opset) in heads)
        {
            using Model m = Softmax(shape, axis, opset);
            ConversionResult r = ModelConverter.Convert(m, profile);
            using Model converted = r.Model;
            var refused = RealModels.NodesFrom(r, Id).Select(n => r.Remaining.Nodes.Single(v => v.Node == n)).Where(v => !v.Supported).ToList();
            Assert.That(refused, Is.Empty, () => $"[{string.Join(',', shape)}] axis {axis} opset {opset}: {string.Join("; ", refused.Select(v => $"{v.OpType}: {string.Join(", ", v.Reasons)}"))}");
            if (target == "ort-nnapi")
            {
                // Rank 3 and 5, and the flattening meaning on rank 4, become rank 2; the default axis on rank 4 is written.
                Assert.That(r.Remaining.Unsupported, Has.Count.EqualTo(shape.Length == 5 ? 1 : 0), $"[{string.Join(',', shape)}]");
                Assert.That(converted.Graph.Nodes.Single(n => n.OpType == "Softmax").HasAttribute("axis"), Is.True);
            }
        }
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
