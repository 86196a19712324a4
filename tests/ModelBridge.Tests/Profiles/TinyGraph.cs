namespace ModelBridge.Tests.Profiles;

/// <summary>Builds one-node graphs with every <see cref="Value.DeclaredType"/> set by hand (no shape inference).</summary>
internal sealed class TinyGraph : IDisposable
{
    public TinyGraph(long opset = 13)
    {
        Model = new Model(opset);
    }

    public Model Model { get; }

    public Graph Graph => Model.Graph;

    public static TensorType Float(params long[] dims) => new(DataType.Float, TensorShape.Of(dims));

    public Value Input(string name, TensorType type) => Graph.AddInput(name, type);

    public Value Input(string name, params long[] dims) => Graph.AddInput(name, Float(dims));

    public Value Weight(string name, params long[] dims)
    {
        long n = dims.Aggregate(1L, (a, b) => a * b);
        return Graph.AddInitializer(name, Tensor.Create<float>(dims, new float[n]));
    }

    public Value Scalar(string name, float value) => Graph.AddInitializer(name, Tensor.Create<float>([], [value]));

    public Value Ints(string name, params long[] values) => Graph.AddInitializer(name, Tensor.Create<long>([values.Length], values));

    public Value Floats(string name, params float[] values) => Graph.AddInitializer(name, Tensor.Create<float>([values.Length], values));

    /// <summary>Adds a node whose single output gets <paramref name="outputType"/>.</summary>
    public Node Add(string op, IEnumerable<Value?> inputs, TensorType? outputType, string name = "node", params (string Name, object Value)[] attributes)
    {
        Node n = Graph.AddNode(op, inputs, [name + "_out"], name);
        foreach (var (key, value) in attributes)
        {
            switch (value)
            {
                case long l: n.SetInt(key, l); break;
                case int i: n.SetInt(key, i); break;
                case float f: n.SetFloat(key, f); break;
                case string s: n.SetString(key, s); break;
                case long[] ls: n.SetInts(key, ls); break;
                default: throw new ArgumentException($"attribute type {value.GetType()}");
            }
        }
        n.Outputs[0]!.DeclaredType = outputType;
        Graph.SetOutputs([n.Outputs[0]!]);
        return n;
    }

    public void Dispose() => Model.Dispose();
}
