using ModelBridge.Profiles;
using ModelBridge.Rewriting;

namespace ModelBridge.Tests.Profiles;

/// <summary><see cref="ProfileChecker.CheckNode(Node, TargetProfile, ModelBridge.Shapes.ShapeInferenceResult?)"/> and <see cref="ProfileChecker.CheckCandidate"/>.</summary>
[TestFixture]
public sealed class CandidateCheckTests
{
    private static TargetProfile Nnapi => TargetProfile.BuiltIn("ort-nnapi");

    /// <summary>x [dims] → HardSigmoid → y.</summary>
    private static Model HardSigmoid(params long[] dims)
    {
        var m = new Model(13);
        Value x = m.Graph.AddInput("x", TinyGraph.Float(dims.Length == 0 ? [1, 8, 4, 4] : dims));
        Node n = m.Graph.AddNode("HardSigmoid", [x], ["y"], name: "hs");
        m.Graph.SetOutputs([n.Outputs[0]!]);
        return m;
    }

    /// <summary>Clip(α·x + β, lo, hi) built through the rewriter.</summary>
    private static Func<GraphRewriter, Node, Value> ClampedAffine(float lo, float hi) => (r, n) =>
    {
        Value scaled = r.CreateNode("Mul", [n.Inputs[0], r.CreateInitializer("alpha", Tensor.Create<float>([], [0.2f]))], "scale").Outputs[0]!;
        Value shifted = r.CreateNode("Add", [scaled, r.CreateInitializer("beta", Tensor.Create<float>([], [0.5f]))], "shift").Outputs[0]!;
        return r.CreateNode("Clip", [shifted, r.CreateInitializer("lo", Tensor.Create<float>([], [lo])), r.CreateInitializer("hi", Tensor.Create<float>([], [hi]))], "clip").Outputs[0]!;
    };

    [Test]
    public void CheckNode_gives_the_verdict_Check_gives()
    {
        using Model m = HardSigmoid();
        NodeVerdict alone = ProfileChecker.CheckNode(m.Graph.Nodes.Single(), Nnapi);
        NodeVerdict inReport = ProfileChecker.Check(m.Graph, Nnapi).Nodes.Single();
        Assert.That(alone.Supported, Is.False);
        Assert.That(alone.Reasons, Is.EqualTo(inReport.Reasons));
    }

    [Test]
    public void A_candidate_is_judged_by_its_constant_values_not_just_its_op_names()
    {
        using Model m = HardSigmoid();
        Node root = m.Graph.Nodes.Single();
        CandidateVerdict clip01 = ProfileChecker.CheckCandidate(m.Graph, root, Nnapi, ClampedAffine(0, 1));
        CandidateVerdict clip11 = ProfileChecker.CheckCandidate(m.Graph, root, Nnapi, ClampedAffine(-1, 1));
        Assert.That(clip01.Nodes.Select(v => v.OpType), Is.EqualTo(new[] { "Mul", "Add", "Clip" }));
        Assert.That(clip01.Accepted, Is.False);
        Assert.That(clip01.Refused.Single().Reasons.Single().Constraint, Is.EqualTo("clipBounds"));
        Assert.That(clip01.Describe(), Is.EqualTo("Clip refused: [clipBounds] Clip(0, 1); ort-nnapi runs only Clip(0, 6) or (-1, 1)"));
        Assert.That(clip11.Accepted, Is.True);
        Assert.That(clip11.Describe(), Is.EqualTo("accepted"));
    }

    [Test]
    public void A_candidate_sees_the_real_input_shape()
    {
        using Model m = HardSigmoid(1, 2, 3, 4, 5);
        CandidateVerdict v = ProfileChecker.CheckCandidate(m.Graph, m.Graph.Nodes.Single(), Nnapi, ClampedAffine(-1, 1));
        Assert.That(v.Refused.Select(n => n.OpType), Is.EqualTo(new[] { "Mul", "Add" }), "NNAPI's binary ops take rank 4 at most");
        Assert.That(v.Refused[0].Reasons.Single().Message, Does.Contain("'x' has rank 5"));
    }

    [Test]
    public void A_candidate_leaves_the_real_graph_alone()
    {
        using Model m = HardSigmoid();
        string before = GraphPrinter.Print(m.Graph);
        long version = m.Graph.Version;
        ProfileChecker.CheckCandidate(m.Graph, m.Graph.Nodes.Single(), Nnapi, ClampedAffine(0, 1), "lower-hardsigmoid");
        Assert.That(GraphPrinter.Print(m.Graph), Is.EqualTo(before));
        Assert.That(m.Graph.Version, Is.EqualTo(version));
    }

    [Test]
    public void Created_nodes_are_named_as_the_real_rewrite_would_name_them()
    {
        using Model m = HardSigmoid();
        CandidateVerdict v = ProfileChecker.CheckCandidate(m.Graph, m.Graph.Nodes.Single(), Nnapi, ClampedAffine(0, 1), "lower-hardsigmoid");
        Assert.That(v.Nodes.Select(n => n.Name), Is.EqualTo(new[] { "hs/lower-hardsigmoid/scale", "hs/lower-hardsigmoid/shift", "hs" }));
    }

    [Test]
    public void Declared_ops_are_enforced()
    {
        using Model m = HardSigmoid();
        Assert.That(() => ProfileChecker.CheckCandidate(m.Graph, m.Graph.Nodes.Single(), Nnapi, ClampedAffine(0, 1), declaredOps: ["Mul", "Add"]),
            Throws.InvalidOperationException.With.Message.Contains("Clip"));
    }

    [Test]
    public void A_clip_with_no_upper_bound_is_not_relu6()
    {
        // An absent max is +inf; it must not match the 6 of (0, 6) through a relative tolerance.
        using var t = new TinyGraph();
        Value x = t.Input("x", 1, 8, 4, 4);
        t.Add("Clip", [x, t.Scalar("lo", 0)], TinyGraph.Float(1, 8, 4, 4), "clip");
        NodeVerdict v = ProfileChecker.Check(t.Graph, Nnapi).Find("clip")!;
        Assert.That(v.Reasons.Single().Message, Is.EqualTo("Clip(0, +inf); ort-nnapi runs only Clip(0, 6) or (-1, 1)"));
    }
}
