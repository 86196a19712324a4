namespace ModelBridge.Ir;

/// <summary>
/// The names nodes are known by, whatever the exporter did. ONNX allows nodes without a name (PyTorch
/// 1.2 and many converters leave every node unnamed); reports and scopes then need a name that is
/// deterministic and the same everywhere: in <c>check</c> and <c>profile</c> of the original model and
/// in the converted graph, where <see cref="Passes.NameUnnamedNodes"/> writes it.
/// </summary>
public static class NodeNaming
{
    /// <summary>
    /// The node's own name, or, for an unnamed node, one derived from its first output:
    /// <c>{OpType}_{output}</c> (<c>Conv_245</c>). Output names are unique in a graph, so derived names
    /// are too; a node with no output is named by its operator alone.
    /// </summary>
    public static string NameOf(Node node)
    {
        ArgumentNullException.ThrowIfNull(node);
        if (node.Name.Length > 0)
        {
            return node.Name;
        }
        string? output = node.Outputs.FirstOrDefault(o => o is not null)?.Name;
        return output is null ? node.OpType : $"{node.OpType}_{output}";
    }

    /// <summary>
    /// True when <paramref name="scope"/> addresses <paramref name="node"/>: it occurs in the node's name
    /// (<see cref="NameOf"/>), in the name of one of its outputs, or in the name of a constant it reads
    /// (its weights). This is how <c>--lower-to-separable</c> and <c>--slim</c> select layers of models
    /// whose node names carry no scope (<c>/fpn/</c>, <c>p2o.Conv.3</c>, <c>base_net.5</c>,
    /// <c>conv2d_419.w_0</c> all work). An empty scope matches every node.
    /// </summary>
    public static bool Matches(Node node, string scope)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(scope);
        if (scope.Length == 0 || NameOf(node).Contains(scope, StringComparison.Ordinal))
        {
            return true;
        }
        if (node.Outputs.Any(o => o is not null && o.Name.Contains(scope, StringComparison.Ordinal)))
        {
            return true;
        }
        return node.Inputs.Any(i => Constants.WeightSource(i) is { } w && w.Name.Contains(scope, StringComparison.Ordinal));
    }
}
