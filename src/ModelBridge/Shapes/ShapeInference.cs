using ModelBridge.Ir;

namespace ModelBridge.Shapes;

/// <summary>
/// Infers the element type and shape of every node output of a graph, and evaluates small integer
/// shape arithmetic (<c>Shape</c>, <c>Gather</c>, <c>Concat</c>, ...) along the way.
/// </summary>
/// <remarks>
/// <para>
/// The rules follow the ONNX operator specification for default-domain opsets 7 and later, taking
/// each operator's form from <see cref="Graph.OpsetVersion"/> (e.g. Squeeze's axes are an attribute
/// before opset 13 and an input from 13). Operators without a rule, and nodes of other domains, get
/// an unknown type and a warning; they never make inference fail.
/// </para>
/// <para>
/// Symbolic dimensions propagate: a batch dimension <c>N</c> stays <c>N</c> through Conv, and
/// broadcasting <c>N</c> with 1 gives <c>N</c>. Pin symbols with
/// <see cref="ShapeInferenceOptions.DimOverrides"/> to get static shapes. Malformed nodes (a Reshape
/// whose element counts differ, a Concat of different ranks, a missing required attribute) throw
/// <see cref="Errors.InvalidModelException"/> naming the node.
/// </para>
/// <para>
/// The rules are split by concern: <c>ShapeInference.Conv.cs</c> (convolution, pooling,
/// normalisation), <c>.Elementwise.cs</c> (unary, broadcasting binary, casts), <c>.Linear.cs</c>
/// (MatMul, Gemm, Einsum), <c>.Recurrent.cs</c> (RNN, GRU, LSTM), <c>.Tensor.cs</c> (reshape, flatten, transpose, squeeze), <c>.Indexing.cs</c> (concat, split, slice, gather, expand), <c>.Resize.cs</c> (pad, resize, depth-to-space), <c>.Reduce.cs</c>
/// and <c>.ConstantFolding.cs</c> (evaluation of integer shape values).
/// </para>
/// </remarks>
public static partial class ShapeInference
{
    /// <summary>The default-domain opset assumed for graphs that belong to no model.</summary>
    public const long DefaultOpset = 21;

    /// <summary>
    /// The largest rank a rule builds a shape for. A rank is often read from data (the length of a
    /// shape tensor), so a hostile model could otherwise ask for billions of dimensions; past this a
    /// rank is left unknown by the readers and refused when a rule produces it.
    /// </summary>
    public const int MaxRank = 1024;

    private static readonly Dictionary<string, Action<InferenceContext>> Rules = BuildRules();

    /// <summary>Operator types (default domain) that have a shape rule.</summary>
    public static IReadOnlyCollection<string> SupportedOperators => Rules.Keys;

    /// <summary>
    /// Infers the element type and shape of every node output of <paramref name="graph"/>, in
    /// topological order, after pinning the symbols of <see cref="ShapeInferenceOptions.DimOverrides"/>.
    /// The graph is not changed: the facts come back in the result, a side table keyed by value.
    /// </summary>
    /// <param name="graph">The graph (read only).</param>
    /// <param name="options">Options; <see cref="ShapeInferenceOptions.Default"/> when null.</param>
    /// <returns>Every value's type, unknown shapes, evaluated shape values and warnings.</returns>
    /// <exception cref="Errors.InvalidModelException">A node is malformed; the exception names it.</exception>
    public static ShapeInferenceResult Run(Graph graph, ShapeInferenceOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        options ??= ShapeInferenceOptions.Default;
        long version = graph.Version;
        var state = new InferenceState(graph.OpsetVersion("") ?? DefaultOpset, options);
        if (OpsetSupport.FutureOpset(graph) is long future)
        {
            state.Warnings.Add($"default-domain opset {future} is newer than the newest ModelBridge knows ({OpsetSupport.NewestKnown}); shapes follow the opset-{OpsetSupport.NewestKnown} rules and may be wrong where an operator changed.");
        }
        SeedConstants(graph, state);
        var unknown = new List<Value>();
        var unsupported = new HashSet<string>(StringComparer.Ordinal);
        int inferred = 0;
        foreach (Node node in graph.TopologicalOrder())
        {
            var ctx = new InferenceContext(state, node);
            if (node.Outputs.Count == 0)
            {
                continue; // Nothing to infer; rules may assume output 0 exists.
            }
            if (node.IsStandardDomain && Rules.TryGetValue(node.OpType, out Action<InferenceContext>? rule))
            {
                try
                {
                    Apply(rule, ctx);
                }
                catch (Errors.InvalidModelException e) when (options.Lenient)
                {
                    // A reader that only wants what is known (a check, a pass's match) gets unknown outputs, not an error.
                    Array.Clear(ctx.Inferred);
                    foreach (Value? o in node.Outputs)
                    {
                        if (o is not null)
                        {
                            state.Values.Remove(o);
                        }
                    }
                    state.Warnings.Add($"{e.Message} Its outputs are left unknown.");
                }
            }
            else if (unsupported.Add(node.Domain + "::" + node.OpType))
            {
                string op = node.IsStandardDomain ? node.OpType : $"{node.Domain}.{node.OpType}";
                state.Warnings.Add($"{op}: no shape rule; outputs are left unknown (first seen at node '{node.Name}').");
            }
            for (int i = 0; i < node.Outputs.Count; i++)
            {
                if (node.Outputs[i] is not { } output)
                {
                    continue;
                }
                TensorType? type = ctx.Inferred[i];
                if (type?.Shape is not null)
                {
                    inferred++;
                }
                if (options.MergeDeclaredTypes)
                {
                    type = Merge(type, state.Declared(output));
                }
                state.Types[output] = type;
                if (type?.Shape is null || type.Shape.Dims.Any(d => !d.IsKnown && d.Symbol is null))
                {
                    unknown.Add(output);
                }
            }
        }
        return new ShapeInferenceResult(unknown, inferred, state.Warnings, state.Values, state.Types, options, version);
    }

    /// <summary>
    /// Runs one rule and checks what it produced: dimension arithmetic is checked, and a result that
    /// overflows 64 bits, or a negative dimension, means the node's inputs are malformed.
    /// </summary>
    private static void Apply(Action<InferenceContext> rule, InferenceContext ctx)
    {
        try
        {
            rule(ctx);
        }
        catch (OverflowException)
        {
            ctx.Fail("its shape arithmetic overflows a 64-bit integer (dimensions or shape values are too large)");
        }
        foreach (TensorType? t in ctx.Inferred)
        {
            if (t?.Shape is not { } shape)
            {
                continue;
            }
            if (shape.Dims.Any(d => d.Value < 0))
            {
                ctx.Fail($"the inferred output shape {shape} has a negative dimension");
            }
            if (shape.Rank > MaxRank)
            {
                ctx.Fail($"the inferred output has rank {shape.Rank}, more than {MaxRank}");
            }
            try
            {
                _ = shape.ElementCount;
            }
            catch (OverflowException)
            {
                ctx.Fail($"the inferred output shape {shape} has more elements than a 64-bit integer can count");
            }
        }
    }

    /// <summary>
    /// Fills what inference left open from the declared type: the element type, the whole shape when
    /// the rank is unknown, and unknown dimensions when the ranks agree.
    /// </summary>
    private static TensorType? Merge(TensorType? inferred, TensorType? declared)
    {
        if (inferred is null || declared is null)
        {
            return inferred ?? declared;
        }
        DataType elem = inferred.ElementType == DataType.Undefined ? declared.ElementType : inferred.ElementType;
        TensorShape? shape = inferred.Shape;
        if (shape is null)
        {
            shape = declared.Shape;
        }
        else if (declared.Shape is { } d && d.Rank == shape.Rank)
        {
            shape = new TensorShape(shape.Dims.Select((dim, i) => dim.IsKnown || dim.Symbol is not null && !d.Dims[i].IsKnown ? dim : d.Dims[i]));
        }
        return new TensorType(elem, shape);
    }

    private static void SeedConstants(Graph graph, InferenceState state)
    {
        foreach (Value v in graph.Initializers)
        {
            if (Constants.Of(v) is { } t && IsTrackable(t, state.Options))
            {
                state.Values[v] = ShapeValue.FromInts([.. t.Dims], t.ToInt64Array());
            }
        }
    }

    internal static bool IsTrackable(Tensor t, ShapeInferenceOptions options) =>
        IsIntegral(t.DataType) && t.ElementCount <= options.MaxConstantElements;

    internal static bool IsIntegral(DataType t) => t is DataType.Int64 or DataType.Int32 or DataType.Int16 or DataType.Int8
        or DataType.UInt8 or DataType.UInt16 or DataType.UInt32 or DataType.UInt64 or DataType.Bool;

    private static Dictionary<string, Action<InferenceContext>> BuildRules()
    {
        var rules = new Dictionary<string, Action<InferenceContext>>(StringComparer.Ordinal);
        RegisterElementwise(rules);
        RegisterConv(rules);
        RegisterLinear(rules);
        RegisterTensor(rules);
        RegisterReduce(rules);
        RegisterRecurrent(rules);
        RegisterConstants(rules);
        return rules;
    }
}
