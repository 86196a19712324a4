using ModelBridge.Passes;
using ModelBridge.Profiles;
using ModelBridge.Rewriting;
using ModelBridge.Verify;
using static ModelBridge.Tests.Passes.ConvModels;
using static ModelBridge.Tests.Passes.ConvTransposeModels;

namespace ModelBridge.Tests.Passes;

[TestFixture]
public sealed class LowerConvTransposeToSubPixelConvTests
{
    private const string Id = "lower-convtranspose-to-subpixel-conv";

    /// <summary>The classic learned 2x upsampling: kernel 4, stride 2, pad 1.</summary>
    private static readonly Spec K4S2P1 = new() { Input = [1, 6, 5, 7], OutChannels = 4, Kernel = [4, 4], Strides = [2, 2], Pads = [1, 1, 1, 1] };

    [Test]
    public void Kernel_4_stride_2_pad_1_is_a_2x2_phase_conv_depth_to_space_and_a_crop()
    {
        using Model m = Build(K4S2P1);
        PipelineResult r = Run(m, new LowerConvTransposeToSubPixelConv());
        Assert.That(Matches(r, Id), Is.EqualTo(1));
        Assert.That(Ops(m), Is.EqualTo(new[] { "Conv", "DepthToSpace", "Slice" }));
        Node conv = m.Graph.Nodes.Single(n => n.OpType == "Conv");
        // M = ⌊(4 − 1)/2⌋ + 1 = 2 taps; q0 = min(⌊1/2⌋, 1) = 0, so begin pad 1; end pad ⌈(0 + 4 − 1)/2⌉ − 1 = 1.
        Assert.That(Constants.Of(conv.Inputs[1])!.Dims, Is.EqualTo(new long[] { 16, 6, 2, 2 }));
        Assert.That(conv.GetInts("pads"), Is.EqualTo(new long[] { 1, 1, 1, 1 }));
        Node slice = m.Graph.Nodes.Single(n => n.OpType == "Slice");
        // Start p_b − q0·s = 1; trim (1 + 1)·2 − 0 − 4 + 1 = 1 from the end.
        Assert.That(Patterns.ConstInts(slice.Inputs[1]), Is.EqualTo(new long[] { 1, 1 }));
        Assert.That(Patterns.ConstInts(slice.Inputs[2]), Is.EqualTo(new long[] { -1, -1 }));
        Assert.That(Patterns.ConstInts(slice.Inputs[3]), Is.EqualTo(new long[] { 2, 3 }));
        Assert.That(slice.Outputs[0]!.Name, Is.EqualTo("y"));
        Assert.That(ModelBridge.Shapes.ShapeInference.Run(m.Graph).StaticDimsOf(slice.Outputs[0]), Is.EqualTo(new long[] { 1, 4, 10, 14 }));
    }

    [Test]
    public void Stride_1_is_a_plain_conv_with_the_flipped_kernel()
    {
        using Model m = Build(K4S2P1 with { Kernel = [3, 3], Strides = [1, 1], Pads = [1, 1, 1, 1] });
        float[] w = Constants.Of(m.Graph.FindValue("w"))!.ToFloatArray();
        Run(m, new LowerConvTransposeToSubPixelConv());
        Assert.That(Ops(m), Is.EqualTo(new[] { "Conv" }));
        Node conv = m.Graph.Nodes.Single();
        Assert.That(conv.GetInts("pads"), Is.EqualTo(new long[] { 1, 1, 1, 1 }));
        float[] w2 = Constants.Of(conv.Inputs[1])!.ToFloatArray();
        // W'[c, ci, j, l] = W[ci, c, 2 − j, 2 − l].
        const int cin = 6, cout = 4;
        for (int ci = 0; ci < cin; ci++)
        {
            for (int c = 0; c < cout; c++)
            {
                for (int j = 0; j < 3; j++)
                {
                    for (int l = 0; l < 3; l++)
                    {
                        Assert.That(w2[((c * cin + ci) * 3 + j) * 3 + l], Is.EqualTo(w[((ci * cout + c) * 3 + (2 - j)) * 3 + (2 - l)]));
                    }
                }
            }
        }
    }

    [Test]
    public void Grouped_conv_transpose_keeps_its_groups_with_crd()
    {
        using Model m = Build(K4S2P1 with { Group = 2 });
        Run(m, new LowerConvTransposeToSubPixelConv());
        Assert.That(Ops(m), Is.EqualTo(new[] { "Conv", "DepthToSpace", "Slice" }));
        Assert.That(m.Graph.Nodes.Single(n => n.OpType == "Conv").GetInt("group"), Is.EqualTo(2));
        Assert.That(m.Graph.Nodes.Single(n => n.OpType == "DepthToSpace").GetString("mode"), Is.EqualTo("CRD"));
    }

    [Test]
    public void Grouped_conv_transpose_on_a_dcr_only_target_uses_reshape_and_transpose()
    {
        using Model m = Build(K4S2P1 with { Group = 2 });
        Run(m, new LowerConvTransposeToSubPixelConv(new PixelShuffleForms { DepthToSpaceModes = ["DCR"] }));
        Assert.That(Ops(m), Is.EqualTo(new[] { "Conv", "Reshape", "Transpose", "Reshape", "Reshape", "Transpose", "Reshape", "Slice" }));
    }

    [Test]
    public void Before_opset_10_the_crop_is_an_attribute_slice()
    {
        using Model m = Build(K4S2P1 with { Opset = 9 });
        Run(m, new LowerConvTransposeToSubPixelConv());
        Node slice = m.Graph.Nodes.Single(n => n.OpType == "Slice");
        Assert.That(slice.Inputs, Has.Count.EqualTo(1));
        Assert.That(slice.GetInts("starts"), Is.EqualTo(new long[] { 1, 1 }));
        Assert.That(slice.GetInts("ends"), Is.EqualTo(new long[] { -1, -1 }));
    }

    [Test]
    public void Does_not_fire_when_auto_pad_is_set()
    {
        using Model m = Build(K4S2P1 with { Pads = null, AutoPad = "SAME_UPPER" });
        PipelineResult r = Run(m, new LowerConvTransposeToSubPixelConv());
        Assert.That(Matches(r, Id), Is.Zero);
        Assert.That(Failures(r, Id).Single(), Does.Contain("auto_pad=SAME_UPPER"));
    }

    [Test]
    public void Does_not_fire_when_output_shape_is_given()
    {
        using Model m = Build(K4S2P1 with { Pads = null, OutputShape = [10, 14] });
        PipelineResult r = Run(m, new LowerConvTransposeToSubPixelConv());
        Assert.That(Failures(r, Id).Single(), Does.Contain("output_shape is set"));
    }

    [Test]
    public void Does_not_fire_on_a_1d_conv_transpose()
    {
        using Model m = Build(K4S2P1 with { Input = [1, 6, 9], Kernel = [4], Strides = [2], Pads = [1, 1] });
        PipelineResult r = Run(m, new LowerConvTransposeToSubPixelConv());
        Assert.That(Failures(r, Id).Single(), Does.Contain("only 2-D ConvTranspose"));
    }

    [Test]
    public void Does_not_fire_when_output_padding_is_not_below_the_stride()
    {
        using Model m = Build(K4S2P1 with { Strides = [1, 1], Dilations = [2, 2], OutputPadding = [1, 0] });
        PipelineResult r = Run(m, new LowerConvTransposeToSubPixelConv());
        Assert.That(Failures(r, Id).Single(), Does.Contain("output_padding=1 on spatial axis 0 is not below the stride 1"));
    }

    [Test]
    public void Does_not_fire_when_the_target_has_no_shuffle_for_unequal_strides()
    {
        using Model m = Build(K4S2P1 with { Strides = [2, 3] });
        PipelineResult r = Run(m, new LowerConvTransposeToSubPixelConv(new PixelShuffleForms { ReshapeTranspose = false }));
        Assert.That(Failures(r, Id).Single(), Does.Contain("strides 2x3 differ"));
    }

    [Test]
    public void Does_not_fire_when_a_crop_is_needed_and_the_target_has_no_slice()
    {
        using Model m = Build(K4S2P1);
        PipelineResult r = Run(m, new LowerConvTransposeToSubPixelConv(PixelShuffleForms.Any, slice: false));
        Assert.That(Failures(r, Id).Single(), Does.Contain("has no Slice"));
    }

    [Test]
    public void Does_not_fire_when_reshape_would_need_a_symbolic_shape()
    {
        using Model m = Build(K4S2P1 with { Strides = [2, 3] });
        Value x = m.Graph.Inputs[0];
        x.DeclaredType = x.DeclaredType! with { Shape = new TensorShape([Dim.Sym("N"), 6, 5, 7]) };
        PipelineResult r = Run(m, new LowerConvTransposeToSubPixelConv());
        Assert.That(Failures(r, Id).Single(), Does.Contain("needs a static input shape"));
    }

    [Test]
    public void Works_with_symbolic_spatial_dims_through_depth_to_space()
    {
        using Model m = Build(K4S2P1);
        Value x = m.Graph.Inputs[0];
        x.DeclaredType = x.DeclaredType! with { Shape = new TensorShape([Dim.Sym("N"), 6, Dim.Sym("H"), Dim.Sym("W")]) };
        PipelineResult r = Run(m, new LowerConvTransposeToSubPixelConv());
        Assert.That(Matches(r, Id), Is.EqualTo(1));
    }

    [Test]
    public void Second_run_changes_nothing()
    {
        using Model m = Build(K4S2P1);
        AssertIdempotent(m, new LowerConvTransposeToSubPixelConv());
    }

    [Test]
    public void Matches_golden()
    {
        using Model m = Build(K4S2P1 with { Input = [1, 2, 3, 3], OutChannels = 2, Kernel = [3, 3], Pads = [1, 1, 1, 1], OutputPadding = [1, 1] });
        Run(m, new LowerConvTransposeToSubPixelConv());
        Golden.AssertMatches("lower-convtranspose-to-subpixel-conv", GraphPrinter.Print(m.Graph, ModelBridge.Shapes.ShapeInference.Run(m.Graph)));
    }

    private static IEnumerable<string> BuiltInTargets() => TargetProfile.BuiltInNames;

    /// <summary>
    /// The ONNX backend node tests, whose expected outputs come from the spec's reference implementation
    /// (an independent reference), with the weight input made a constant.
    /// </summary>
    [TestCase("test_convtranspose", "Conv")]
    [TestCase("test_convtranspose_dilations", "Conv")]
    [TestCase("test_convtranspose_pads", "Conv Reshape Transpose Reshape Reshape Transpose Reshape Slice")]
    [TestCase("test_convtranspose_pad", "Conv Reshape Transpose Reshape Reshape Transpose Reshape Slice")]
    [TestCase("test_convtranspose_output_shape", null)]
    [TestCase("test_convtranspose_1d", null)]
    [TestCase("test_convtranspose_3d", null)]
    public void Matches_the_onnx_reference_outputs(string test, string? ops)
    {
        string dir = Path.Combine(TestPaths.OnnxTestData, "node", test);
        if (!Directory.Exists(dir))
        {
            Assert.That(TestPaths.UnderCi, Is.False, $"{dir} is missing; .ci/run installs libonnx-testdata");
            Assert.Ignore($"{dir} is missing (apt-get install -y libonnx-testdata)");
        }
        using Model corpus = Model.Load(Path.Combine(dir, "model.onnx"));
        TestDataSet data = TestDataSet.Read(Path.Combine(dir, "test_data_set_0"), corpus);
        Node original = corpus.Graph.Nodes.Single();
        using var m = new Model(corpus.Graph.OpsetVersion("")!.Value);
        NamedTensor x = data.Inputs[0], w = data.Inputs[1];
        Value xv = m.Graph.AddInput(x.Name, x.Data.ToTensorType());
        Value wv = m.Graph.AddInitializer(w.Name, Tensor.FromBytes(w.Data.ElementType, [.. w.Data.Dims], w.Data.Bytes));
        Node ct = m.Graph.AddNode("ConvTranspose", [xv, wv], [original.Outputs[0]!.Name], name: "ct");
        foreach (AttributeValue a in original.Attributes)
        {
            ct.SetAttribute(a);
        }
        m.Graph.SetOutputs([ct.Outputs[0]!]);
        PipelineResult r = Run(m, new LowerConvTransposeToSubPixelConv());
        if (ops is null)
        {
            Assert.That(Matches(r, Id), Is.Zero);
            Assert.That(Failures(r, Id).Single(), Does.Contain("output_shape").Or.Contain("only 2-D"));
            return;
        }
        Assert.That(string.Join(' ', Ops(m)), Is.EqualTo(ops));
        var outputs = Numerics.Run(m, new Dictionary<string, TensorData> { [x.Name] = x.Data });
        foreach (var (name, expected) in data.OutputsByName())
        {
            Numerics.AssertClose(name, expected, outputs[name], NumericContract.Approximate(1e-5, 1e-5));
        }
    }

    [TestCaseSource(nameof(BuiltInTargets))]
    public void Is_registered_after_auto_pad_and_before_the_conv_lowerings_for_targets_without_conv_transpose(string target)
    {
        TargetProfile profile = TargetProfile.BuiltIn(target);
        List<string> ids = [.. ModelConverter.PassIds(profile)];
        int exact = ids.IndexOf("lower-convtranspose-to-depthtospace"), general = ids.IndexOf(Id);
        if (profile.Find("", "ConvTranspose") is not null)
        {
            Assert.That(exact, Is.EqualTo(-1));
            Assert.That(general, Is.EqualTo(-1));
            return;
        }
        Assert.That(exact, Is.GreaterThan(ids.IndexOf("lower-auto-pad")).And.GreaterThan(0));
        Assert.That(general, Is.EqualTo(exact + 1), "the exact form first");
        foreach (string later in new[] { "lower-grouped-conv", "lower-depthwise-multiplier", "split-asymmetric-pads", "lower-conv1x1-to-gemm" })
        {
            Assert.That(ids.IndexOf(later), Is.EqualTo(-1).Or.GreaterThan(general), later);
        }
    }

    [TestCaseSource(nameof(BuiltInTargets))]
    public void Conversion_emits_only_nodes_the_target_accepts(string target)
    {
        Spec[] layers =
        [
            K4S2P1,
            K4S2P1 with { Kernel = [3, 3], Pads = [1, 1, 1, 1], OutputPadding = [1, 1] },
            K4S2P1 with { Group = 2 },
            K4S2P1 with { Strides = [2, 1], Kernel = [4, 3] },
            K4S2P1 with { Kernel = [2, 2], Pads = null },
            K4S2P1 with { Kernel = [3, 3], Strides = [1, 1], Pads = [1, 1, 1, 1] },
        ];
        TargetProfile profile = TargetProfile.BuiltIn(target);
        int lowered = 0;
        foreach (Spec layer in layers)
        {
            using Model m = Build(layer);
            ConversionResult r = ModelConverter.Convert(m, profile);
            using Model converted = r.Model;
            foreach (string id in new[] { Id, "lower-convtranspose-to-depthtospace" })
            {
                IReadOnlyList<Node> made = RealModels.NodesFrom(r, id);
                lowered += made.Count > 0 ? 1 : 0;
                var refused = made.Select(n => r.Remaining.Nodes.Single(v => v.Node == n)).Where(v => !v.Supported).ToList();
                Assert.That(refused, Is.Empty, () => $"{layer}: {string.Join("; ", refused.Select(v => $"{v.OpType}: {string.Join(", ", v.Reasons)}"))}");
            }
        }
        bool lacksConvTranspose = profile.Find("", "ConvTranspose") is null;
        bool canShuffle = profile.Find("", "DepthToSpace") is not null;
        // Without a shuffle (xnnpack) only the stride-1 layer, a plain Conv with no crop, is lowered.
        Assert.That(lowered, Is.EqualTo(lacksConvTranspose ? canShuffle ? layers.Length : 1 : 0));
    }

    /// <summary>Every (kernel, stride, pads, output_padding, dilation) a seeded walk produces, with valid output sizes.</summary>
    private static IEnumerable<TestCaseData> Geometries()
    {
        var rng = new Random(2024);
        int made = 0, seed = 0;
        while (made < 60)
        {
            seed++;
            long k = rng.Next(1, 6), s = rng.Next(1, 4), d = rng.Next(0, 4) == 0 ? 2 : 1;
            long k2 = rng.Next(0, 3) == 0 ? rng.Next(1, 6) : k, s2 = rng.Next(0, 4) == 0 ? rng.Next(1, 4) : s;
            long pb = rng.Next(0, (int)k), pe = rng.Next(0, (int)k), pb2 = rng.Next(0, (int)k2), pe2 = rng.Next(0, (int)k2);
            long op = rng.Next(0, (int)s), op2 = rng.Next(0, (int)s2);
            long group = rng.Next(0, 4) == 0 ? 2 : 1;
            long h = rng.Next(1, 7), w = rng.Next(1, 7);
            long outH = s * (h - 1) + op + (k - 1) * d + 1 - pb - pe, outW = s2 * (w - 1) + op2 + (k2 - 1) * d + 1 - pb2 - pe2;
            if (outH < 1 || outW < 1)
            {
                continue;
            }
            string[] modes = (seed % 3) switch { 0 => ["DCR"], 1 => ["CRD"], _ => [] };
            var spec = new Spec
            {
                Input = [1 + (seed % 2), 4 * group, h, w],
                OutChannels = 3 * group,
                Kernel = [k, k2],
                Strides = [s, s2],
                Pads = [pb, pb2, pe, pe2],
                OutputPadding = [op, op2],
                Dilations = [d, d],
                Group = group,
                Bias = seed % 5 != 0,
                Seed = seed,
            };
            made++;
            yield return new TestCaseData(spec, modes).SetArgDisplayNames($"{made:D2}_{spec}_{(modes.Length == 0 ? "reshape" : modes[0])}".Replace(' ', '_'));
        }
    }

    [TestCaseSource(nameof(Geometries))]
    public void Matches_ort_conv_transpose_within_the_contract(Spec spec, string[] modes)
    {
        using Model m = Build(spec);
        AssertNumerics(m, new LowerConvTransposeToSubPixelConv(new PixelShuffleForms { DepthToSpaceModes = modes })).Dispose();
    }

    [TestCase(64, 32, 4, 2, 1, 0, 1)]
    [TestCase(32, 16, 3, 2, 1, 1, 1)]
    [TestCase(48, 48, 4, 2, 1, 0, 48)]
    [TestCase(128, 64, 5, 2, 2, 1, 1)]
    [TestCase(24, 24, 3, 1, 1, 0, 1)]
    public void Matches_ort_on_realistic_upsampling_layers(long cin, long cout, long k, long s, long p, long op, long group)
    {
        // Weights at a trained layer's scale (1/√fan-in, fan-in = C_in/G·(k/s)² products per output), so outputs are of order 1.
        float scale = (float)(1 / Math.Sqrt(cin / group * Math.Max(1.0, (double)k * k / (s * s))));
        using Model m = Build(new Spec { Input = [1, cin, 12, 10], OutChannels = cout, Kernel = [k, k], Strides = [s, s], Pads = [p, p, p, p], OutputPadding = [op, op], Group = group, Seed = (int)(cin + k), WeightScale = scale });
        AssertNumerics(m, new LowerConvTransposeToSubPixelConv()).Dispose();
    }
}
