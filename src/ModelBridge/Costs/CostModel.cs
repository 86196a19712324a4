using System.Collections.Frozen;
using ModelBridge.Errors;
using ModelBridge.Ir;
using ModelBridge.Shapes;

namespace ModelBridge.Costs;

/// <summary>
/// Static per-node cost estimate: multiply-accumulates, other arithmetic, parameters and activation
/// bytes, read from the graph's weights and from shape facts (<see cref="Shapes.ShapeInferenceResult"/>).
/// </summary>
/// <remarks>
/// <para><b>MACs</b> (multiply-accumulate pairs) are counted only for the contraction operators, from
/// first principles (bias additions are not counted):</para>
/// <list type="bullet">
/// <item><c>Conv</c>: N·C_out·∏(spatial out)·(C_in/group)·∏(kernel) — computed as
/// elements(Y)·W[1]·∏W[2..], since W is <c>[C_out, C_in/group, k...]</c>.</item>
/// <item><c>ConvTranspose</c>: N·C_in·∏(spatial in)·(C_out/group)·∏(kernel) — elements(X)·W[1]·∏W[2..],
/// since W is <c>[C_in, C_out/group, k...]</c>: every input element is scattered through one kernel per
/// output channel of its group.</item>
/// <item><c>Gemm</c>: M·N·K with A' = <c>[M, K]</c> and B' = <c>[K, N]</c> after <c>transA</c>/<c>transB</c>.</item>
/// <item><c>MatMul</c>: batch·M·N·K — elements(Y)·K, with K the last dim of A (broadcast batch dims
/// included through the output).</item>
/// </list>
/// <para><b>Ops</b> count every other arithmetic operator separately from MACs, as one op per element:</para>
/// <list type="bullet">
/// <item>elementwise, activations, normalizations, Softmax, Resize: elements of output 0;</item>
/// <item>windowed pools (<c>MaxPool</c>, <c>AveragePool</c>, <c>LpPool</c>): elements(Y)·∏kernel_shape;</item>
/// <item>global pools and <c>Reduce*</c>: elements of input 0;</item>
/// <item>pure data movement (<c>Reshape</c>, <c>Transpose</c>, <c>Concat</c>, <c>Slice</c>, <c>Shape</c>, ...): 0.</item>
/// </list>
/// <para><b>Parameters</b> are the elements of the initializers a node reads, following <c>Identity</c>
/// chains to the initializer (shared heads read their weights through <c>Identity</c>). <c>Identity</c>
/// nodes themselves are charged nothing. A tensor is counted once per node, once per group (scope, op
/// type) and once in the model total, so group totals can exceed the model total when weights are shared
/// across groups.</para>
/// <para><b>Activation bytes</b> are the bytes of every output of the node, from the shape facts.</para>
/// <para>A quantity that needs an unknown shape is null for that node and is left out of the totals;
/// <see cref="CostReport.NodesWithUnknownCost"/> says how many nodes that affected.</para>
/// </remarks>
public static class CostModel
{
    private static readonly FrozenSet<string> DataMovement = FrozenSet.ToFrozenSet(
    [
        "Reshape", "Transpose", "Concat", "Slice", "Split", "Squeeze", "Unsqueeze", "Flatten", "Identity", "Shape",
        "Size", "Gather", "GatherElements", "GatherND", "Constant", "ConstantOfShape", "Expand", "Tile", "Pad", "Cast",
        "CastLike", "Dropout", "Range", "DepthToSpace", "SpaceToDepth", "NonZero", "ScatterND", "ScatterElements",
    ], StringComparer.Ordinal);

    private static readonly FrozenSet<string> WindowPools = FrozenSet.ToFrozenSet(["MaxPool", "AveragePool", "LpPool"], StringComparer.Ordinal);

    private static readonly FrozenSet<string> GlobalPools = FrozenSet.ToFrozenSet(["GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool"], StringComparer.Ordinal);

    /// <summary>Computes the cost of every live node of <paramref name="graph"/>, in topological order.</summary>
    /// <param name="graph">The graph.</param>
    /// <param name="shapes">Its shape facts (e.g. inferred with pinned dims); <see cref="Graph.Shapes"/> when null.</param>
    public static CostReport Compute(Graph graph, ShapeInferenceResult? shapes = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        shapes ??= graph.Shapes;
        var nodes = new List<NodeCost>(graph.NodeCount);
        var sizes = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (Node n in graph.TopologicalOrder())
        {
            try
            {
                nodes.Add(Measure(n, sizes, shapes));
            }
            catch (OverflowException)
            {
                // Counts are checked: a count past 64 bits comes from absurd shapes, a model problem.
                ThrowHelper.InvalidModel($"{n.OpType} node '{n.Name}': its operation or parameter count overflows a 64-bit integer (shapes are too large).", n.Name, n.OpType);
            }
        }
        return new CostReport(nodes, sizes, NodeScopes.Compute(graph, shapes));
    }

    /// <summary>The cost of one node (<paramref name="sizes"/> collects the element count of each parameter tensor).</summary>
    internal static NodeCost Measure(Node node, Dictionary<string, long> sizes, ShapeInferenceResult shapes)
    {
        long? macs = 0, ops = 0;
        if (node.IsStandardDomain)
        {
            (macs, ops) = node.OpType switch
            {
                "Conv" => (ConvMacs(node, transpose: false, shapes), (long?)0L),
                "ConvTranspose" => (ConvMacs(node, transpose: true, shapes), (long?)0L),
                "Gemm" => (GemmMacs(node, shapes), (long?)0L),
                "MatMul" => (MatMulMacs(node, shapes), (long?)0L),
                _ => ((long?)0L, OtherOps(node, shapes)),
            };
        }
        var parameters = new List<string>();
        long paramCount = 0;
        if (node.OpType != "Identity")
        {
            foreach (Value? input in node.Inputs)
            {
                // Initializers (listed as inputs or not) and Constant-node payloads alike: Paddle2ONNX keeps weights in Constant nodes.
                if (Constants.WeightSource(input) is { } source && !parameters.Contains(source.Name) && Constants.WeightOf(source) is { } payload)
                {
                    parameters.Add(source.Name);
                    long elements = payload.ElementCount;
                    sizes[source.Name] = elements;
                    paramCount = checked(paramCount + elements);
                }
            }
        }
        long? activation = 0;
        foreach (Value? o in node.Outputs)
        {
            if (o is null)
            {
                continue;
            }
            long? bytes = OutputBytes(o, shapes);
            activation = activation is long a && bytes is long b ? checked(a + b) : null;
        }
        return new NodeCost(node, macs, ops, paramCount, parameters, activation);
    }

    private static long? OutputBytes(Value v, ShapeInferenceResult shapes)
    {
        if (shapes.TypeOf(v) is not { Shape: { ElementCount: long e } } t)
        {
            return null;
        }
        long bytes = DataTypes.ByteCount(t.ElementType, e);
        return bytes >= 0 ? bytes : null;
    }

    private static long? Elements(Value? v, ShapeInferenceResult shapes) => shapes.ShapeOf(v)?.ElementCount;

    private static long? ConvMacs(Node node, bool transpose, ShapeInferenceResult shapes)
    {
        if (shapes.StaticDimsOf(node.Input(1)) is not { Length: >= 3 } w)
        {
            return null;
        }
        long? spatialElements = transpose ? Elements(node.Input(0), shapes) : Elements(node.Output(0), shapes);
        if (spatialElements is not long e)
        {
            return null;
        }
        long kernel = 1;
        for (int i = 2; i < w.Length; i++)
        {
            kernel = checked(kernel * w[i]);
        }
        return checked(e * w[1] * kernel);
    }

    private static long? GemmMacs(Node node, ShapeInferenceResult shapes)
    {
        if (shapes.StaticDimsOf(node.Input(0)) is not { Length: 2 } a || shapes.StaticDimsOf(node.Input(1)) is not { Length: 2 } b)
        {
            return null;
        }
        bool ta = node.GetInt("transA", 0) != 0, tb = node.GetInt("transB", 0) != 0;
        long m = ta ? a[1] : a[0];
        long k = ta ? a[0] : a[1];
        long n = tb ? b[0] : b[1];
        return checked(m * n * k);
    }

    private static long? MatMulMacs(Node node, ShapeInferenceResult shapes)
    {
        if (shapes.StaticDimsOf(node.Input(0)) is not { Length: >= 1 } a || Elements(node.Output(0), shapes) is not long y)
        {
            return null;
        }
        return checked(y * a[^1]);
    }

    private static long? OtherOps(Node node, ShapeInferenceResult shapes)
    {
        string op = node.OpType;
        if (DataMovement.Contains(op))
        {
            return 0;
        }
        if (WindowPools.Contains(op))
        {
            long window = node.GetInts("kernel_shape") is { } k ? k.Aggregate(1L, (x, y) => checked(x * y)) : 1;
            return Elements(node.Output(0), shapes) is long e ? checked(e * window) : null;
        }
        if (GlobalPools.Contains(op) || op.StartsWith("Reduce", StringComparison.Ordinal))
        {
            return Elements(node.Input(0), shapes);
        }
        return Elements(node.Output(0), shapes);
    }
}
