namespace ModelBridge.Tests.Shapes;

/// <summary>Builds small graphs for shape-inference tests.</summary>
internal sealed class ShapeGraphBuilder : IDisposable
{
    public ShapeGraphBuilder(long opset)
    {
        Model = new Model(opset);
    }

    public Model Model { get; }

    public Graph Graph => Model.Graph;

    /// <summary>A float input; dims are numbers, symbol names, or "?" for unknown.</summary>
    public Value Input(string name, params object[] dims) => TypedInput(name, DataType.Float, dims);

    public Value TypedInput(string name, DataType type, params object[] dims) =>
        Graph.AddInput(name, new TensorType(type, new TensorShape(dims.Select(ToDim))));

    public Value Ints(string name, params long[] values) => Graph.AddInitializer(name, Tensor.Create<long>([values.Length], values));

    public Value Floats(string name, params float[] values) => Graph.AddInitializer(name, Tensor.Create<float>([values.Length], values));

    public Value Weight(string name, params long[] dims) =>
        Graph.AddInitializer(name, Tensor.Create<float>(dims, new float[dims.Aggregate(1L, (a, b) => a * b)]));

    /// <summary>Adds a node and returns its outputs.</summary>
    public Value[] Node(string op, Value?[] inputs, int outputs = 1, string? name = null, Action<Node>? attributes = null)
    {
        string nodeName = name ?? Graph.UniqueNodeName(op.ToLowerInvariant());
        Node n = Graph.AddNode(op, inputs, Enumerable.Range(0, outputs).Select(i => $"{nodeName}_out{i}"), nodeName);
        attributes?.Invoke(n);
        return [.. n.Outputs.Select(o => o!)];
    }

    public Value One(string op, Value?[] inputs, Action<Node>? attributes = null, string? name = null) => Node(op, inputs, 1, name, attributes)[0];

    public static Dim ToDim(object d) => d switch
    {
        int i => Dim.Of(i),
        long l => Dim.Of(l),
        "?" => Dim.Unknown,
        string s => Dim.Sym(s),
        _ => throw new ArgumentException($"bad dim {d}"),
    };

    public void Dispose() => Model.Dispose();
}
