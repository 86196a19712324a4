using ModelBridge.Passes;
using ModelBridge.Profiles;
using ModelBridge.Rewriting;
using ModelBridge.Verify;

namespace ModelBridge.Tests.Passes;

/// <summary>One-node graphs and ORT checks shared by the activation-lowering tests.</summary>
internal static class ActivationModels
{
    /// <summary>A graph holding one <see cref="Op"/> node named <c>/act/{Op}</c> on input <c>x</c>, output <c>y</c>.</summary>
    /// <param name="Op">Root operator.</param>
    /// <param name="Opset">Default-domain opset.</param>
    internal sealed record Sample(string Op, long Opset = 17)
    {
        /// <summary>Dims of x; <see cref="SymbolicBatch"/> makes the first symbolic.</summary>
        public long[] Shape { get; init; } = [1, 8, 4, 4];

        /// <summary>The first dim of x is the symbol N.</summary>
        public bool SymbolicBatch { get; init; }

        /// <summary>Attributes of the node.</summary>
        public AttributeValue[] Attributes { get; init; } = [];

        /// <summary>Inputs after x (constants or further graph inputs), created in the graph.</summary>
        public Func<Graph, Value?[]>? Extra { get; init; }

        /// <summary>A short description for test names and messages.</summary>
        public string Label { get; init; } = "";

        public Model Build()
        {
            var m = new Model(Opset);
            Graph g = m.Graph;
            TensorShape shape = SymbolicBatch
                ? new TensorShape([Dim.Sym("N"), .. Shape.Skip(1).Select(d => (Dim)d)])
                : TensorShape.Of(Shape);
            Value x = g.AddInput("x", new TensorType(DataType.Float, shape));
            Value?[] extra = Extra?.Invoke(g) ?? [];
            Node n = g.AddNode(Op, [x, .. extra], ["y"], name: "/act/" + Op, attributes: Attributes);
            g.SetOutputs([n.Outputs[0]!]);
            return m;
        }

        public override string ToString() => Label.Length > 0 ? Label : $"{Op}@{Opset}";
    }

    /// <summary>A float scalar initializer.</summary>
    public static Value Scalar(Graph g, string name, float v) => g.AddInitializer(name, Tensor.Create<float>([], [v]));

    /// <summary>
    /// About 60,000 inputs that probe rounding: uniform in [−10, 10], normal with σ = 4, ±1,000 float neighbours of
    /// each <paramref name="breakpoints"/> value, magnitudes from 1e−30 to 1e30, and ±0.
    /// </summary>
    public static float[] ProbeData(params float[] breakpoints)
    {
        var rng = new Random(7);
        var list = new List<float>();
        for (int i = 0; i < 30000; i++)
        {
            list.Add((float)(rng.NextDouble() * 20 - 10));
        }
        for (int i = 0; i < 15000; i++)
        {
            double u1 = 1 - rng.NextDouble(), u2 = rng.NextDouble();
            list.Add((float)(4 * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2)));
        }
        foreach (float c in breakpoints.Append(0f))
        {
            float up = c, down = c;
            for (int k = 0; k < 1000; k++)
            {
                list.Add(up = MathF.BitIncrement(up));
                list.Add(down = MathF.BitDecrement(down));
            }
        }
        for (int i = 0; i < 8000; i++)
        {
            list.Add((float)((rng.NextDouble() * 2 - 1) * Math.Pow(10, rng.Next(-30, 31))));
        }
        list.AddRange([0f, -0f, 1f, -1f]);
        return [.. list];
    }

    /// <summary>The lowering's root node in <paramref name="m"/>.</summary>
    public static Node Root(Model m, string op) => m.Graph.Nodes.Single(n => n.OpType == op);

    /// <summary>Replaces the root with <paramref name="form"/> through an ad-hoc rewrite (forcing a form the target might not choose).</summary>
    public static void ApplyForm(Model m, string rootOp, LoweringForm form)
    {
        Node root = Root(m, rootOp);
        GraphRewriter.Edit(m.Graph, "form-" + form.Name, r =>
        {
            Value v = form.Build(r, root);
            r.Replace(root.Outputs[0]!, v);
            r.EraseIfUnused([root]);
        });
    }

    /// <summary>
    /// Builds <paramref name="form"/> in place of the root of <paramref name="sample"/> (with x one-dimensional,
    /// fed <paramref name="data"/>), checks it creates only the form's declared operators, and compares it in ORT
    /// with the root operator against the form's own contract (bit for bit when exact).
    /// </summary>
    public static void AssertFormMeetsContract(Sample sample, LoweringForm form, float[] data)
    {
        Sample flat = sample with { Shape = [data.Length], SymbolicBatch = false };
        using Model original = flat.Build();
        using Model lowered = flat.Build();
        ApplyForm(lowered, sample.Op, form);
        Assert.That(lowered.Graph.Nodes.Select(n => n.OpType).Distinct(), Is.SubsetOf(form.Ops), $"{form.Name} creates only its declared ops");
        var inputs = new Dictionary<string, TensorData> { ["x"] = TensorData.Create<float>([data.Length], data) };
        TensorData expected = Numerics.Run(original, inputs)["y"];
        TensorData actual = Numerics.Run(lowered, inputs)["y"];
        ParityMetrics c = ParityMetrics.Compare(expected, actual);
        TestContext.Out.WriteLine($"{sample} {form.Name} ({form.Numerics}): max |diff| {c.MaxAbsError:G3}, bit-identical {expected.Equals(actual)}");
        Numerics.AssertClose($"{sample} as {form.Name}", expected, actual, form.Numerics);
    }

    /// <summary>Runs <paramref name="pass"/> (after shape inference) and returns the result.</summary>
    public static PipelineResult Run(Model m, Pass pass, IReadOnlyDictionary<string, long>? dims = null)
    {
        var options = new PipelineOptions { Shapes = new ModelBridge.Shapes.ShapeInferenceOptions { DimOverrides = dims ?? new Dictionary<string, long>() } };
        return new Pipeline([pass]).Run(m, options);
    }

    /// <summary>Runs <paramref name="pass"/> twice: the second run matches nothing and leaves the graph as the first left it.</summary>
    public static void AssertIdempotent(Model m, Pass pass)
    {
        Run(m, pass);
        string once = Print(m);
        Assert.That(Run(m, pass).Statistics[0].Matches, Is.Zero, "second run matched");
        Assert.That(Print(m), Is.EqualTo(once));
    }

    /// <summary>The form each rewrite of the run chose.</summary>
    public static IReadOnlyList<LoweringChoice> Choices(PipelineResult r) => [.. r.Statistics.SelectMany(s => s.Notes).OfType<LoweringChoice>()];

    /// <summary>Operator types in topological order.</summary>
    public static string[] Ops(Model m) => [.. m.Graph.TopologicalOrder().Select(n => n.OpType)];

    /// <summary>A profile read from JSON text (for targets the built-in ones do not describe).</summary>
    public static TargetProfile Profile(string json)
    {
        using var s = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(json));
        return TargetProfile.Load(s, "test-profile");
    }

    /// <summary>A minimal profile called <c>test</c> listing <paramref name="ops"/> (JSON object members).</summary>
    public static TargetProfile ProfileWith(string ops) => Profile(
        $$"""{ "name": "test", "description": "test", "sources": [{ "title": "t", "url": "u" }], "tolerance": { "rtol": 0, "atol": 0 }, "ops": { {{ops}} } }""");

    /// <summary>The golden text of a lowered sample.</summary>
    public static string Print(Model m) => GraphPrinter.Print(m.Graph, ModelBridge.Shapes.ShapeInference.Run(m.Graph));
}
