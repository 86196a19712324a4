using ModelBridge.Profiles;
using ModelBridge.Rewriting;
using ModelBridge.Surgery;
using ModelBridge.Verify;

namespace ModelBridge.Tests.Surgery;

/// <summary>
/// <see cref="PostprocessSplit"/>: the unsupported tail of a converted model is cut into a CPU model; the
/// two models are valid standalone and, run one after the other in ORT, reproduce the original.
/// </summary>
[TestFixture]
public sealed class PostprocessSplitTests
{
    private static string RfbDir => Path.Combine(TestPaths.Fixtures, "real", "version-RFB-320");

    /// <summary>version-RFB-320 as downloaded: every initializer is also a graph input, which conversion removes by default.</summary>
    private static Model LoadRfb() => Model.Load(Path.Combine(RfbDir, "model.onnx"));

    /// <summary>Runs main, then post on main's cut tensors (and the graph inputs it reads), each from its own saved bytes.</summary>
    internal static Dictionary<string, TensorData> RunPair(PostprocessSplitResult split, IReadOnlyDictionary<string, TensorData> inputs)
    {
        using Model main = Model.Load(split.Main.ToBytes());
        using Model post = Model.Load(split.Post.ToBytes());
        using var mainRunner = new OrtRunner(main);
        using var postRunner = new OrtRunner(post);
        IReadOnlyDictionary<string, TensorData> first = mainRunner.Run(inputs.Where(kv => main.Graph.Inputs.Any(i => i.Name == kv.Key)).ToDictionary());
        var postInputs = post.Graph.Inputs.Where(i => i.Initializer is null)
            .ToDictionary(i => i.Name, i => first.TryGetValue(i.Name, out TensorData? t) ? t : inputs[i.Name]);
        IReadOnlyDictionary<string, TensorData> second = postRunner.Run(postInputs);
        return split.Outputs.ToDictionary(o => o, o => second.TryGetValue(o, out TensorData? t) ? t : first[o]);
    }

    [TestCase("ort-coreml-neuralnetwork")]
    [TestCase("ort-coreml-mlprogram")]
    [TestCase("ort-nnapi")]
    [TestCase("tflite-builtins")]
    [TestCase("ncnn")]
    public void Rfb320_tail_is_cut_where_one_remains_and_the_pair_reproduces_ort_on_the_photographs(string target)
    {
        using Model original = LoadRfb();
        ConversionResult result = ModelConverter.Convert(original, TargetProfile.BuiltIn(target));
        using Model converted = result.Model;
        using PostprocessSplitResult? split = PostprocessSplit.Split(converted, result.Remaining, result.Options.Dims);
        if (result.Remaining.AllSupported)
        {
            Assert.That(split, Is.Null, "nothing to cut when every node is supported");
            return;
        }
        Assert.That(split, Is.Not.Null);
        ProfileReport mainReport = ProfileChecker.Check(split!.Main.Graph, result.Profile);
        Assert.That(mainReport.Unsupported.Select(v => $"{v.OpType} {v.Name}"), Is.Empty, "the accelerator part has no unsupported node");
        var moved = new HashSet<Node>(result.Remaining.Unsupported.Select(v => v.Node));
        Assert.That(split.Post.Graph.Nodes.Count(n => n.OpType != "Constant"), Is.GreaterThanOrEqualTo(moved.Count));
        static IEnumerable<string> Computed(Model m) => m.Graph.Nodes.Where(n => n.OpType != "Constant").SelectMany(n => n.Outputs.OfType<Value>()).Select(v => v.Name);
        Assert.That(Computed(split.Main).Intersect(Computed(split.Post)), Is.Empty, "no node runs in both");
        Assert.That(split.Main.Graph.Outputs.Select(o => o.Name), Is.SupersetOf(split.CutTensors));
        Assert.That(split.Post.Graph.Inputs.Select(o => o.Name), Is.EquivalentTo(split.CutTensors.Concat(split.PostGraphInputs)));
        TestContext.Out.WriteLine($"{target}: cut at {string.Join(", ", split.CutTensors)}; post runs {string.Join(", ", split.TailNodes)}");

        foreach (string set in TestDataSet.FindFolders(RfbDir))
        {
            TestDataSet data = TestDataSet.Read(set, original);
            Dictionary<string, TensorData> outputs = RunPair(split, data.InputsByName());
            foreach (NamedTensor expected in data.Outputs)
            {
                ParityMetrics c = ParityMetrics.Compare(expected.Data, outputs[expected.Name]);
                TestContext.Out.WriteLine($"  {Path.GetFileName(set)}/{expected.Name}: relative-to-max {c.RelativeToMax:G3}");
                Assert.That(c.IsWithin(1e-4), Is.True, $"{target} {Path.GetFileName(set)} {expected.Name}: relative-to-max {c.RelativeToMax:G3}");
            }
        }
    }

    [Test]
    public void Rfb320_on_coreml_neuralnetwork_moves_the_box_decoding_Exp_to_the_cpu()
    {
        using Model original = LoadRfb();
        ConversionResult result = ModelConverter.Convert(original, TargetProfile.BuiltIn("ort-coreml-neuralnetwork"));
        using Model converted = result.Model;
        using PostprocessSplitResult split = PostprocessSplit.Split(converted, result.Remaining)!;
        Assert.That(split.Post.Graph.Nodes.Select(n => n.OpType), Does.Contain("Exp"));
        Assert.That(split.Main.Graph.Nodes.Select(n => n.OpType), Does.Not.Contain("Exp"));
        Assert.That(split.Main.Graph.Nodes.Select(n => n.OpType), Does.Contain("Conv"));
        Assert.That(split.Post.Graph.Nodes.Select(n => n.OpType), Has.None.EqualTo("Conv"));
        Assert.That(split.Outputs, Is.EqualTo(new[] { "scores", "boxes" }));
    }

    [Test]
    public void Rfb320_on_xnnpack_is_not_split_because_convolutions_follow_its_unsupported_Concat()
    {
        // XNNPACK has no Concat kernel, and the RFB module concatenates its branches before a 1x1 conv.
        using Model original = LoadRfb();
        ConversionResult result = ModelConverter.Convert(original, TargetProfile.BuiltIn("xnnpack"));
        using Model converted = result.Model;
        var ex = Assert.Throws<UnsupportedOperatorException>(() => PostprocessSplit.Split(converted, result.Remaining))!;
        Assert.That(ex.Message, Does.StartWith("The unsupported nodes are not a post-processing tail: Conv ").And.Contain("runs after the unsupported Concat"));
        Assert.That(ex.OpType, Is.EqualTo("Concat"));
    }

    /// <summary>x → Conv a → Exp e → Mul(e, s) m → y; a → Relu r → z.</summary>
    private static Model ExpTail()
    {
        var m = new Model(13);
        Graph g = m.Graph;
        var rng = new Random(3);
        Value x = g.AddInput("x", new TensorType(DataType.Float, TensorShape.Of([1, 4, 5, 5])));
        float[] w = [.. Enumerable.Range(0, 16).Select(_ => (float)(rng.NextDouble() - 0.5))];
        Node a = g.AddNode("Conv", [x, g.AddInitializer("w", Tensor.Create<float>([4, 4, 1, 1], w))], ["a"], "a");
        Node e = g.AddNode("Exp", [a.Outputs[0]], ["e"], "e");
        Node mul = g.AddNode("Mul", [e.Outputs[0], g.AddInitializer("s", Tensor.Create<float>([], [0.5f]))], ["y"], "m");
        Node r = g.AddNode("Relu", [a.Outputs[0]], ["z"], "r");
        g.SetOutputs([mul.Outputs[0]!, r.Outputs[0]!]);
        return m;
    }

    [Test]
    public void The_tail_model_takes_the_cut_tensor_and_produces_the_outputs_after_it()
    {
        using Model m = ExpTail();
        TargetProfile coreml = TargetProfile.BuiltIn("ort-coreml-neuralnetwork");
        ProfileReport report = ProfileChecker.Check(m.Graph, coreml);
        Assert.That(report.Unsupported.Select(v => v.Name), Is.EqualTo(new[] { "e" }));

        using PostprocessSplitResult split = PostprocessSplit.Split(m, report)!;
        Assert.That(split.CutTensors, Is.EqualTo(new[] { "a" }));
        Assert.That(split.TailNodes, Is.EqualTo(new[] { "Exp 'e'", "Mul 'm'" }));
        Assert.That(split.Main.Graph.Outputs.Select(o => o.Name), Is.EqualTo(new[] { "z", "a" }));
        Assert.That(split.Main.Graph.Nodes.Select(n => n.Name), Is.EquivalentTo(new[] { "a", "r" }));
        Assert.That(split.Main.Graph.Initializers.Select(v => v.Name), Is.EqualTo(new[] { "w" }), "the tail's scale stays with the tail");
        Assert.That(split.Post.Graph.Inputs.Select(o => o.Name), Is.EqualTo(new[] { "a" }));
        Assert.That(split.Post.Graph.Inputs[0].DeclaredType!.ToString(), Is.EqualTo("float[1,4,5,5]"));
        Assert.That(split.Post.Graph.Outputs.Select(o => o.Name), Is.EqualTo(new[] { "y" }));
        Assert.That(split.Post.Graph.Nodes.Select(n => n.Name), Is.EquivalentTo(new[] { "e", "m" }));
        Assert.That(m.Graph.NodeCount, Is.EqualTo(4), "the input model is not changed");

        IReadOnlyDictionary<string, TensorData> inputs = Numerics.Inputs(m);
        using var runner = new OrtRunner(m);
        IReadOnlyDictionary<string, TensorData> reference = runner.Run(inputs);
        Dictionary<string, TensorData> pair = RunPair(split, inputs);
        foreach (string name in new[] { "y", "z" })
        {
            Assert.That(ParityMetrics.Compare(reference[name], pair[name]).MaxAbsError, Is.Zero, name + ": the split is exact");
        }

        using Model stitched = PostprocessSplit.Stitch(split.Main, split.Post, split.Outputs);
        Assert.That(stitched.Graph.Outputs.Select(o => o.Name), Is.EqualTo(new[] { "y", "z" }));
        Assert.That(stitched.Graph.Inputs.Select(o => o.Name), Is.EqualTo(new[] { "x" }));
        using var stitchedRunner = new OrtRunner(stitched);
        IReadOnlyDictionary<string, TensorData> again = stitchedRunner.Run(inputs);
        Assert.That(ParityMetrics.Compare(reference["y"], again["y"]).MaxAbsError, Is.Zero);
    }

    [Test]
    public void Every_node_supported_means_nothing_to_cut()
    {
        using Model m = ExpTail();
        ProfileReport report = ProfileChecker.Check(m.Graph, TargetProfile.BuiltIn("tflite-builtins"));
        Assert.That(report.AllSupported, Is.True);
        Assert.That(PostprocessSplit.Split(m, report), Is.Null);
    }

    [Test]
    public void Does_not_split_when_a_convolution_runs_after_the_unsupported_node()
    {
        // x → Conv a → GAP g → Conv c → Clip(0, 1) u (refused by NNAPI) → Mul(a, u) → Conv d: a gate inside the network.
        var m = new Model(13);
        Graph g = m.Graph;
        Value W(string name) => g.AddInitializer(name, Tensor.Create<float>([8, 8, 1, 1], new float[64]));
        Value x = g.AddInput("x", new TensorType(DataType.Float, TensorShape.Of([1, 8, 8, 8])));
        Node a = g.AddNode("Conv", [x, W("wa")], ["a"], "a");
        Node gap = g.AddNode("GlobalAveragePool", [a.Outputs[0]], ["g"], "g");
        Node c = g.AddNode("Conv", [gap.Outputs[0], W("wc")], ["c"], "c");
        Node u = g.AddNode("Clip", [c.Outputs[0], g.AddInitializer("lo", Tensor.Create<float>([], [0f])), g.AddInitializer("hi", Tensor.Create<float>([], [1f]))], ["u"], "u");
        Node mul = g.AddNode("Mul", [a.Outputs[0], u.Outputs[0]], ["m"], "m");
        Node d = g.AddNode("Conv", [mul.Outputs[0], W("wd")], ["d"], "d");
        g.SetOutputs([d.Outputs[0]!]);
        using (m)
        {
            ProfileReport report = ProfileChecker.Check(g, TargetProfile.BuiltIn("ort-nnapi"));
            var ex = Assert.Throws<UnsupportedOperatorException>(() => PostprocessSplit.Split(m, report))!;
            Assert.That(ex.Message, Is.EqualTo("The unsupported nodes are not a post-processing tail: Conv 'd' (4,096 MACs) runs after the unsupported Clip 'u'; "
                + "only a tail without convolutions or matrix products can be cut off to run on the CPU."));
            Assert.That((ex.NodeName, ex.OpType), Is.EqualTo(("u", "Clip")));
        }
    }
}
