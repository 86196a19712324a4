using ModelBridge.Passes;
using ModelBridge.Rewriting;
using ModelBridge.Shapes;

namespace ModelBridge.Tests.Passes;

/// <summary>Single-node Conv and pool models built through the IR, and the checks every conv-lowering test repeats.</summary>
internal static class ConvModels
{
    public sealed record ConvSpec
    {
        public long[] Input { get; init; } = [1, 4, 8, 8];
        public long OutChannels { get; init; } = 6;
        public long[] Kernel { get; init; } = [3, 3];
        public long Group { get; init; } = 1;
        public long[]? Pads { get; init; }
        public long[]? Strides { get; init; }
        public long[]? Dilations { get; init; }
        public string? AutoPad { get; init; }
        public bool Bias { get; init; } = true;
        public long Opset { get; init; } = 13;
        public int Seed { get; init; } = 1;
        public string Name { get; init; } = "/conv/Conv";
    }

    public static Model Conv(ConvSpec s)
    {
        var m = new Model(s.Opset);
        Graph g = m.Graph;
        var rng = new Random(s.Seed);
        Value x = g.AddInput("x", new TensorType(DataType.Float, TensorShape.Of(s.Input)));
        long cinPerGroup = s.Input[1] / s.Group;
        long[] wDims = [s.OutChannels, cinPerGroup, .. s.Kernel];
        Value w = g.AddInitializer("w", Tensor.Create<float>(wDims, Random(rng, wDims.Aggregate(1L, (a, b) => a * b))));
        Value?[] inputs = s.Bias ? [x, w, g.AddInitializer("b", Tensor.Create<float>([s.OutChannels], Random(rng, s.OutChannels)))] : [x, w];
        Node conv = g.AddNode("Conv", inputs, ["y"], name: s.Name);
        conv.SetInts("kernel_shape", s.Kernel);
        if (s.Group != 1)
        {
            conv.SetInt("group", s.Group);
        }
        SetWindow(conv, s.Pads, s.Strides, s.Dilations, s.AutoPad);
        g.SetOutputs([conv.Outputs[0]!]);
        return m;
    }

    public sealed record PoolSpec
    {
        public string Op { get; init; } = "MaxPool";
        public long[] Input { get; init; } = [1, 3, 7, 7];
        public long[] Kernel { get; init; } = [3, 3];
        public long[]? Pads { get; init; }
        public long[]? Strides { get; init; }
        public long[]? Dilations { get; init; }
        public string? AutoPad { get; init; }
        public long CeilMode { get; init; }
        public long CountIncludePad { get; init; }
        public long Opset { get; init; } = 13;
    }

    public static Model Pool(PoolSpec s)
    {
        var m = new Model(s.Opset);
        Graph g = m.Graph;
        Value x = g.AddInput("x", new TensorType(DataType.Float, TensorShape.Of(s.Input)));
        Node pool = g.AddNode(s.Op, [x], ["y"], name: $"/pool/{s.Op}");
        pool.SetInts("kernel_shape", s.Kernel);
        if (s.CeilMode != 0)
        {
            pool.SetInt("ceil_mode", s.CeilMode);
        }
        if (s.Op == "AveragePool" && s.CountIncludePad != 0)
        {
            pool.SetInt("count_include_pad", s.CountIncludePad);
        }
        SetWindow(pool, s.Pads, s.Strides, s.Dilations, s.AutoPad);
        g.SetOutputs([pool.Outputs[0]!]);
        return m;
    }

    private static void SetWindow(Node n, long[]? pads, long[]? strides, long[]? dilations, string? autoPad)
    {
        if (pads is not null)
        {
            n.SetInts("pads", pads);
        }
        if (strides is not null)
        {
            n.SetInts("strides", strides);
        }
        if (dilations is not null)
        {
            n.SetInts("dilations", dilations);
        }
        if (autoPad is not null)
        {
            n.SetString("auto_pad", autoPad);
        }
    }

    public static float[] Random(Random rng, long n) => [.. Enumerable.Range(0, (int)n).Select(_ => (float)(rng.NextDouble() * 2 - 1))];

    /// <summary>Shape inference, then the passes (plus dead-node cleanup) to a fixed point.</summary>
    public static PipelineResult Run(Model m, params Pass[] passes)
    {
        ShapeInference.Run(m.Graph);
        return new Pipeline([.. passes, new EliminateDeadNodes()]).Run(m);
    }

    /// <summary>The factored convolutions' reports (the notes of <see cref="LowerConvToSeparable"/>).</summary>
    public static IReadOnlyList<SeparableReport> Reports(PipelineResult r) => [.. r.Statistics.SelectMany(s => s.Notes).OfType<SeparableReport>()];

    public static int Matches(PipelineResult r, string id) => r.Statistics.Single(s => s.Id == id).Matches;

    public static string[] Ops(Model m) => [.. m.Graph.TopologicalOrder().Select(n => n.OpType)];

    /// <summary>Runs <paramref name="passes"/> on a clone, checks they applied, and compares in ORT against the contract.</summary>
    public static Model AssertNumerics(Model original, params Pass[] passes)
    {
        ShapeInference.Run(original.Graph);
        Model rewritten = original.Clone();
        PipelineResult r = Run(rewritten, passes);
        Assert.That(r.Statistics.Where(s => passes.Any(p => p.Id == s.Id)).Sum(s => s.Matches), Is.GreaterThan(0), "the pass applied");
        NumericContract contract = passes.Select(p => p.Numerics).Aggregate(NumericContract.Exact, (a, b) => a.Then(b));
        Numerics.AssertMeetsContract(original, rewritten, contract);
        return rewritten;
    }

    /// <summary>A second run of the passes changes nothing.</summary>
    public static void AssertIdempotent(Model m, params Pass[] passes)
    {
        Run(m, passes);
        ShapeInference.Run(m.Graph);
        string once = GraphPrinter.Print(m.Graph);
        PipelineResult again = Run(m, passes);
        Assert.That(again.Statistics.Sum(s => s.Matches), Is.Zero, "second run matched");
        Assert.That(GraphPrinter.Print(m.Graph), Is.EqualTo(once));
    }

    /// <summary>The failure reasons the pass gave.</summary>
    public static IReadOnlyList<string> Failures(PipelineResult r, string id) => r.Statistics.Single(s => s.Id == id).FailureSamples;
}
