using ModelBridge.OnnxProto;
using ModelBridge.Shapes;

namespace ModelBridge.Ir;

/// <summary>
/// A mutable computation graph with def-use indices: every <see cref="Value"/> knows its producer
/// and its consumers, and every edit made through this class keeps both in sync.
/// </summary>
/// <remarks>
/// Split by concern: this file holds state and lookups, <c>Graph.Mutation.cs</c> the edits,
/// <c>Graph.Order.cs</c> ordering and cycle detection, <c>Graph.Validation.cs</c> the checks.
/// A graph is not thread-safe; different graphs may be used on different threads.
/// </remarks>
public sealed partial class Graph : IReadOnlyGraph
{
    private readonly Dictionary<string, Value> _values = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Node> _nodesByName = new(StringComparer.Ordinal);
    private readonly List<Node> _nodes = [];
    private readonly List<Value> _inputs = [];
    private readonly List<Value> _outputs = [];
    private readonly List<Value> _initializers = [];
    private int _deadNodes;
    private readonly Lock _shapesLock = new();
    private ShapeInferenceResult? _shapes;
    private static readonly ShapeInferenceOptions LenientShapes = new() { Lenient = true };

    /// <summary>value_info entries as loaded, in file order.</summary>
    internal List<(Value Value, ValueInfoProto Info)> ValueInfoOrder { get; } = [];
    private long _sequence;

    internal Graph(Model? model, string name, GraphProto? template)
    {
        Model = model;
        Name = name;
        Template = template;
    }

    /// <summary>Creates an empty graph that belongs to no model (for building tests and snippets).</summary>
    public Graph(string name = "graph")
        : this(null, name, null)
    {
    }

    /// <summary>The model this is the main graph of, if any.</summary>
    public Model? Model { get; internal set; }

    /// <summary>Graph name.</summary>
    public string Name { get; internal set; }

    /// <summary>Incremented on every edit; cached facts (<see cref="Shapes"/>) are recomputed when it moves.</summary>
    public long Version { get; private set; }

    /// <summary>
    /// Shape facts of the graph as it stands, with default options (no pinned dims), leniently (a
    /// malformed node's outputs are unknown, see <see cref="ShapeInferenceOptions.Lenient"/>): computed
    /// on first use after each edit and cached. The graph itself never holds inferred types; see
    /// <see cref="ShapeInference.Run"/> for other options.
    /// </summary>
    public ShapeInferenceResult Shapes
    {
        get
        {
            lock (_shapesLock)
            {
                if (_shapes is null || _shapes.GraphVersion != Version)
                {
                    _shapes = ShapeInference.Run(this, LenientShapes);
                }
                return _shapes;
            }
        }
    }

    /// <summary>The graph as loaded, minus nodes, values and initializers (doc_string, annotations, unknown fields).</summary>
    internal GraphProto? Template { get; }

    /// <summary>Graph inputs in declaration order.</summary>
    public IReadOnlyList<Value> Inputs => _inputs;

    /// <summary>Graph outputs in declaration order.</summary>
    public IReadOnlyList<Value> Outputs => _outputs;

    /// <summary>Initializer values in declaration order.</summary>
    public IReadOnlyList<Value> Initializers => _initializers;

    /// <summary>Live nodes in insertion order (use <see cref="TopologicalOrder"/> for execution order).</summary>
    public IEnumerable<Node> Nodes => _nodes.Where(n => n.IsAlive);

    /// <summary>Number of live nodes.</summary>
    public int NodeCount => _nodes.Count - _deadNodes;

    /// <summary>All values with a name in this graph.</summary>
    public IEnumerable<Value> Values => _values.Values;

    IEnumerable<Node> IReadOnlyGraph.Nodes => Nodes;

    /// <summary>The value called <paramref name="name"/>, or null.</summary>
    public Value? FindValue(string name) => _values.GetValueOrDefault(name);

    /// <summary>The value called <paramref name="name"/>; throws when there is none.</summary>
    public Value GetValue(string name) => FindValue(name) ?? throw new KeyNotFoundException($"Graph '{Name}' has no value named '{name}'.");

    /// <summary>The node called <paramref name="name"/>, or null (unnamed nodes cannot be found this way).</summary>
    public Node? FindNode(string name) => _nodesByName.GetValueOrDefault(name);


    /// <summary>The opset version in force for <paramref name="domain"/>, or null when the model does not import it.</summary>
    public long? OpsetVersion(string domain = "") => Model?.GetOpsetVersion(domain);

    internal void MarkChanged() => Version++;
}

/// <summary>A read-only view of a graph, as pattern matching sees it.</summary>
public interface IReadOnlyGraph
{
    /// <summary>Graph inputs.</summary>
    IReadOnlyList<Value> Inputs { get; }

    /// <summary>Graph outputs.</summary>
    IReadOnlyList<Value> Outputs { get; }

    /// <summary>Live nodes.</summary>
    IEnumerable<Node> Nodes { get; }

    /// <summary>A value by name, or null.</summary>
    Value? FindValue(string name);

    /// <summary>Opset version in force for a domain.</summary>
    long? OpsetVersion(string domain = "");

    /// <summary>Nodes in deterministic topological order.</summary>
    IReadOnlyList<Node> TopologicalOrder();

    /// <summary>
    /// Shape facts of the graph as it stands (recomputed after edits). Inside a pipeline they are
    /// inferred with the conversion's pinned dims.
    /// </summary>
    ShapeInferenceResult Shapes { get; }

    /// <summary>The live node called <paramref name="name"/>, or null.</summary>
    Node? FindNode(string name);
}
