using System.Text.Json.Serialization;
using ModelBridge.Ir;

namespace ModelBridge.Profiles;

/// <summary>One broken constraint: which one, and what the node has that the target does not accept.</summary>
/// <param name="Constraint">The profile key that is broken (<c>minOpset</c>, <c>groupPolicy</c>, ...), or <c>op</c> for an operator the target does not list.</param>
/// <param name="Message">The value found and what the target accepts.</param>
public sealed record ConstraintViolation(string Constraint, string Message)
{
    /// <inheritdoc/>
    public override string ToString() => $"[{Constraint}] {Message}";
}

/// <summary>The verdict on one node.</summary>
public sealed record NodeVerdict
{
    internal NodeVerdict(Node node, IReadOnlyList<ConstraintViolation> reasons, IReadOnlyList<string> uncheckedConstraints, string? note)
    {
        Node = node;
        Reasons = reasons;
        Unchecked = uncheckedConstraints;
        Note = note;
    }

    /// <summary>The node.</summary>
    [JsonIgnore]
    public Node Node { get; }

    /// <summary>Node name.</summary>
    public string Name => NodeNaming.NameOf(Node);

    /// <summary>Operator type (<c>domain::Type</c> outside the default domain).</summary>
    public string OpType => TargetProfile.Key(Node.Domain, Node.OpType);

    /// <summary>True when no constraint is broken.</summary>
    public bool Supported => Reasons.Count == 0;

    /// <summary>Every broken constraint (empty when supported).</summary>
    public IReadOnlyList<ConstraintViolation> Reasons { get; }

    /// <summary>Constraints that could not be evaluated because a type or shape is unknown (run shape inference).</summary>
    public IReadOnlyList<string> Unchecked { get; }

    /// <summary>The profile's note for this operator, shown with the reasons.</summary>
    public string? Note { get; }
}

/// <summary>
/// How the graph would split between the target and a fallback: islands are connected components of
/// supported nodes, joined by data edges between two supported nodes (each island is one delegated
/// partition, and every boundary a copy/layout change).
/// </summary>
/// <param name="Islands">Number of islands of supported nodes.</param>
/// <param name="SupportedNodes">Supported nodes.</param>
/// <param name="CheckedNodes">Nodes checked (every live node except <c>Constant</c>s, which runtimes fold into initializers).</param>
/// <param name="NodeShare">SupportedNodes / CheckedNodes (1 for an empty graph).</param>
/// <param name="MacsOnTarget">Known MACs of supported nodes.</param>
/// <param name="TotalMacs">Known MACs of all checked nodes.</param>
/// <param name="MacShare">MacsOnTarget / TotalMacs (1 when there are no known MACs).</param>
/// <param name="NodesWithUnknownMacs">Nodes left out of the MAC share because their shapes are unknown.</param>
public sealed record PartitionEstimate(int Islands, int SupportedNodes, int CheckedNodes, double NodeShare, long MacsOnTarget, long TotalMacs,
    double MacShare, int NodesWithUnknownMacs);

/// <summary>The result of <see cref="ProfileChecker.Check"/>: a verdict per node and the partition estimate.</summary>
public sealed class ProfileReport
{
    internal ProfileReport(string target, IReadOnlyList<NodeVerdict> nodes, PartitionEstimate partition)
    {
        Target = target;
        Nodes = nodes;
        Partition = partition;
    }

    /// <summary>The profile's name.</summary>
    public string Target { get; }

    /// <summary>Verdicts of the checked nodes, in topological order.</summary>
    public IReadOnlyList<NodeVerdict> Nodes { get; }

    /// <summary>The nodes with at least one broken constraint.</summary>
    public IReadOnlyList<NodeVerdict> Unsupported => [.. Nodes.Where(n => !n.Supported)];

    /// <summary>True when every checked node is supported.</summary>
    public bool AllSupported => Nodes.All(n => n.Supported);

    /// <summary>Nodes with at least one constraint left unchecked for lack of shapes.</summary>
    public int NodesWithUncheckedConstraints => Nodes.Count(n => n.Unchecked.Count > 0);

    /// <summary>The partition estimate.</summary>
    public PartitionEstimate Partition { get; }

    /// <summary>The verdict of the node called <paramref name="name"/>, or null.</summary>
    public NodeVerdict? Find(string name) => Nodes.FirstOrDefault(n => n.Name == name);
}
