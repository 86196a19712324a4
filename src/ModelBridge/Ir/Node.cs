using ModelBridge.OnnxProto;

namespace ModelBridge.Ir;

/// <summary>
/// An operator application in a graph. Inputs and outputs are <see cref="Value"/>s; a missing
/// optional input or output is null (an empty name in ONNX).
/// </summary>
public sealed partial class Node
{
    internal readonly List<Value?> InputList = [];
    internal readonly List<Value?> OutputList = [];
    internal readonly List<Value> ImplicitInputList = [];
    internal readonly List<AttributeValue> AttributeList;

    internal Node(Graph graph, string name, string opType, string domain, IEnumerable<AttributeValue> attributes, NodeProto? template)
    {
        Graph = graph;
        Name = name;
        OpType = opType;
        Domain = domain;
        AttributeList = [.. attributes];
        Template = template;
    }

    /// <summary>The owning graph.</summary>
    public Graph Graph { get; }

    /// <summary>Node name (may be empty in ONNX; unique when set by ModelBridge).</summary>
    public string Name { get; internal set; }

    /// <summary>Operator type, e.g. <c>Conv</c>.</summary>
    public string OpType { get; }

    /// <summary>Operator domain; empty for the default ONNX domain.</summary>
    public string Domain { get; }

    /// <summary>True for the default ONNX domain ("" or "ai.onnx").</summary>
    public bool IsStandardDomain => Domain.Length == 0 || Domain == "ai.onnx";

    /// <summary>Inputs in slot order; null for an omitted optional input.</summary>
    public IReadOnlyList<Value?> Inputs => InputList;

    /// <summary>Outputs in slot order; null for an omitted optional output.</summary>
    public IReadOnlyList<Value?> Outputs => OutputList;

    /// <summary>Outer-scope values read by this node's subgraphs.</summary>
    public IReadOnlyList<Value> ImplicitInputs => ImplicitInputList;

    /// <summary>The node as loaded; carries doc_string, metadata and unknown fields to the output.</summary>
    internal NodeProto? Template { get; }

    /// <summary>Position key for deterministic ordering (see <see cref="Graph.TopologicalOrder"/>).</summary>
    internal double Order { get; set; }

    /// <summary>Insertion counter, the tie-breaker for <see cref="Order"/>.</summary>
    internal long Sequence { get; set; }

    /// <summary>False once the node has been removed from its graph.</summary>
    public bool IsAlive { get; internal set; } = true;

    /// <summary>The input in slot <paramref name="index"/>, or null when absent.</summary>
    public Value? Input(int index) => index < InputList.Count ? InputList[index] : null;

    /// <summary>The output in slot <paramref name="index"/>, or null when absent.</summary>
    public Value? Output(int index) => index < OutputList.Count ? OutputList[index] : null;

    /// <inheritdoc/>
    public override string ToString() => $"{OpType} '{Name}'";
}
