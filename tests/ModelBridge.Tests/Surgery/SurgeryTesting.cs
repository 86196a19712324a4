using ModelBridge.Rewriting;
using ModelBridge.Shapes;
using ModelBridge.Verify;

namespace ModelBridge.Tests.Surgery;

/// <summary>Models and checks shared by the output-surgery tests.</summary>
internal static class SurgeryTesting
{
    public static string[] Detectors => ["retinanet_mbv2_gn_op11", "retinanet_mbv2_gn_op13", "retinanet_mbv2_gn_op17", "retinanet_resnet_bn_op13", "fcos_gn_op13"];

    public static string[] RetinaNets => ["retinanet_mbv2_gn_op13", "retinanet_resnet_bn_op13"];

    public static Model Fixture(string name) => Model.Load(Path.Combine(TestPaths.Fixtures, name, "model.onnx"));

    /// <summary>
    /// A two-level detector with shared heads: x → conv → f3 → conv/2 → f4; cls_p{3,4} = Conv(f, Wc[A·K=6,4,1,1]),
    /// box_p{3,4} = Conv(f, Wb[A·4=8,4,1,1]) (A = 2, K = 3), each head weight shared by both levels.
    /// </summary>
    /// <param name="clsChannels">Channels of the cls head (6 = A·K).</param>
    /// <param name="boxThroughReshape">Route box_p3 through a Reshape, as exported decoders do.</param>
    /// <param name="extra">Add a non-head output 'features'.</param>
    public static Model TinyDetector(int clsChannels = 6, bool boxThroughReshape = false, bool extra = false)
    {
        var m = new Model(13);
        Graph g = m.Graph;
        var rng = new Random(5);
        Tensor T(params long[] dims)
        {
            int n = (int)dims.Aggregate(1L, (a, b) => a * b);
            return Tensor.Create<float>(dims, [.. Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1))]);
        }
        TensorType F(params long[] dims) => new(DataType.Float, TensorShape.Of(dims));
        Value x = g.AddInput("image", F(1, 3, 8, 8));
        Node c3 = g.AddNode("Conv", [x, g.AddInitializer("fpn.p3.weight", T(4, 3, 3, 3))], ["/fpn/p3/Conv_output_0"], name: "/fpn/p3/Conv");
        c3.SetInts("pads", [1, 1, 1, 1]);
        Node f3 = g.AddNode("Relu", [c3.Outputs[0]], ["/fpn/p3/Relu_output_0"], name: "/fpn/p3/Relu");
        Node c4 = g.AddNode("Conv", [f3.Outputs[0], g.AddInitializer("fpn.p4.weight", T(4, 4, 3, 3))], ["/fpn/p4/Conv_output_0"], name: "/fpn/p4/Conv");
        c4.SetInts("pads", [1, 1, 1, 1]);
        c4.SetInts("strides", [2, 2]);
        Node f4 = g.AddNode("Relu", [c4.Outputs[0]], ["/fpn/p4/Relu_output_0"], name: "/fpn/p4/Relu");
        Value wc = g.AddInitializer("head.cls.weight", T(clsChannels, 4, 1, 1)), bc = g.AddInitializer("head.cls.bias", T(clsChannels));
        Value wb = g.AddInitializer("head.box.weight", T(8, 4, 1, 1)), bb = g.AddInitializer("head.box.bias", T(8));
        var outs = new List<Value>();
        foreach (var (level, f, size) in new[] { (3, f3, 8L), (4, f4, 4L) })
        {
            string suffix = level == 3 ? string.Empty : "_1";
            Node cls = g.AddNode("Conv", [f.Outputs[0], wc, bc], [$"cls_p{level}"], name: $"/head/cls{suffix}/Conv");
            cls.Outputs[0]!.DeclaredType = F(1, clsChannels, size, size);
            outs.Add(cls.Outputs[0]!);
        }
        foreach (var (level, f, size) in new[] { (3, f3, 8L), (4, f4, 4L) })
        {
            string suffix = level == 3 ? string.Empty : "_1";
            bool reshape = boxThroughReshape && level == 3;
            Node box = g.AddNode("Conv", [f.Outputs[0], wb, bb], [reshape ? "/head/box/Conv_output_0" : $"box_p{level}"], name: $"/head/box{suffix}/Conv");
            Value y = box.Outputs[0]!;
            y.DeclaredType = F(1, 8, size, size);
            if (reshape)
            {
                y = g.AddNode("Reshape", [y, g.AddInitializer("box_shape", Tensor.Create<long>([3], [1, 4, -1]))], ["box_p3"], name: "/head/box/Reshape").Outputs[0]!;
                y.DeclaredType = F(1, 4, 2 * size * size);
            }
            outs.Add(y);
        }
        if (extra)
        {
            outs.Add(g.AddNode("GlobalAveragePool", [f4.Outputs[0]], ["features"], name: "/pool/GlobalAveragePool").Outputs[0]!);
        }
        g.SetOutputs(outs);
        return m;
    }

    /// <summary>Seeded inputs of <paramref name="original"/>, by name.</summary>
    public static IReadOnlyDictionary<string, TensorData> Inputs(Model original) => Numerics.Inputs(original);

    /// <summary>
    /// Runs both models in ORT on the same inputs and asserts that every output of
    /// <paramref name="rewritten"/> is bit-identical to the original output the tensor map names
    /// (to its channel slice when the map records one), or within <paramref name="contract"/> when given.
    /// </summary>
    public static void AssertOutputsEqualOriginals(Model original, Model rewritten, ProvenanceMap map, NumericContract? contract = null)
    {
        var inputs = Inputs(original);
        var expected = Numerics.Run(original, inputs);
        var renamedInputs = rewritten.Graph.Inputs.Where(v => v.Initializer is null)
            .ToDictionary(v => v.Name, v => inputs[map.Get(v.Name)?.Original ?? v.Name]);
        var actual = Numerics.Run(rewritten, renamedInputs);
        Assert.That(actual.Keys, Is.EquivalentTo(rewritten.Graph.Outputs.Select(o => o.Name)));
        foreach (var (name, value) in actual)
        {
            TensorOrigin origin = map.Get(name) ?? throw new AssertionException($"'{name}' is not in the tensor map");
            TensorData reference = expected[origin.Original!];
            if (origin.Slice is { } s)
            {
                reference = SliceChannels(reference, s.Axis, s.Indices);
            }
            Numerics.AssertClose($"{name} (original {origin.Original})", reference, value, contract ?? NumericContract.Exact);
        }
    }

    /// <summary>The given indices of <paramref name="t"/> along <paramref name="axis"/>, computed independently of the passes.</summary>
    public static TensorData SliceChannels(TensorData t, int axis, IReadOnlyList<long> indices)
    {
        long outer = t.Dims.Take(axis).Aggregate(1L, (a, b) => a * b);
        long inner = t.Dims.Skip(axis + 1).Aggregate(1L, (a, b) => a * b);
        long c = t.Dims[axis];
        int size = DataTypes.BitsPerElement(t.ElementType) / 8;
        ReadOnlySpan<byte> src = t.Bytes.Span;
        byte[] dst = new byte[outer * indices.Count * inner * size];
        int o = 0;
        for (long n = 0; n < outer; n++)
        {
            foreach (long k in indices)
            {
                src.Slice((int)(((n * c) + k) * inner * size), (int)(inner * size)).CopyTo(dst.AsSpan(o));
                o += (int)(inner * size);
            }
        }
        long[] dims = [.. t.Dims];
        dims[axis] = indices.Count;
        return TensorData.FromBytes(t.ElementType, dims, dst);
    }

    /// <summary>
    /// Multiply-accumulates of every Conv: N·Cout·Hout·Wout·(Cin/group)·Kh·Kw, from shapes after
    /// shape inference (on a copy).
    /// </summary>
    public static long ConvMacs(Model model)
    {
        ShapeInferenceResult shapes = ShapeInference.Run(model.Graph);
        long macs = 0;
        foreach (Node n in model.Graph.Nodes.Where(n => n.OpType == "Conv"))
        {
            Assert.That(shapes.ShapeOf(n.Outputs[0])?.TryGetStatic(out _), Is.True, $"static shape of {n}");
            shapes.ShapeOf(n.Outputs[0])!.TryGetStatic(out long[] y);
            long[] w = shapes.StaticDimsOf(n.Inputs[1])!;
            macs += y.Aggregate(1L, (a, b) => a * b) * w.Skip(1).Aggregate(1L, (a, b) => a * b);
        }
        return macs;
    }

    /// <summary>Nodes reachable backwards from <paramref name="roots"/> (found by walking producers).</summary>
    public static HashSet<Node> Ancestors(IEnumerable<Value> roots)
    {
        var seen = new HashSet<Node>();
        var stack = new Stack<Value>(roots);
        while (stack.TryPop(out Value? v))
        {
            if (v.Producer is not { } p || !seen.Add(p))
            {
                continue;
            }
            foreach (Value? i in p.Inputs.Concat(p.ImplicitInputs))
            {
                if (i is not null)
                {
                    stack.Push(i);
                }
            }
        }
        return seen;
    }
}
