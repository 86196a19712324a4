using ModelBridge.Ir;
using ModelBridge.Shapes;

namespace ModelBridge.Costs;

/// <summary>How <see cref="NodeScopes"/> derived a graph's scopes.</summary>
public enum ScopeSource
{
    /// <summary>From node names with <c>/</c> paths (PyTorch 1.13+ exports: <c>/backbone/features/3/Conv</c>).</summary>
    NodeNames,

    /// <summary>From dotted weight names (<c>base_net.5.0.weight</c> → <c>/base_net/5/0</c>); weightless nodes join their producer's scope.</summary>
    WeightNames,

    /// <summary>From the output stride of each node (<c>/stride8</c>), for graphs whose names carry no hierarchy.</summary>
    OutputStride,
}

/// <summary>
/// The scope path of every node of a graph, for <c>profile --by scope</c>. Exporters differ: PyTorch
/// 1.13 names nodes <c>/backbone/conv1/Conv</c>; PyTorch 1.2 leaves nodes unnamed but names weights
/// <c>base_net.0.0.weight</c>; Paddle2ONNX names nodes <c>p2o.Conv.30</c> and weights
/// <c>conv2d_419.w_0</c>, with no hierarchy at all. The first source that carries a hierarchy is used.
/// </summary>
/// <remarks>
/// For flat graphs the scope is the resolution a node works at, as an output stride relative to the
/// (first) image input: a CNN's stages (<c>/stride2</c> … <c>/stride32</c>) and a detector's
/// neck and heads fall into groups that say where the multiply-accumulates go. Nodes whose output
/// stride is not known (no static shapes: pin the input size) fall into <see cref="CostReport.RootScope"/>.
/// The second level of a stride scope is the operator (<c>/stride8/Conv</c>).
/// </remarks>
public sealed class NodeScopes
{
    private readonly Dictionary<Node, string[]> _paths;

    private NodeScopes(Dictionary<Node, string[]> paths, ScopeSource source)
    {
        _paths = paths;
        Source = source;
    }

    /// <summary>Where the scopes come from.</summary>
    public ScopeSource Source { get; }

    /// <summary>The scope path of <paramref name="node"/> (empty for the root scope).</summary>
    public IReadOnlyList<string> PathOf(Node node) => _paths.TryGetValue(node, out string[]? p) ? p : [];

    /// <summary>The scope of <paramref name="node"/> cut at <paramref name="depth"/> levels: <c>/a/b</c>, or <see cref="CostReport.RootScope"/>.</summary>
    public string ScopeOf(Node node, int depth)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(depth, 1);
        IReadOnlyList<string> path = PathOf(node);
        int take = Math.Min(depth, path.Count);
        return take == 0 ? CostReport.RootScope : "/" + string.Join('/', path.Take(take));
    }

    /// <summary>Derives the scopes of every node of <paramref name="graph"/>.</summary>
    /// <param name="graph">The graph.</param>
    /// <param name="shapes">Its shape facts (for output strides); <see cref="Graph.Shapes"/> when null.</param>
    public static NodeScopes Compute(Graph graph, ShapeInferenceResult? shapes = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        IReadOnlyList<Node> order = graph.TopologicalOrder();
        if (order.Any(n => n.Name.Contains('/', StringComparison.Ordinal)))
        {
            return new NodeScopes(order.ToDictionary(n => n, n => FromNodeName(n.Name)), ScopeSource.NodeNames);
        }
        var fromWeights = new Dictionary<Node, string[]>();
        int weighted = 0, hierarchical = 0;
        foreach (Node n in order)
        {
            string[]? path = FromWeights(n, ref weighted, ref hierarchical);
            fromWeights[n] = path ?? InheritFromProducer(n, fromWeights);
        }
        if (weighted > 0 && hierarchical * 2 >= weighted)
        {
            return new NodeScopes(fromWeights, ScopeSource.WeightNames);
        }
        shapes ??= graph.Shapes;
        long[]? image = graph.Inputs
            .Where(v => !Constants.IsConstant(v))
            .Select(shapes.StaticDimsOf)
            .FirstOrDefault(d => d is { Length: 4 } && d[2] > 0 && d[3] > 0);
        var byStride = new Dictionary<Node, string[]>();
        foreach (Node n in order)
        {
            byStride[n] = FromStride(n, image, shapes) ?? InheritFromProducer(n, byStride, withOp: true);
        }
        return new NodeScopes(byStride, ScopeSource.OutputStride);
    }

    private static string[] FromNodeName(string name)
    {
        string[] parts = name.Split('/', StringSplitOptions.RemoveEmptyEntries);
        return parts.Length <= 1 ? [] : parts[..^1];
    }

    /// <summary>The module path of the node's first hierarchical weight (<c>a.b.c.weight</c> → <c>a/b/c</c>), or null.</summary>
    private static string[]? FromWeights(Node node, ref int weighted, ref int hierarchical)
    {
        bool any = false;
        foreach (Value? input in node.Inputs.Skip(1))
        {
            if (Constants.WeightSource(input) is not { } w)
            {
                continue;
            }
            any = true;
            string[] parts = w.Name.Split('.', StringSplitOptions.RemoveEmptyEntries);
            // Module paths have at least two levels before the parameter's own name (base_net.5.weight);
            // Paddle's conv2d_419.w_0 is one layer name and a parameter suffix: no hierarchy.
            if (parts.Length >= 3)
            {
                weighted++;
                hierarchical++;
                return parts[..^1];
            }
        }
        if (any)
        {
            weighted++;
        }
        return null;
    }

    private static string[] InheritFromProducer(Node node, Dictionary<Node, string[]> known, bool withOp = false)
    {
        foreach (Value? input in node.Inputs)
        {
            if (input?.Producer is { } p && known.TryGetValue(p, out string[]? path) && path.Length > 0)
            {
                return withOp ? [path[0], node.OpType] : path;
            }
        }
        return [];
    }

    /// <summary>
    /// <c>[stride{S}, op]</c> for a node whose output is a feature map (rank 4, at least 2×2) at 1/S of the
    /// image's resolution; null otherwise (a global pool's 1×1 output, a vector, a shape tensor), so
    /// the node joins its producer's stage.
    /// </summary>
    private static string[]? FromStride(Node node, long[]? image, ShapeInferenceResult shapes)
    {
        if (image is null || node.Outputs.FirstOrDefault(o => o is not null) is not { } output
            || shapes.StaticDimsOf(output) is not { Length: 4 } y || y[2] < 2 || y[3] < 2)
        {
            return null;
        }
        if (image[2] % y[2] != 0 || image[3] % y[3] != 0)
        {
            return null;
        }
        long stride = Math.Max(image[2] / y[2], image[3] / y[3]);
        return [$"stride{stride}", node.OpType];
    }
}
