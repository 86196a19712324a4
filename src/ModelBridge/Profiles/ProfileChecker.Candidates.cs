using ModelBridge.Ir;
using ModelBridge.Rewriting;
using ModelBridge.Shapes;

namespace ModelBridge.Profiles;

/// <summary>
/// What a target says about the nodes a rewrite would create (<see cref="ProfileChecker.CheckCandidate"/>):
/// the verdict on each, in the order they would run.
/// </summary>
/// <param name="Nodes">Verdicts on the created nodes (their names are those the rewrite gives them).</param>
public sealed record CandidateVerdict(IReadOnlyList<NodeVerdict> Nodes)
{
    /// <summary>True when the target accepts every created node.</summary>
    public bool Accepted => Nodes.All(n => n.Supported);

    /// <summary>The created nodes the target refuses.</summary>
    public IReadOnlyList<NodeVerdict> Refused => [.. Nodes.Where(n => !n.Supported)];

    /// <summary>
    /// One line naming each refused node by operator and the constraints it breaks, e.g.
    /// <c>Clip refused: [clipBounds] Clip(0, 1); ort-nnapi runs only Clip(0, 6) or (-1, 1)</c>.
    /// </summary>
    public string Describe() => Accepted
        ? "accepted"
        : string.Join("; ", Refused.Select(v => $"{v.OpType} refused: {string.Join(", ", v.Reasons)}"));
}

/// <remarks>
/// This file holds the checks a rewrite makes before it commits: one node of a graph
/// (<see cref="CheckNode(Node, TargetProfile, ShapeInferenceResult?)"/>), and the nodes a rewrite would create,
/// built in a scratch graph (<see cref="CheckCandidate"/>).
/// </remarks>
public static partial class ProfileChecker
{
    /// <summary>
    /// The verdict of <paramref name="profile"/> on one node, with every constraint it breaks (the same checks
    /// as <see cref="Check"/>).
    /// </summary>
    /// <param name="node">A live node.</param>
    /// <param name="profile">The target.</param>
    /// <param name="shapes">Shape facts of the node's graph; <see cref="Graph.Shapes"/> when null.</param>
    public static NodeVerdict CheckNode(Node node, TargetProfile profile, ShapeInferenceResult? shapes = null)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(profile);
        return CheckNode(node.Graph, node, profile, shapes ?? node.Graph.Shapes);
    }

    /// <summary>
    /// Checks what a rewrite would create at <paramref name="root"/> before it creates anything:
    /// <paramref name="build"/> runs against a scratch graph holding a copy of <paramref name="root"/> whose
    /// inputs mirror the real ones (a constant keeps its payload, any other input becomes a graph input of its
    /// inferred type and shape), its result replaces the copy's output 0, and every node it created is checked
    /// against <paramref name="profile"/> with shapes inferred in the scratch graph. The real graph is not touched.
    /// </summary>
    /// <remarks>
    /// Because the scratch inputs carry the real types, shapes and constants, every per-node constraint
    /// (operators, opsets, constant inputs and their values such as Clip bounds, ranks, element types, static
    /// shapes) is judged as it would be in the real graph. Constraints that depend on neighbours (fusion with a
    /// producer) are not constraints of a profile and are not judged here either.
    /// </remarks>
    /// <param name="graph">The graph the rewrite would run on (read-only; its shape facts give the input types).</param>
    /// <param name="root">The node the rewrite replaces.</param>
    /// <param name="profile">The target.</param>
    /// <param name="build">Creates the replacement through the rewriter (given the copy of the root) and returns the value that stands for its output 0.</param>
    /// <param name="passId">Names the created nodes (<c>{root}/{passId}/{role}</c>) as the real rewrite would.</param>
    /// <param name="declaredOps">When given, the only operators <paramref name="build"/> may create.</param>
    /// <exception cref="InvalidOperationException"><paramref name="build"/> creates an operator outside <paramref name="declaredOps"/>.</exception>
    public static CandidateVerdict CheckCandidate(IReadOnlyGraph graph, Node root, TargetProfile profile, Func<GraphRewriter, Node, Value> build,
        string passId = "candidate", IReadOnlyList<string>? declaredOps = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(build);
        ArgumentException.ThrowIfNullOrEmpty(passId);
        if (root.Output(0) is null)
        {
            throw new ArgumentException($"{root} has no output 0 to replace.", nameof(root));
        }
        using Model model = new(graph.OpsetVersion("") ?? ShapeInference.DefaultOpset);
        if (!root.IsStandardDomain && graph.OpsetVersion(root.Domain) is long custom)
        {
            model.SetOpsetVersion(root.Domain, custom);
        }
        Graph scratch = model.Graph;
        var mirrored = new Dictionary<Value, Value>();
        Value? Mirror(Value? v)
        {
            if (v is null)
            {
                return null;
            }
            if (!mirrored.TryGetValue(v, out Value? m))
            {
                // A constant keeps its payload (Clip bounds, slopes are judged by value); anything else is run-time data.
                m = Constants.Of(v) is { } t ? scratch.AddInitializer(v.Name, t) : scratch.AddInput(v.Name, graph.Shapes.TypeOf(v));
                mirrored[v] = m;
            }
            return m;
        }
        Value?[] inputs = [.. root.Inputs.Select(Mirror)];
        Node copy = scratch.AddNode(root.OpType, inputs, root.Outputs.Select(o => o?.Name), root.Name, root.Domain, root.Attributes);
        scratch.SetOutputs(copy.Outputs.OfType<Value>());
        GraphRewriter.Edit(scratch, passId, r =>
        {
            r.RootName = root.Name.Length > 0 ? root.Name : root.OpType;
            r.DeclaredOps = declaredOps;
            Value replacement = build(r, copy);
            r.Replace(copy.Outputs[0]!, replacement);
            r.EraseIfUnused([copy]);
        });
        ShapeInferenceResult shapes = ShapeInference.Run(scratch, ShapeInferenceOptions.Default with { Lenient = true });
        return new CandidateVerdict([.. scratch.TopologicalOrder()
            .Where(n => n is not { OpType: "Constant", IsStandardDomain: true })
            .Select(n => CheckNode(scratch, n, profile, shapes))]);
    }
}
