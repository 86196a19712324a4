using ModelBridge.Passes;
using ModelBridge.Profiles;
using ModelBridge.Rewriting;
using static ModelBridge.Tests.Passes.ActivationModels;

namespace ModelBridge.Tests.Passes;

/// <summary>
/// Issue 14, item 5: every target-aware lowering (<see cref="Pipeline.TargetLowerings"/>) against every built-in
/// profile (and two stricter synthetic ones): on small graphs rooted at its op, in several shapes, every node it
/// creates passes <see cref="ProfileChecker"/> on the real graph, or it did not apply and said why.
/// </summary>
[TestFixture]
public sealed class TargetLoweringMatrixTests
{
    /// <summary>Root graphs per lowering id. A lowering added to <see cref="Pipeline.TargetLowerings"/> must add its roots here.</summary>
    private static readonly Dictionary<string, Sample[]> Roots = new(StringComparer.Ordinal)
    {
        ["lower-hardswish"] = [new("HardSwish", 17)],
        ["lower-hardsigmoid"] =
        [
            new("HardSigmoid", 17) { Attributes = [Attr.Float("alpha", 0.2f), Attr.Float("beta", 0.5f)], Label = "HardSigmoid(0.2, 0.5)@17" },
            new("HardSigmoid", 9) { Attributes = [Attr.Float("alpha", 1f / 6f), Attr.Float("beta", 0.5f)], Label = "HardSigmoid(1/6, 0.5)@9" },
        ],
        ["lower-leakyrelu"] =
        [
            new("LeakyRelu", 17) { Attributes = [Attr.Float("alpha", 0.1f)], Label = "LeakyRelu(0.1)" },
            new("LeakyRelu", 17) { Attributes = [Attr.Float("alpha", 1.5f)], Label = "LeakyRelu(1.5)" },
            new("LeakyRelu", 17) { Attributes = [Attr.Float("alpha", -0.3f)], Label = "LeakyRelu(-0.3)" },
        ],
        ["lower-prelu"] =
        [
            new("PRelu", 17) { Extra = g => [g.AddInitializer("slope", Tensor.Create<float>([1], [0.25f]))], Label = "PRelu([0.25])" },
            new("PRelu", 17) { Extra = g => [g.AddInitializer("slope", Tensor.Create<float>([8], [0, 0.1f, 0.2f, 0.3f, 0.5f, 0.7f, 0.9f, 1]))], Label = "PRelu(8 slopes in [0, 1])" },
            new("PRelu", 17) { Extra = g => [g.AddInitializer("slope", Tensor.Create<float>([8], [-1, 0.1f, 0.2f, 0.3f, 0.5f, 0.7f, 2, 1]))], Label = "PRelu(8 mixed slopes)" },
            new("PRelu", 17) { Extra = g => [g.AddInput("slope", new TensorType(DataType.Float, TensorShape.Of(8)))], Label = "PRelu(run-time slope)" },
        ],
        ["lower-gelu"] =
        [
            new("Gelu", 20) { Label = "Gelu(none)" },
            new("Gelu", 20) { Attributes = [Attr.String("approximate", "tanh")], Label = "Gelu(tanh)" },
        ],
        ["lower-clip"] =
        [
            new("Clip", 13) { Extra = g => [Scalar(g, "lo", 0), Scalar(g, "hi", 1)], Label = "Clip(0, 1)@13" },
            new("Clip", 9) { Attributes = [Attr.Float("min", 0), Attr.Float("max", 1)], Label = "Clip(0, 1)@9" },
            new("Clip", 13) { Extra = g => [Scalar(g, "lo", -2), Scalar(g, "hi", 2)], Label = "Clip(-2, 2)" },
            new("Clip", 13) { Extra = g => [Scalar(g, "lo", 0), Scalar(g, "hi", 6)], Label = "Clip(0, 6)" },
            new("Clip", 13) { Extra = g => [Scalar(g, "lo", 0), null], Label = "Clip(0, )" },
            new("Clip", 13)
            {
                Extra = g => [g.AddInput("lo", new TensorType(DataType.Float, TensorShape.Of())), g.AddInput("hi", new TensorType(DataType.Float, TensorShape.Of()))],
                Label = "Clip(run-time bounds)",
            },
        ],
    };

    /// <summary>Shapes of x: the last dim is 8 so per-channel slopes broadcast. The symbolic one is N×4×4×8.</summary>
    private static readonly (string Name, long[] Dims, bool Symbolic)[] Shapes =
    [
        ("rank 4", [1, 4, 4, 8], false),
        ("rank 2", [4, 8], false),
        ("rank 5", [1, 2, 3, 4, 8], false),
        ("symbolic", [1, 4, 4, 8], true),
    ];

    /// <summary>Stricter than any built-in profile, so the fallback forms get exercised too.</summary>
    private static readonly Dictionary<string, string> Synthetic = new(StringComparer.Ordinal)
    {
        ["strict-clip"] = """
            { "name": "strict-clip", "description": "Clip only as ReLU6, no HardSigmoid/HardSwish/LeakyRelu/PRelu/Erf", "sources": [{ "title": "test", "url": "test" }],
              "tolerance": { "rtol": 0, "atol": 0 }, "defaults": { "dataTypes": ["float"], "staticShapes": true, "maxRank": 4 },
              "ops": { "Mul": {}, "Add": {}, "Div": {}, "Relu": {}, "Tanh": {}, "Max": { "minOpset": 8 }, "Min": { "minOpset": 8 }, "Clip": { "clipBounds": [[0, 6]], "constantInputs": [1, 2] } } }
            """,
        ["relu6-only"] = """
            { "name": "relu6-only", "description": "Mul, Add, Div and Clip(0, 6) only", "sources": [{ "title": "test", "url": "test" }],
              "tolerance": { "rtol": 0, "atol": 0 }, "ops": { "Mul": {}, "Add": {}, "Div": {}, "Clip": { "clipBounds": [[0, 6]] } } }
            """,
    };

    private static IEnumerable<string> ProfileNames() => TargetProfile.BuiltInNames.Concat(Synthetic.Keys);

    private static TargetProfile Resolve(string name) => Synthetic.TryGetValue(name, out string? json) ? Profile(json) : TargetProfile.BuiltIn(name);

    private static IEnumerable<TestCaseData> Cases() =>
        from profile in ProfileNames()
        from pass in Pipeline.TargetLowerings(Resolve(profile))
        select new TestCaseData(pass.Id, profile).SetArgDisplayNames(pass.Id, profile);

    [Test]
    public void Every_target_lowering_has_roots_to_try()
    {
        foreach (string profile in ProfileNames())
        {
            Assert.That(Pipeline.TargetLowerings(Resolve(profile)).Select(p => p.Id), Is.EquivalentTo(Roots.Keys), profile);
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void Every_created_node_is_accepted_by_the_target_or_the_lowering_says_why(string id, string profileName)
    {
        TargetProfile profile = Resolve(profileName);
        var outcomes = new List<string>();
        Assert.Multiple(() =>
        {
            foreach (Sample root in Roots[id])
            {
                foreach (var (shapeName, dims, symbolic) in Shapes)
                {
                    Sample sample = root with { Shape = dims, SymbolicBatch = symbolic };
                    string label = $"{id} on {profileName}, {root}, {shapeName}";
                    outcomes.Add($"{label}: {Check(sample, Pipeline.TargetLowerings(profile).Single(p => p.Id == id), profile, label, numerics: shapeName == "rank 4")}");
                }
            }
        });
        foreach (string o in outcomes)
        {
            TestContext.Out.WriteLine(o);
        }
    }

    /// <summary>Runs the lowering on one sample and checks the outcome; returns a one-line summary.</summary>
    private static string Check(Sample sample, Pass pass, TargetProfile profile, string label, bool numerics)
    {
        using Model m = sample.Build();
        using Model original = sample.Build();
        var before = m.Graph.Nodes.ToHashSet();
        NodeVerdict rootVerdict = ProfileChecker.CheckNode(Root(m, sample.Op), profile);
        PipelineResult r = new Pipeline([pass]).Run(m);
        PassStatistics stats = r.Statistics.Single();
        if (stats.Matches == 0)
        {
            string reason = stats.FailureSamples.SingleOrDefault() ?? "";
            Assert.That(reason, Does.Contain(profile.Name), $"{label}: a lowering that does not apply says why, naming the target");
            if (reason.Contains("as it is", StringComparison.Ordinal))
            {
                Assert.That(rootVerdict.Supported, Is.True, $"{label}: it claims the target accepts the root");
                return "kept (accepted as it is)";
            }
            Assert.That(rootVerdict.Supported, Is.False, $"{label}: only refused nodes are lowered");
            Assert.That(reason, Does.Contain("no form of"), label);
            return "not lowered: " + reason[(reason.IndexOf(": ", StringComparison.Ordinal) + 2)..];
        }
        var created = m.Graph.Nodes.Where(n => !before.Contains(n)).ToList();
        Assert.That(created, Is.Not.Empty, label);
        Assert.That(m.Graph.Nodes.Count(n => n.OpType == sample.Op && before.Contains(n)), Is.Zero, $"{label}: the root was replaced");
        foreach (Node n in created)
        {
            NodeVerdict v = ProfileChecker.CheckNode(n, profile);
            Assert.That(v.Supported, Is.True, $"{label}: created {n} is refused: {string.Join("; ", v.Reasons)}");
        }
        LoweringChoice choice = r.Statistics.SelectMany(s => s.Notes).OfType<LoweringChoice>().Single();
        if (numerics)
        {
            Numerics.AssertMeetsContract(original, m, choice.Numerics);
        }
        return $"{choice.Form} ({string.Join(", ", created.Select(n => n.OpType))}; {choice.Numerics})";
    }
}
