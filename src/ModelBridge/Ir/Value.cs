using ModelBridge.OnnxProto;

namespace ModelBridge.Ir;

/// <summary>One use of a value: the consuming node and the input slot (-1 for a use inside a subgraph).</summary>
/// <param name="Node">The consumer.</param>
/// <param name="InputIndex">Input slot, or -1 when a subgraph of <paramref name="Node"/> captures the value.</param>
public readonly record struct Use(Node Node, int InputIndex)
{
    /// <summary>True when the use is an outer-scope capture by a subgraph (If/Loop/Scan body).</summary>
    public bool IsImplicit => InputIndex < 0;
}

/// <summary>
/// A named SSA value of a graph: a graph input, an initializer, or a node output.
/// </summary>
/// <remarks>The graph keeps <see cref="Producer"/> and <see cref="Uses"/> in sync under every edit.</remarks>
public sealed class Value
{
    internal readonly List<Use> UseList = [];
    private TensorType? _type;

    internal Value(Graph graph, string name)
    {
        Graph = graph;
        Name = name;
    }

    /// <summary>The graph the value belongs to.</summary>
    public Graph Graph { get; }

    /// <summary>The value's name, unique in its graph.</summary>
    public string Name { get; internal set; }

    /// <summary>
    /// The declared element type and shape, when known: as the file declared it (graph input or output,
    /// value_info, initializer payload) or as a pass declared it. Inferred types are facts, not IR
    /// state: ask <see cref="Ir.Graph.Shapes"/> or <see cref="Shapes.ShapeInference.Run"/>.
    /// </summary>
    public TensorType? DeclaredType
    {
        get => _type;
        internal set
        {
            _type = value;
            Graph.MarkChanged();
        }
    }

    /// <summary>The node whose output this is, or null for inputs, initializers and dangling names.</summary>
    public Node? Producer { get; internal set; }

    /// <summary>Which output of <see cref="Producer"/> this is.</summary>
    public int ProducerOutputIndex { get; internal set; } = -1;

    /// <summary>Every place the value is read, in a stable order.</summary>
    public IReadOnlyList<Use> Uses => UseList;

    /// <summary>The constant payload when the value is an initializer.</summary>
    public Tensor? Initializer { get; internal set; }

    /// <summary>True when the value is listed among the graph's inputs.</summary>
    public bool IsGraphInput { get; internal set; }

    /// <summary>True when the value is listed among the graph's outputs.</summary>
    public bool IsGraphOutput { get; internal set; }

    /// <summary>True when the value is constant: a non-overridable initializer or a <c>Constant</c> node's output (see <see cref="Constants"/>).</summary>
    public bool IsConstant => Constants.IsConstant(this);

    /// <summary>The graph-input or value_info entry as loaded, written back as is while the type agrees with it.</summary>
    internal ValueInfoProto? Info { get; set; }

    /// <summary>The graph-output entry as loaded (may differ from <see cref="Info"/>).</summary>
    internal ValueInfoProto? OutputInfo { get; set; }

    /// <inheritdoc/>
    public override string ToString() => DeclaredType is null ? Name : $"{Name}: {DeclaredType}";
}
