using ModelBridge.Passes;
using ModelBridge.Rewriting;
using ModelBridge.Verify;
using static ModelBridge.Tests.Passes.ConvModels;
using static ModelBridge.Tests.Passes.ConvTransposeModels;

namespace ModelBridge.Tests.Passes;

[TestFixture]
public sealed class LowerConvTransposeToDepthToSpaceTests
{
    private static readonly Spec Up2 = new() { Input = [1, 6, 5, 7], OutChannels = 4 };

    private static readonly PixelShuffleForms CrdOnly = new() { DepthToSpaceModes = ["CRD"], ReshapeTranspose = false };

    [Test]
    public void Becomes_a_1x1_conv_and_depth_to_space_keeping_the_output_name()
    {
        using Model m = Build(Up2);
        PipelineResult r = Run(m, new LowerConvTransposeToDepthToSpace());
        Assert.That(Matches(r, "lower-convtranspose-to-depthtospace"), Is.EqualTo(1));
        Assert.That(Ops(m), Is.EqualTo(new[] { "Conv", "DepthToSpace" }));
        Node conv = m.Graph.Nodes.Single(n => n.OpType == "Conv");
        Node d2s = m.Graph.Nodes.Single(n => n.OpType == "DepthToSpace");
        Assert.That(Constants.Of(conv.Inputs[1])!.Dims, Is.EqualTo(new long[] { 16, 6, 1, 1 }));
        Assert.That(Constants.Of(conv.Inputs[2])!.Dims, Is.EqualTo(new long[] { 16 }));
        Assert.That(d2s.GetInt("blocksize"), Is.EqualTo(2));
        Assert.That(d2s.GetString("mode"), Is.EqualTo("DCR"));
        Assert.That(d2s.Outputs[0]!.Name, Is.EqualTo("y"));
        Assert.That(m.Graph.FindValue("w"), Is.Null, "the original weight is erased once unused");
    }

    [Test]
    public void Crd_weight_follows_the_spec_channel_order()
    {
        // CRD: output[c, h·s + i, w·s + j] = input[c·s·s + i·s + j, h, w], so W'[c·s·s + i·s + j, ci] = W[ci, c, i, j].
        using Model m = Build(Up2 with { Strides = [3, 3], Kernel = [3, 3] });
        float[] w = Constants.Of(m.Graph.FindValue("w"))!.ToFloatArray();
        float[] b = Constants.Of(m.Graph.FindValue("b"))!.ToFloatArray();
        Run(m, new LowerConvTransposeToDepthToSpace(CrdOnly));
        Node conv = m.Graph.Nodes.Single(n => n.OpType == "Conv");
        float[] w2 = Constants.Of(conv.Inputs[1])!.ToFloatArray();
        float[] b2 = Constants.Of(conv.Inputs[2])!.ToFloatArray();
        const int s = 3, cin = 6, cout = 4;
        for (int ci = 0; ci < cin; ci++)
        {
            for (int c = 0; c < cout; c++)
            {
                for (int i = 0; i < s; i++)
                {
                    for (int j = 0; j < s; j++)
                    {
                        Assert.That(w2[((c * s * s) + (i * s) + j) * cin + ci], Is.EqualTo(w[((ci * cout + c) * s + i) * s + j]));
                        Assert.That(b2[(c * s * s) + (i * s) + j], Is.EqualTo(b[c]));
                    }
                }
            }
        }
        Assert.That(m.Graph.Nodes.Single(n => n.OpType == "DepthToSpace").GetString("mode"), Is.EqualTo("CRD"));
    }

    [Test]
    public void Dcr_weight_follows_the_spec_channel_order()
    {
        // DCR: output[c, h·s + i, w·s + j] = input[(i·s + j)·C + c, h, w].
        using Model m = Build(Up2);
        float[] w = Constants.Of(m.Graph.FindValue("w"))!.ToFloatArray();
        Run(m, new LowerConvTransposeToDepthToSpace());
        float[] w2 = Constants.Of(m.Graph.Nodes.Single(n => n.OpType == "Conv").Inputs[1])!.ToFloatArray();
        const int s = 2, cin = 6, cout = 4;
        for (int ci = 0; ci < cin; ci++)
        {
            for (int c = 0; c < cout; c++)
            {
                for (int i = 0; i < s; i++)
                {
                    for (int j = 0; j < s; j++)
                    {
                        Assert.That(w2[((((i * s) + j) * cout) + c) * cin + ci], Is.EqualTo(w[((ci * cout + c) * s + i) * s + j]));
                    }
                }
            }
        }
    }

    [Test]
    public void Unequal_strides_use_reshape_and_transpose()
    {
        using Model m = Build(Up2 with { Kernel = [2, 3], Strides = [2, 3] });
        Run(m, new LowerConvTransposeToDepthToSpace());
        Assert.That(Ops(m), Is.EqualTo(new[] { "Conv", "Reshape", "Transpose", "Reshape", "Reshape", "Transpose", "Reshape" }));
        Assert.That(m.Graph.Nodes.Where(n => n.OpType == "Reshape").All(n => Constants.IsConstant(n.Inputs[1]!)), Is.True, "constant shapes");
    }

    [Test]
    public void Does_not_fire_when_kernel_differs_from_stride()
    {
        using Model m = Build(Up2 with { Kernel = [4, 4] });
        PipelineResult r = Run(m, new LowerConvTransposeToDepthToSpace());
        Assert.That(Matches(r, "lower-convtranspose-to-depthtospace"), Is.Zero);
        Assert.That(Failures(r, "lower-convtranspose-to-depthtospace").Single(), Does.Contain("differs from strides"));
    }

    [Test]
    public void Does_not_fire_when_pads_crop_the_output()
    {
        using Model m = Build(Up2 with { Pads = [1, 0, 0, 0] });
        PipelineResult r = Run(m, new LowerConvTransposeToDepthToSpace());
        Assert.That(Failures(r, "lower-convtranspose-to-depthtospace").Single(), Does.Contain("pads [1,0,0,0]"));
    }

    [Test]
    public void Does_not_fire_when_grouped()
    {
        using Model m = Build(Up2 with { Group = 2 });
        PipelineResult r = Run(m, new LowerConvTransposeToDepthToSpace());
        Assert.That(Failures(r, "lower-convtranspose-to-depthtospace").Single(), Does.Contain("group=2"));
    }

    [Test]
    public void Does_not_fire_when_the_weight_is_computed()
    {
        using Model m = Build(Up2);
        Graph g = m.Graph;
        Value wIn = g.AddInput("w_runtime", new TensorType(DataType.Float, TensorShape.Of([6, 4, 2, 2])));
        GraphRewriter.Edit(g, "test", r => r.SetInput(g.Nodes.Single(), 1, wIn));
        PipelineResult r = Run(m, new LowerConvTransposeToDepthToSpace());
        Assert.That(Failures(r, "lower-convtranspose-to-depthtospace").Single(), Does.Contain("not a constant"));
    }

    [Test]
    public void Does_not_fire_without_a_usable_shuffle()
    {
        using Model m = Build(Up2 with { Kernel = [2, 3], Strides = [2, 3] });
        PipelineResult r = Run(m, new LowerConvTransposeToDepthToSpace(CrdOnly));
        Assert.That(Failures(r, "lower-convtranspose-to-depthtospace").Single(), Does.Contain("strides 2x3 differ").And.Contain("no rank-4 Reshape/Transpose"));
    }

    [Test]
    public void Does_not_fire_when_output_shape_is_given()
    {
        using Model m = Build(Up2 with { OutputShape = [10, 14] });
        PipelineResult r = Run(m, new LowerConvTransposeToDepthToSpace());
        Assert.That(Failures(r, "lower-convtranspose-to-depthtospace").Single(), Does.Contain("output_shape"));
    }

    [Test]
    public void Does_not_fire_on_a_single_output_channel_at_stride_1()
    {
        using Model m = Build(Up2 with { OutChannels = 1, Kernel = [1, 1], Strides = [1, 1] });
        PipelineResult r = Run(m, new LowerConvTransposeToDepthToSpace());
        Assert.That(Failures(r, "lower-convtranspose-to-depthtospace").Single(), Does.Contain("not be bit-identical"));
    }

    [Test]
    public void Before_opset_11_depth_to_space_has_no_mode()
    {
        using Model m = Build(Up2 with { Opset = 9 });
        Run(m, new LowerConvTransposeToDepthToSpace());
        Node d2s = m.Graph.Nodes.Single(n => n.OpType == "DepthToSpace");
        Assert.That(d2s.HasAttribute("mode"), Is.False);
    }

    [Test]
    public void Second_run_changes_nothing()
    {
        using Model m = Build(Up2);
        AssertIdempotent(m, new LowerConvTransposeToDepthToSpace());
    }

    [Test]
    public void Matches_golden()
    {
        using Model m = Build(Up2 with { Input = [1, 2, 3, 3], OutChannels = 2 });
        Run(m, new LowerConvTransposeToDepthToSpace());
        Golden.AssertMatches("lower-convtranspose-to-depthtospace", GraphPrinter.Print(m.Graph, ModelBridge.Shapes.ShapeInference.Run(m.Graph)));
    }

    [TestCase("ort-nnapi")]
    [TestCase("ort-coreml-neuralnetwork")]
    public void Paddle_ocr_detector_upsampling_head_converts_and_matches_ort_on_the_photographs(string target)
    {
        // Two 2x2 stride-2 ConvTransposes (24→24 and 24→1 channels) that both targets refused.
        const string fixture = "ch_PP-OCRv4_det_infer";
        ConversionResult r = RealModels.Convert(fixture, target);
        using Model converted = r.Model;
        Assert.That(r.Statistics.Where(s => s.Id == "lower-convtranspose-to-depthtospace").Sum(s => s.Matches), Is.EqualTo(2));
        Assert.That(converted.Graph.Nodes.Where(n => n.OpType == "ConvTranspose"), Is.Empty);
        Assert.That(r.Remaining.Unsupported.Where(v => v.OpType is "ConvTranspose" or "DepthToSpace" or "Reshape" or "Transpose"), Is.Empty);
        IReadOnlyList<Node> made = RealModels.NodesFrom(r, "lower-convtranspose-to-depthtospace");
        Assert.That(made.Select(n => n.OpType).Order(), Is.EqualTo(new[] { "Conv", "Conv", "DepthToSpace", "DepthToSpace" }));
        Assert.That(made.Select(n => r.Remaining.Nodes.Single(v => v.Node == n)).Where(v => !v.Supported), Is.Empty, "every node the lowering made runs on the target");
        RealModels.AssertParityOnPhotographs(fixture, converted);
        RealModels.AssertLayerParity(fixture, r, target);

        // The lowering itself is exact: replayed without the ConvTranspose lowerings, the conversion gives the same bits.
        using Model original = Model.Load(Path.Combine(RealModels.Dir(fixture), "model.onnx"));
        using Model without = r.Replay(original, ["lower-convtranspose-to-depthtospace", "lower-convtranspose-to-subpixel-conv"]).Model;
        Assert.That(without.Graph.Nodes.Count(n => n.OpType == "ConvTranspose"), Is.EqualTo(2));
        foreach (TestDataSet set in RealModels.DataSets(fixture, original))
        {
            var a = Numerics.Run(converted, set.InputsByName());
            var b = Numerics.Run(without, set.InputsByName());
            Assert.That(a.Keys, Is.EquivalentTo(b.Keys));
            Assert.That(a.All(kv => kv.Value.Equals(b[kv.Key])), Is.True, "bit-identical with and without the lowering");
        }
    }

    private static IEnumerable<TestCaseData> ExactCases()
    {
        string[][] modes = [["DCR"], ["CRD"], []];
        int seed = 1;
        foreach (long[] input in new long[][] { [1, 6, 5, 7], [2, 24, 12, 16], [1, 64, 8, 8], [1, 3, 1, 1] })
        {
            foreach (long cout in new long[] { 1, 4, 24 })
            {
                foreach (long[] k in new long[][] { [2, 2], [3, 3], [1, 1], [2, 3] })
                {
                    if (cout == 1 && k[0] * k[1] == 1)
                    {
                        continue; // Does_not_fire_on_a_single_output_channel_at_stride_1
                    }
                    string[] mode = modes[seed % 3];
                    yield return new TestCaseData(new Spec { Input = input, OutChannels = cout, Kernel = k, Strides = k, Seed = seed, Bias = seed % 4 != 0 }, mode)
                        .SetArgDisplayNames($"in{string.Join('x', input)}_cout{cout}_k{string.Join('x', k)}_{(mode.Length == 0 ? "reshape" : mode[0])}");
                    seed++;
                }
            }
        }
    }

    [TestCaseSource(nameof(ExactCases))]
    public void Is_bit_exact_in_ort(Spec spec, string[] modes)
    {
        using Model m = Build(spec);
        AssertNumerics(m, new LowerConvTransposeToDepthToSpace(new PixelShuffleForms { DepthToSpaceModes = modes })).Dispose();
    }
}
