using System.Globalization;
using System.Text.Json.Serialization;
using ModelBridge.Ir;

namespace ModelBridge.Costs;

/// <summary>The cost of one node (see <see cref="CostModel"/> for the conventions).</summary>
public sealed record NodeCost
{
    internal NodeCost(Node node, long? macs, long? ops, long parameters, IReadOnlyList<string> parameterTensors, long? activationBytes)
    {
        Node = node;
        Macs = macs;
        Ops = ops;
        Parameters = parameters;
        ParameterTensors = parameterTensors;
        ActivationBytes = activationBytes;
    }

    /// <summary>The node.</summary>
    [JsonIgnore]
    public Node Node { get; }

    /// <summary>Node name.</summary>
    public string Name => NodeNaming.NameOf(Node);

    /// <summary>Operator type (prefixed with <c>domain::</c> outside the default domain).</summary>
    public string OpType => Node.IsStandardDomain ? Node.OpType : $"{Node.Domain}::{Node.OpType}";

    /// <summary>Multiply-accumulates (0 for operators that do none); null when a needed shape is unknown.</summary>
    public long? Macs { get; }

    /// <summary>Non-MAC arithmetic, one per element; null when a needed shape is unknown.</summary>
    public long? Ops { get; }

    /// <summary>Initializer elements the node reads (each tensor once).</summary>
    public long Parameters { get; }

    /// <summary>Names of the initializers counted in <see cref="Parameters"/>.</summary>
    public IReadOnlyList<string> ParameterTensors { get; }

    /// <summary>Bytes of all outputs; null when an output's type or shape is unknown.</summary>
    public long? ActivationBytes { get; }

    /// <summary>True when any of <see cref="Macs"/>, <see cref="Ops"/>, <see cref="ActivationBytes"/> is unknown.</summary>
    public bool HasUnknown => Macs is null || Ops is null || ActivationBytes is null;
}

/// <summary>Costs summed over a group of nodes (a scope, an op type, or a single node).</summary>
/// <param name="Key">The scope (<c>/backbone</c>), op type or node name.</param>
/// <param name="NodeCount">Nodes in the group.</param>
/// <param name="Macs">Known MACs of the group.</param>
/// <param name="Ops">Known non-MAC ops of the group.</param>
/// <param name="Parameters">Elements of the distinct initializers read in the group.</param>
/// <param name="ActivationBytes">Known output bytes of the group.</param>
/// <param name="NodesWithUnknownCost">Nodes whose MACs, ops or bytes could not be computed.</param>
public sealed record CostGroup(string Key, int NodeCount, long Macs, long Ops, long Parameters, long ActivationBytes, int NodesWithUnknownCost);

/// <summary>How <see cref="CostReport.Group(CostGrouping, int)"/> groups nodes.</summary>
public enum CostGrouping
{
    /// <summary>By node-name scope (<c>/backbone</c>, <c>/fpn</c>, <c>/head</c>, ...).</summary>
    Scope,

    /// <summary>By operator type.</summary>
    Op,

    /// <summary>One group per node.</summary>
    Node,
}

/// <summary>Per-node costs of a graph, with totals and groupings.</summary>
public sealed class CostReport
{
    /// <summary>The group that holds nodes whose name has no <c>/</c> scope.</summary>
    public const string RootScope = "(root)";

    private readonly IReadOnlyDictionary<string, long> _tensorSizes;

    internal CostReport(IReadOnlyList<NodeCost> nodes, IReadOnlyDictionary<string, long> tensorSizes, NodeScopes scopes)
    {
        Nodes = nodes;
        _tensorSizes = tensorSizes;
        Scopes = scopes;
        Total = Sum("(total)", nodes);
    }

    /// <summary>Every node's cost, in topological order.</summary>
    public IReadOnlyList<NodeCost> Nodes { get; }

    /// <summary>The whole graph as one group.</summary>
    public CostGroup Total { get; }

    /// <summary>The scope of every node, as <see cref="CostGrouping.Scope"/> groups them.</summary>
    public NodeScopes Scopes { get; }

    /// <summary>Known MACs of the whole graph.</summary>
    public long TotalMacs => Total.Macs;

    /// <summary>Nodes whose MACs, ops or bytes could not be computed for lack of shapes.</summary>
    public int NodesWithUnknownCost => Total.NodesWithUnknownCost;

    /// <summary>Groups the nodes; scopes are cut at <paramref name="depth"/> path segments.</summary>
    /// <returns>Groups ordered by MACs (then ops, then key), largest first; <see cref="CostGrouping.Node"/> keeps topological order.</returns>
    public IReadOnlyList<CostGroup> Group(CostGrouping by, int depth = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(depth, 1);
        if (by == CostGrouping.Node)
        {
            return [.. Nodes.Select(n => Sum(n.Name, [n]))];
        }
        Func<NodeCost, string> key = by == CostGrouping.Scope ? n => Scopes.ScopeOf(n.Node, depth) : n => n.OpType;
        return [.. Nodes.GroupBy(key, StringComparer.Ordinal)
            .Select(g => Sum(g.Key, [.. g]))
            .OrderByDescending(g => g.Macs).ThenByDescending(g => g.Ops).ThenBy(g => g.Key, StringComparer.Ordinal)];
    }

    /// <summary>
    /// The scope of a node name at <paramref name="depth"/>: the first <paramref name="depth"/> segments of its
    /// <c>/</c>-separated path, excluding the last segment (the node's own name). <c>/head/cls/conv.0/Conv</c> is
    /// <c>/head</c> at depth 1 and <c>/head/cls</c> at depth 2; a name without a scope goes to <see cref="RootScope"/>.
    /// </summary>
    public static string ScopeOf(string nodeName, int depth)
    {
        ArgumentNullException.ThrowIfNull(nodeName);
        ArgumentOutOfRangeException.ThrowIfLessThan(depth, 1);
        string[] parts = nodeName.Split('/', StringSplitOptions.RemoveEmptyEntries);
        int take = Math.Min(depth, parts.Length - 1);
        return take <= 0 ? RootScope : "/" + string.Join('/', parts.Take(take));
    }

    private CostGroup Sum(string key, IReadOnlyList<NodeCost> nodes)
    {
        long macs = 0, ops = 0, bytes = 0;
        int unknown = 0;
        var tensors = new HashSet<string>(StringComparer.Ordinal);
        foreach (NodeCost n in nodes)
        {
            macs += n.Macs ?? 0;
            ops += n.Ops ?? 0;
            bytes += n.ActivationBytes ?? 0;
            unknown += n.HasUnknown ? 1 : 0;
            tensors.UnionWith(n.ParameterTensors);
        }
        long parameters = tensors.Sum(t => _tensorSizes[t]);
        return new CostGroup(key, nodes.Count, macs, ops, parameters, bytes, unknown);
    }

    /// <inheritdoc/>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Nodes.Count} nodes, {TotalMacs} MACs, {Total.Parameters} parameters");
}
