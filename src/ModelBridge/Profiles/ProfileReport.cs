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

/// <summary>One partition the target's runtime would take: supported nodes it runs together.</summary>
public sealed record AcceleratedPartition
{
    internal AcceleratedPartition(int index, IReadOnlyList<Node> nodes, long macs, int nodesWithUnknownMacs, double macShare)
    {
        Index = index;
        NodeList = nodes;
        Macs = macs;
        NodesWithUnknownMacs = nodesWithUnknownMacs;
        MacShare = macShare;
    }

    /// <summary>Position among the partitions, from 0, in the order the runtime forms them.</summary>
    public int Index { get; }

    /// <summary>The partition's nodes, in the order the runtime takes them.</summary>
    [JsonIgnore]
    public IReadOnlyList<Node> NodeList { get; }

    /// <summary>Names of the partition's nodes.</summary>
    public IReadOnlyList<string> Nodes => [.. NodeList.Select(NodeNaming.NameOf)];

    /// <summary>Known MACs of the partition's nodes.</summary>
    public long Macs { get; }

    /// <summary>This partition's share of the graph's known MACs (0 when the graph has none).</summary>
    public double MacShare { get; }

    /// <summary>Nodes of the partition whose MACs are unknown (shapes not inferred).</summary>
    public int NodesWithUnknownMacs { get; }
}

/// <summary>
/// How the graph would split between the target and the CPU, by ONNX Runtime's partitioning rule
/// (<c>CreateSupportedPartitionNodeGroups</c> in <c>onnxruntime/core/providers/partitioning_utils.cc</c>)
/// and the target's own partition rules (<see cref="CpuFallback"/>).
/// </summary>
/// <remarks>
/// Nodes are taken in topological order in waves; a wave adds supported nodes to the current partition
/// and defers every unsupported node that reads an output of it to the next wave. So no partition is left
/// and re-entered by a path: a squeeze-excitation branch whose unsupported gate feeds a <c>Mul</c> back
/// into the main path ends the partition at the gate, and the <c>Mul</c> starts the next one. Nodes of one
/// partition need not be connected. <c>Constant</c> nodes are not checked: ONNX Runtime turns them into
/// initializers when it loads the model.
/// </remarks>
public sealed record PartitionEstimate
{
    internal PartitionEstimate(IReadOnlyList<AcceleratedPartition> partitions, CpuFallback fallback, int supportedNodes, int checkedNodes,
        long totalMacs, int nodesWithUnknownMacs)
    {
        Partitions = partitions;
        Kind = fallback.Partitioning;
        FallsBackToCpu = fallback.Enabled;
        SupportedNodes = supportedNodes;
        CheckedNodes = checkedNodes;
        AcceleratedNodes = partitions.Sum(p => p.NodeList.Count);
        MacsOnTarget = partitions.Sum(p => p.Macs);
        TotalMacs = totalMacs;
        NodesWithUnknownMacs = nodesWithUnknownMacs;
    }

    /// <summary>The accelerated partitions, in the order the runtime forms them.</summary>
    public IReadOnlyList<AcceleratedPartition> Partitions { get; }

    /// <summary>Number of accelerated partitions.</summary>
    public int Count => Partitions.Count;

    /// <summary>Whether partitions are compiled subgraphs or runs of single-node kernels.</summary>
    public PartitionKind Kind { get; }

    /// <summary>True when the target's runtime runs the other nodes on the CPU (see <see cref="CpuFallback"/>).</summary>
    public bool FallsBackToCpu { get; }

    /// <summary>Nodes with no broken constraint.</summary>
    public int SupportedNodes { get; }

    /// <summary>Nodes in the partitions: supported nodes minus those the partition rules leave on the CPU (stop ops, rejected partitions).</summary>
    public int AcceleratedNodes { get; }

    /// <summary>Nodes checked (every live node except <c>Constant</c>s, which runtimes fold into initializers).</summary>
    public int CheckedNodes { get; }

    /// <summary>AcceleratedNodes / CheckedNodes (1 for an empty graph).</summary>
    public double NodeShare => CheckedNodes == 0 ? 1 : (double)AcceleratedNodes / CheckedNodes;

    /// <summary>Known MACs of the nodes in the partitions.</summary>
    public long MacsOnTarget { get; }

    /// <summary>Known MACs of all checked nodes.</summary>
    public long TotalMacs { get; }

    /// <summary>MacsOnTarget / TotalMacs (1 when there are no known MACs).</summary>
    public double MacShare => TotalMacs == 0 ? 1 : (double)MacsOnTarget / TotalMacs;

    /// <summary>Nodes left out of the MAC share because their shapes are unknown.</summary>
    public int NodesWithUnknownMacs { get; }
}

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
