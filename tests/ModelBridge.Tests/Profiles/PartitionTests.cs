using System.Text;
using ModelBridge.Profiles;
using ModelBridge.Rewriting;
using ModelBridge.Shapes;

namespace ModelBridge.Tests.Profiles;

/// <summary>
/// The partition estimate follows ONNX Runtime's partitioner (CreateSupportedPartitionNodeGroups,
/// onnxruntime/core/providers/partitioning_utils.cc) and each execution provider's own rules. Every
/// expected count below is worked out by hand from that rule, in the comments.
/// </summary>
[TestFixture]
public sealed class PartitionTests
{
    private static TargetProfile Nnapi => TargetProfile.BuiltIn("ort-nnapi");

    private static TargetProfile Custom(string fallback, string ops) => TargetProfile.Load(new MemoryStream(Encoding.UTF8.GetBytes($$"""
        {
          "name": "npu-test", "description": "test", "sources": [{ "title": "t", "url": "about:blank" }],
          "tolerance": { "rtol": 0, "atol": 0 },
          "fallback": {{fallback}},
          "ops": {{ops}}
        }
        """)), "npu-test.json");

    private static string[][] Names(ProfileReport r) => [.. r.Partition.Partitions.Select(p => p.NodeList.Select(n => n.Name).ToArray())];

    /// <summary>A constant 1x1 conv weight.</summary>
    private static Value W(TinyGraph g, string name, long cout, long cin) => g.Weight(name, cout, cin, 1, 1);

    /// <summary>x → conv a → GAP g → conv c → Clip(0, 1) u → Mul(a, u) m → conv d → y: a squeeze-excitation block.</summary>
    private static TinyGraph SqueezeExcitation()
    {
        var g = new TinyGraph();
        Value x = g.Input("x", 1, 8, 8, 8);
        Node a = g.Graph.AddNode("Conv", [x, W(g, "wa", 8, 8)], ["a"], "a");
        Node gap = g.Graph.AddNode("GlobalAveragePool", [a.Outputs[0]], ["g"], "g");
        Node c = g.Graph.AddNode("Conv", [gap.Outputs[0], W(g, "wc", 8, 8)], ["c"], "c");
        Node u = g.Graph.AddNode("Clip", [c.Outputs[0], g.Scalar("lo", 0), g.Scalar("hi", 1)], ["u"], "u");
        Node m = g.Graph.AddNode("Mul", [a.Outputs[0], u.Outputs[0]], ["m"], "m");
        Node d = g.Graph.AddNode("Conv", [m.Outputs[0], W(g, "wd", 8, 8)], ["d"], "d");
        g.Graph.SetOutputs([d.Outputs[0]!]);
        return g;
    }

    [Test]
    public void A_squeeze_excitation_gate_that_is_refused_splits_the_block_where_the_Mul_reenters()
    {
        // Wave 1 takes a, g, c; the refused Clip u reads c (the border), so it waits, and m waits for u.
        // Wave 2 runs u on the CPU and starts a new partition at m. Connected components of supported
        // nodes would say 1 (a feeds m directly), but ORT never builds a partition a path leaves and re-enters.
        using TinyGraph g = SqueezeExcitation();
        ProfileReport r = ProfileChecker.Check(g.Graph, Nnapi);

        Assert.That(r.Unsupported.Select(v => v.Name), Is.EqualTo(new[] { "u" }));
        Assert.That(Names(r), Is.EqualTo(new[] { new[] { "a", "g", "c" }, new[] { "m", "d" } }));
        PartitionEstimate p = r.Partition;
        Assert.That((p.Count, p.AcceleratedNodes, p.CheckedNodes, p.FallsBackToCpu), Is.EqualTo((2, 5, 6, true)));
        // 8x8x8 outputs x 8 input channels for a and d; 8 x 8 for c on the pooled 1x1 map.
        Assert.That(p.Partitions.Select(x => x.Macs), Is.EqualTo(new long[] { 4096 + 64, 4096 }));
        Assert.That(p.MacsOnTarget, Is.EqualTo(p.TotalMacs));
        Assert.That(p.MacShare, Is.EqualTo(1.0));
    }

    [Test]
    public void An_unsupported_side_branch_that_does_not_come_back_leaves_one_partition()
    {
        // x → Relu a → { Clip(0, 1) u → y1 ; Relu b → y2 }: u is deferred, but nothing supported waits for it.
        using var g = new TinyGraph();
        Value x = g.Input("x", 1, 4, 4, 4);
        Node a = g.Graph.AddNode("Relu", [x], ["a"], "a");
        Node u = g.Graph.AddNode("Clip", [a.Outputs[0], g.Scalar("lo", 0), g.Scalar("hi", 1)], ["u"], "u");
        Node b = g.Graph.AddNode("Relu", [a.Outputs[0]], ["b"], "b");
        g.Graph.SetOutputs([u.Outputs[0]!, b.Outputs[0]!]);

        ProfileReport r = ProfileChecker.Check(g.Graph, Nnapi);
        Assert.That(Names(r), Is.EqualTo(new[] { new[] { "a", "b" } }));
    }

    [Test]
    public void A_cpu_node_that_does_not_read_the_partition_runs_in_the_same_wave_and_its_consumer_joins()
    {
        // y → Clip(0, 1) u (refused, but it reads no partition node, so wave 1 runs it);
        // x → Relu a; Add(u, a) m has both producers done in wave 1 and joins a's partition.
        using var g = new TinyGraph();
        Value x = g.Input("x", 1, 4, 4, 4);
        Value y = g.Input("y", 1, 4, 4, 4);
        Node u = g.Graph.AddNode("Clip", [y, g.Scalar("lo", 0), g.Scalar("hi", 1)], ["u"], "u");
        Node a = g.Graph.AddNode("Relu", [x], ["a"], "a");
        Node m = g.Graph.AddNode("Add", [u.Outputs[0], a.Outputs[0]], ["m"], "m");
        g.Graph.SetOutputs([m.Outputs[0]!]);

        ProfileReport r = ProfileChecker.Check(g.Graph, Nnapi);
        Assert.That(Names(r), Is.EqualTo(new[] { new[] { "a", "m" } }));
    }

    [Test]
    public void A_chain_of_refused_nodes_gives_each_supported_run_its_own_partition()
    {
        // Relu a → Clip u1 → Relu b → Clip u2 → Relu c: three waves, three partitions.
        using var g = new TinyGraph();
        Value v = g.Input("x", 1, 4, 4, 4);
        string[] names = ["a", "u1", "b", "u2", "c"];
        foreach (string n in names)
        {
            v = n.StartsWith('u')
                ? g.Graph.AddNode("Clip", [v, g.Scalar(n + "lo", 0), g.Scalar(n + "hi", 1)], [n], n).Outputs[0]!
                : g.Graph.AddNode("Relu", [v], [n], n).Outputs[0]!;
        }
        g.Graph.SetOutputs([v]);

        ProfileReport r = ProfileChecker.Check(g.Graph, Nnapi);
        Assert.That(Names(r), Is.EqualTo(new[] { new[] { "a" }, new[] { "b" }, new[] { "c" } }));
    }

    [Test]
    public void Nnapi_leaves_a_lone_Reshape_on_the_cpu_but_keeps_a_lone_Relu()
    {
        // IsValidSupportedNodeGroup: a partition of one Reshape/Flatten/Identity is only a copy.
        using var g = new TinyGraph();
        Value x = g.Input("x", 1, 8, 2, 2);
        Node reshape = g.Graph.AddNode("Reshape", [x, g.Ints("shape", 1, 32)], ["r"], "r");
        g.Graph.SetOutputs([reshape.Outputs[0]!]);
        ProfileReport r = ProfileChecker.Check(g.Graph, Nnapi);
        Assert.That(r.AllSupported, Is.True);
        Assert.That((r.Partition.Count, r.Partition.SupportedNodes, r.Partition.AcceleratedNodes), Is.EqualTo((0, 1, 0)));

        ProfileReport onCoreMl = ProfileChecker.Check(g.Graph, TargetProfile.BuiltIn("ort-coreml-mlprogram"));
        Assert.That(Names(onCoreMl), Is.EqualTo(new[] { new[] { "r" } }), "CoreML has no such rule");

        using var h = new TinyGraph();
        Node relu = h.Graph.AddNode("Relu", [h.Input("x", 1, 8, 2, 2)], ["a"], "a");
        h.Graph.SetOutputs([relu.Outputs[0]!]);
        Assert.That(ProfileChecker.Check(h.Graph, Nnapi).Partition.Count, Is.EqualTo(1));
    }

    [Test]
    public void Nnapi_drops_a_partition_whose_inputs_are_all_constants()
    {
        // Add(c1, c2) k → Clip(0, 1) u → Mul(x, u) m. Wave 1: {k}, whose inputs are both constant
        // initializers, so NNAPI drops it; wave 2 runs u on the CPU and takes {m}.
        using var g = new TinyGraph();
        Value x = g.Input("x", 1, 4);
        Node k = g.Graph.AddNode("Add", [g.Floats("c1", 1, 2, 3, 4), g.Floats("c2", 4, 3, 2, 1)], ["k"], "k");
        Node u = g.Graph.AddNode("Clip", [k.Outputs[0], g.Scalar("lo", 0), g.Scalar("hi", 1)], ["u"], "u");
        Node m = g.Graph.AddNode("Mul", [x, u.Outputs[0]], ["m"], "m");
        g.Graph.SetOutputs([m.Outputs[0]!]);

        Assert.That(Names(ProfileChecker.Check(g.Graph, Nnapi)), Is.EqualTo(new[] { new[] { "m" } }));
        string ops = """{ "Add": {}, "Mul": {} }""";
        TargetProfile without = Custom("""{ "cpu": true, "sources": [{ "title": "t", "url": "u" }] }""", ops);
        TargetProfile with = Custom("""{ "cpu": true, "rejectConstantOnlyPartitions": true, "sources": [{ "title": "t", "url": "u" }] }""", ops);
        Assert.That(Names(ProfileChecker.Check(g.Graph, without)), Is.EqualTo(new[] { new[] { "k" }, new[] { "m" } }));
        Assert.That(Names(ProfileChecker.Check(g.Graph, with)), Is.EqualTo(new[] { new[] { "m" } }));
    }

    [Test]
    public void A_stop_op_and_everything_downstream_of_it_stay_on_the_cpu()
    {
        // x → Relu a → Sigmoid s → Relu b, with Sigmoid a stop op: s and b are excluded although supported.
        using var g = new TinyGraph();
        Node a = g.Graph.AddNode("Relu", [g.Input("x", 1, 4)], ["a"], "a");
        Node s = g.Graph.AddNode("Sigmoid", [a.Outputs[0]], ["s"], "s");
        Node b = g.Graph.AddNode("Relu", [s.Outputs[0]], ["b"], "b");
        g.Graph.SetOutputs([b.Outputs[0]!]);
        TargetProfile profile = Custom("""{ "cpu": true, "stopOps": ["Sigmoid"], "sources": [{ "title": "t", "url": "u" }] }""", """{ "Relu": {}, "Sigmoid": {} }""");

        ProfileReport r = ProfileChecker.Check(g.Graph, profile);
        Assert.That(r.AllSupported, Is.True);
        Assert.That(Names(r), Is.EqualTo(new[] { new[] { "a" } }));
    }

    [Test]
    public void Edge_nodes_whose_boundary_type_the_runtime_cannot_take_are_peeled_off_repeatedly()
    {
        // x → Relu a → Cast(double) c1 → Cast(float) c2 → Relu b → Cast(double) c3 → y (double).
        // One wave takes all five. y is double: peel c3. b's output is now the boundary (float): keep.
        // Inside, c1's double output is internal, so only the edges are peeled: {a, c1, c2, b}.
        using var g = new TinyGraph();
        Node a = g.Graph.AddNode("Relu", [g.Input("x", 1, 4)], ["a"], "a");
        Node c1 = g.Graph.AddNode("Cast", [a.Outputs[0]], ["c1"], "c1", attributes: [Attr.Int("to", (long)DataType.Double)]);
        Node c2 = g.Graph.AddNode("Cast", [c1.Outputs[0]], ["c2"], "c2", attributes: [Attr.Int("to", (long)DataType.Float)]);
        Node b = g.Graph.AddNode("Relu", [c2.Outputs[0]], ["b"], "b");
        Node c3 = g.Graph.AddNode("Cast", [b.Outputs[0]], ["c3"], "c3", attributes: [Attr.Int("to", (long)DataType.Double)]);
        g.Graph.SetOutputs([c3.Outputs[0]!]);
        TargetProfile profile = Custom("""{ "cpu": true, "boundaryTypes": ["float"], "sources": [{ "title": "t", "url": "u" }] }""", """{ "Relu": {}, "Cast": {} }""");

        Assert.That(Names(ProfileChecker.Check(g.Graph, profile)), Is.EqualTo(new[] { new[] { "a", "c1", "c2", "b" } }));

        // A double graph input peels its reader, then the next reader of a double boundary, and so on.
        using var h = new TinyGraph();
        Value xd = h.Input("x", new TensorType(DataType.Double, TensorShape.Of([1, 4])));
        Node r1 = h.Graph.AddNode("Relu", [xd], ["r1"], "r1");
        Node r2 = h.Graph.AddNode("Relu", [r1.Outputs[0]], ["r2"], "r2");
        Node cf = h.Graph.AddNode("Cast", [r2.Outputs[0]], ["cf"], "cf", attributes: [Attr.Int("to", (long)DataType.Float)]);
        Node r3 = h.Graph.AddNode("Relu", [cf.Outputs[0]], ["r3"], "r3");
        h.Graph.SetOutputs([r3.Outputs[0]!]);
        Assert.That(Names(ProfileChecker.Check(h.Graph, profile)), Is.EqualTo(new[] { new[] { "r3" } }));
    }

    [Test]
    public void Targets_without_a_cpu_fallback_say_so()
    {
        using TinyGraph g = SqueezeExcitation();
        foreach (string name in new[] { "tflite-builtins", "ncnn" })
        {
            Assert.That(ProfileChecker.Check(g.Graph, TargetProfile.BuiltIn(name)).Partition.FallsBackToCpu, Is.False, name);
        }
        Assert.That(ProfileChecker.Check(g.Graph, TargetProfile.BuiltIn("xnnpack")).Partition.Kind, Is.EqualTo(PartitionKind.Nodes));
    }

    [Test]
    public void Ppocr_classifier_on_nnapi_splits_at_each_of_its_nine_refused_squeeze_excitation_gates()
    {
        // fixtures/real/ch_ppocr_mobile_v2.0_cls_infer as downloaded, at PaddleOCR's 1x3x48x192. NNAPI
        // has no HardSigmoid, and each of the 9 sits in an SE branch whose Mul re-enters the main path:
        // partitions 0..9, each after the first starting at that Mul. The head then reads the shape
        // at run time (Shape → Cast → Slice → Cast → Concat → Reshape; Shape, Slice, Concat and a Reshape
        // whose shape is computed are refused): Cast.0 and Cast.1 each wait one wave behind a refused node
        // and form partitions 10 and 11 of their own; MatMul → Add → Softmax is partition 12.
        using Model m = Model.Load(Path.Combine(TestPaths.Fixtures, "real", "ch_ppocr_mobile_v2.0_cls_infer", "model.onnx"));
        Dim[] dims = [.. m.Graph.Inputs[0].DeclaredType!.Shape!.Dims];
        var pins = new Dictionary<string, long> { [dims[0].Symbol!] = 1, [dims[2].Symbol!] = 48, [dims[3].Symbol!] = 192 };
        ShapeInferenceResult shapes = ShapeInference.Run(m.Graph, new ShapeInferenceOptions { DimOverrides = pins });
        ProfileReport r = ProfileChecker.Check(m.Graph, Nnapi, shapes);

        Assert.That(r.Unsupported.Count(v => v.OpType == "HardSigmoid"), Is.EqualTo(9));
        IReadOnlyList<AcceleratedPartition> parts = r.Partition.Partitions;
        Assert.That(parts, Has.Count.EqualTo(13));
        Assert.That(parts.Skip(1).Take(9).Select(p => p.NodeList[0].OpType), Is.All.EqualTo("Mul"));
        Assert.That(parts.Skip(10).Select(p => string.Join(",", p.NodeList.Select(n => n.Name))),
            Is.EqualTo(new[] { "p2o.Cast.0", "p2o.Cast.1", "p2o.MatMul.0,p2o.Add.86,p2o.Softmax.0" }));
        Assert.That(r.Partition.MacsOnTarget, Is.EqualTo(r.Partition.TotalMacs), "every convolution is supported; only the gates are not");
    }
}
