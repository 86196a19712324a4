using ModelBridge.Ir;
using ModelBridge.Rewriting;
using ModelBridge.Shapes;

namespace ModelBridge.Passes;

/// <summary>
/// Evaluates nodes whose inputs are all constant and replaces their outputs by initializers.
/// <code>
/// Before: gamma[C] → Unsqueeze([1,2]) → Mul(x, ·)       After: Mul(x, gamma'[C,1,1])
/// </code>
/// </summary>
/// <remarks>
/// Integer results come from shape inference's evaluator (Shape, Gather, Concat, Slice, Cast,
/// arithmetic...). Float results are computed here for layout ops (Identity, Reshape, Flatten,
/// Squeeze, Unsqueeze, Transpose), Cast between float types, and elementwise Add, Sub, Mul, Div,
/// Neg, Sqrt, Reciprocal with broadcasting — in float32, as ONNX Runtime computes them, so the
/// fold is bit-exact for these ops. Outputs above <see cref="MaxElements"/> are not folded.
/// Numerics: exact.
/// </remarks>
public sealed class FoldConstants : GraphPass
{
    /// <summary>Creates the pass.</summary>
    public FoldConstants(int maxElements = 1 << 22) => MaxElements = maxElements;

    /// <summary>Largest output (in elements) that is folded.</summary>
    public int MaxElements { get; }

    /// <inheritdoc/>
    public override string Id => "fold-constants";

    /// <inheritdoc/>
    public override IReadOnlyList<string> GeneratedOps => [];

    /// <inheritdoc/>
    public override NumericContract Numerics => NumericContract.Exact;

    private static readonly HashSet<string> Layout = ["Identity", "Reshape", "Flatten", "Squeeze", "Unsqueeze"];
    private static readonly HashSet<string> Binary = ["Add", "Sub", "Mul", "Div"];
    private static readonly HashSet<string> Unary = ["Neg", "Sqrt", "Reciprocal"];

    /// <inheritdoc/>
    protected override int Run(GraphRewriter rewriter, CancellationToken cancellationToken)
    {
        Graph g = rewriter.Graph;
        ShapeInferenceResult shapes = rewriter.Shapes;
        int folded = 0;
        foreach (Node n in g.TopologicalOrder())
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!n.IsStandardDomain || n.Outputs.Count != 1 || n.Outputs[0] is not { } output || output.IsGraphOutput
                || n.ImplicitInputs.Count > 0 || n.Inputs.Count == 0 || n.OpType is "Constant")
            {
                continue;
            }
            if (!n.Inputs.All(i => i is null || i.IsConstant) || output.Uses.Any(u => u.IsImplicit))
            {
                continue;
            }
            if (shapes.TypeOf(output) is not { Shape: { } shape } type || !shape.TryGetStatic(out long[] dims) || (shape.ElementCount ?? long.MaxValue) > MaxElements)
            {
                continue;
            }
            Tensor? value = Evaluate(n, type.ElementType, dims, shapes);
            if (value is null)
            {
                continue;
            }
            rewriter.RootName = n.Name.Length > 0 ? n.Name : n.OpType;
            Value init = rewriter.CreateInitializer("value", value);
            rewriter.Replace(output, init);
            rewriter.EraseIfUnused([n]);
            folded++;
        }
        return folded;
    }

    private static Tensor? Evaluate(Node n, DataType type, long[] dims, ShapeInferenceResult shapes)
    {
        if (type is DataType.Int64 or DataType.Int32 && shapes.TryGetConstantValue(n.Outputs[0]!, out long[] ints))
        {
            return type == DataType.Int64 ? Tensor.Create<long>(dims, ints) : Tensor.Create<int>(dims, [.. ints.Select(v => (int)v)]);
        }
        if (type != DataType.Float)
        {
            return null;
        }
        if (n.Inputs[0]?.Initializer is not { } a)
        {
            return null; // An omitted first input: nothing to fold.
        }
        if (Layout.Contains(n.OpType) && a.DataType == DataType.Float)
        {
            return Tensor.FromBytes(DataType.Float, dims, a.Data);
        }
        if (n.OpType == "Cast" && DataTypes.IsFloatingPoint(a.DataType) && DataTypes.IsConvertible(a.DataType))
        {
            return Tensor.Create<float>(dims, a.ToFloatArray());
        }
        if (n.OpType == "Transpose" && a.DataType == DataType.Float)
        {
            return Transpose(a, n.GetInts("perm"), dims);
        }
        if (Unary.Contains(n.OpType) && a.DataType == DataType.Float)
        {
            float[] x = a.ToFloatArray();
            Func<float, float> f = n.OpType switch
            {
                "Neg" => v => -v,
                "Sqrt" => MathF.Sqrt,
                _ => v => 1f / v,
            };
            return Tensor.Create<float>(dims, [.. x.Select(f)]);
        }
        if (Binary.Contains(n.OpType) && n.Inputs.Count == 2 && n.Inputs[1]?.Initializer is { DataType: DataType.Float } b && a.DataType == DataType.Float)
        {
            return Broadcast(a, b, dims, n.OpType);
        }
        return null;
    }

    private static Tensor Transpose(Tensor a, long[]? perm, long[] outDims)
    {
        int rank = a.Dims.Length;
        perm ??= [.. Enumerable.Range(0, rank).Reverse().Select(i => (long)i)];
        long[] inStrides = Strides([.. a.Dims]);
        ReadOnlySpan<float> src = a.AsSpan<float>();
        var dst = new float[src.Length];
        var index = new long[rank];
        for (long i = 0; i < dst.Length; i++)
        {
            long offset = 0;
            for (int d = 0; d < rank; d++)
            {
                offset += index[d] * inStrides[perm[d]];
            }
            dst[i] = src[(int)offset];
            for (int d = rank - 1; d >= 0 && ++index[d] == outDims[d]; d--)
            {
                index[d] = 0;
            }
        }
        return Tensor.Create<float>(outDims, dst);
    }

    private static Tensor Broadcast(Tensor a, Tensor b, long[] outDims, string op)
    {
        int rank = outDims.Length;
        long[] sa = BroadcastStrides([.. a.Dims], rank), sb = BroadcastStrides([.. b.Dims], rank);
        ReadOnlySpan<float> x = a.AsSpan<float>(), y = b.AsSpan<float>();
        long total = outDims.Aggregate(1L, (p, d) => p * d);
        var dst = new float[total];
        var index = new long[rank];
        for (long i = 0; i < total; i++)
        {
            long oa = 0, ob = 0;
            for (int d = 0; d < rank; d++)
            {
                oa += index[d] * sa[d];
                ob += index[d] * sb[d];
            }
            float u = x[(int)oa], v = y[(int)ob];
            dst[i] = op switch { "Add" => u + v, "Sub" => u - v, "Mul" => u * v, _ => u / v };
            for (int d = rank - 1; d >= 0 && ++index[d] == outDims[d]; d--)
            {
                index[d] = 0;
            }
        }
        return Tensor.Create<float>(outDims, dst);
    }

    private static long[] Strides(long[] dims)
    {
        var s = new long[dims.Length];
        long acc = 1;
        for (int i = dims.Length - 1; i >= 0; i--)
        {
            s[i] = acc;
            acc *= dims[i];
        }
        return s;
    }

    private static long[] BroadcastStrides(long[] dims, int rank)
    {
        long[] own = Strides(dims);
        var s = new long[rank];
        for (int i = 0; i < dims.Length; i++)
        {
            int d = rank - dims.Length + i;
            s[d] = dims[i] == 1 ? 0 : own[i];
        }
        return s;
    }
}
