using ModelBridge.Costs;
using ModelBridge.Ir;
using ModelBridge.Shapes;

namespace ModelBridge.Profiles;

/// <summary>
/// Checks every node of a graph against a <see cref="TargetProfile"/> and estimates how the graph would
/// be partitioned between the target and the CPU (<c>ProfileChecker.Partition.cs</c>).
/// </summary>
/// <remarks>
/// <para>Every constraint of a node's profile entry is evaluated and every broken one is reported (the
/// check does not stop at the first). Shapes and element types are read from the shape facts
/// (<see cref="ShapeInferenceResult"/>), inferred with default options unless given. A constraint that needs a type or shape that is not known is listed
/// in <see cref="NodeVerdict.Unchecked"/> and does not make the node unsupported. A value whose type is
/// known but whose dims are symbolic breaks <c>staticShapes</c>.</para>
/// <para>Like ONNX Runtime, <c>Constant</c> nodes count as initializers: they are not checked, and their
/// outputs satisfy <c>constantInputs</c>. <c>dataTypes</c> looks at input 0, as ONNX Runtime's op
/// builders do by default.</para>
/// </remarks>
public static partial class ProfileChecker
{
    /// <summary>Checks <paramref name="graph"/> against <paramref name="profile"/>.</summary>
    /// <param name="graph">The graph.</param>
    /// <param name="profile">The target.</param>
    /// <param name="shapes">The graph's shape facts (e.g. inferred with pinned dims); <see cref="Graph.Shapes"/> when null.</param>
    public static ProfileReport Check(Graph graph, TargetProfile profile, ShapeInferenceResult? shapes = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(profile);
        shapes ??= graph.Shapes;
        CostReport costs = CostModel.Compute(graph, shapes);
        var verdicts = new List<NodeVerdict>();
        foreach (Node node in graph.TopologicalOrder())
        {
            if (node is { OpType: "Constant", IsStandardDomain: true })
            {
                continue;
            }
            verdicts.Add(CheckNode(graph, node, profile, shapes));
        }
        return new ProfileReport(profile.Name, verdicts, Partition(verdicts, costs, profile.Fallback, shapes));
    }

    private static NodeVerdict CheckNode(Graph graph, Node node, TargetProfile profile, ShapeInferenceResult shapes)
    {
        var ctx = new Context(graph, node, profile, shapes);
        string key = TargetProfile.Key(node.Domain, node.OpType);
        OpConstraints? c = profile.Find(node.Domain, node.OpType);
        if (c is null)
        {
            string domain = node.IsStandardDomain ? "ai.onnx" : node.Domain;
            string why = profile.UnsupportedOps.TryGetValue(key, out string? r) ? $": {r}" : ".";
            ctx.Fail("op", $"{profile.Name} has no {node.OpType} operator (domain {domain}){why}");
            return ctx.Verdict(null);
        }
        CheckOpset(ctx, c);
        CheckConstantInputs(ctx, c);
        CheckRank(ctx, c);
        CheckKernel(ctx, c);
        CheckGroups(ctx, c);
        CheckPads(ctx, c);
        CheckResize(ctx, c);
        CheckAxes(ctx, c);
        CheckTypesAndShapes(ctx, c);
        CheckClip(ctx, c);
        CheckAttributes(ctx, c);
        return ctx.Verdict(c.Note);
    }

    /// <summary>Collects the reasons for one node.</summary>
    private sealed class Context(Graph graph, Node node, TargetProfile profile, ShapeInferenceResult shapes)
    {
        public ShapeInferenceResult Shapes { get; } = shapes;

        private readonly List<ConstraintViolation> _reasons = [];
        private readonly List<string> _unchecked = [];

        public Graph Graph { get; } = graph;

        public Node Node { get; } = node;

        public string Target { get; } = profile.Name;

        public void Fail(string constraint, string message) => _reasons.Add(new ConstraintViolation(constraint, message));

        public void Unchecked(string constraint) => _unchecked.Add(constraint);

        public NodeVerdict Verdict(string? note) => new(Node, _reasons, _unchecked, _reasons.Count > 0 ? note : null);
    }
}
