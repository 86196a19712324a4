using ModelBridge.Ir;
using ModelBridge.Rewriting;
using ModelBridge.Shapes;

namespace ModelBridge.Passes;

/// <summary>
/// Makes shapes static: pins symbolic dimensions, runs shape inference, and replaces every
/// integer value that inference evaluated to a constant (shape arithmetic) by an initializer.
/// <code>
/// Before: x → Shape → Gather(0) → Unsqueeze → Concat([-1]) → s;  Reshape(y, s)
/// After:  Reshape(y, const [1,-1])      (the Shape chain is then dead)
/// </code>
/// </summary>
/// <remarks>
/// The declared types that name a pinned symbol (graph inputs and outputs, value_info) are pinned
/// too: once shapes are folded with N = 1, the graph is only valid for N = 1 and says so.
/// Only the boundary of a constant chain is replaced (a value read by at least one node whose
/// result is not itself constant), so the chain's interior becomes dead and
/// <see cref="EliminateDeadNodes"/> removes it. Values above the size bound are left alone.
/// Graph outputs are not replaced. Numerics: exact (integers).
/// </remarks>
public sealed class FoldShapeArithmetic : GraphPass
{
    /// <summary>Creates the pass with symbolic dimensions to pin (e.g. N=1).</summary>
    public FoldShapeArithmetic(IReadOnlyDictionary<string, long>? dims = null, int maxElements = 4096)
    {
        Dims = dims ?? new Dictionary<string, long>();
        MaxElements = maxElements;
    }

    /// <summary>Pinned symbolic dimensions.</summary>
    public IReadOnlyDictionary<string, long> Dims { get; }

    /// <summary>Largest value (in elements) turned into an initializer.</summary>
    public int MaxElements { get; }

    /// <inheritdoc/>
    public override string Id => "fold-shape-arithmetic";

    /// <inheritdoc/>
    public override IReadOnlyList<string> GeneratedOps => [];

    /// <inheritdoc/>
    public override NumericContract Numerics => NumericContract.Exact;

    /// <inheritdoc/>
    protected override int Run(GraphRewriter rewriter, CancellationToken cancellationToken)
    {
        Graph g = rewriter.Graph;
        int replaced = PinDeclaredTypes(rewriter);
        ShapeInferenceResult shapes = ShapeInference.Run(g, rewriter.ShapeOptions with { DimOverrides = Merge(rewriter.ShapeOptions.DimOverrides, Dims), MaxConstantElements = MaxElements });
        foreach (Node n in g.TopologicalOrder())
        {
            cancellationToken.ThrowIfCancellationRequested();
            foreach (Value? v in n.Outputs)
            {
                if (v is null || v.IsGraphOutput || v.Uses.Count == 0 || v.Uses.Any(u => u.IsImplicit))
                {
                    continue;
                }
                TensorType? type = shapes.TypeOf(v);
                if (type?.ElementType is not (DataType.Int64 or DataType.Int32) || !shapes.TryGetConstantValue(v, out long[] values) || values.Length > MaxElements)
                {
                    continue;
                }
                bool boundary = v.Uses.Any(u => u.Node.Outputs.Any(o => o is not null && !shapes.TryGetConstantValue(o, out _)));
                if (!boundary || type.Shape is not { } shape || !shape.TryGetStatic(out long[] dims))
                {
                    continue;
                }
                Tensor t = type.ElementType == DataType.Int64
                    ? Tensor.Create<long>(dims, values)
                    : Tensor.Create<int>(dims, [.. values.Select(x => checked((int)x))]);
                rewriter.RootName = n.Name.Length > 0 ? n.Name : n.OpType;
                Value init = rewriter.CreateInitializer("value", t);
                rewriter.Replace(v, init);
                replaced++;
            }
        }
        return replaced;
    }

    /// <summary>Pins this pass's symbols in every declared type that names them; returns how many declarations changed.</summary>
    private int PinDeclaredTypes(GraphRewriter rewriter)
    {
        if (Dims.Count == 0)
        {
            return 0;
        }
        int pinned = 0;
        foreach (Value v in rewriter.Graph.Values.Where(v => v.Initializer is null).OrderBy(v => v.Name, StringComparer.Ordinal).ToList())
        {
            TensorType? declared = v.DeclaredType;
            TensorType? fixedType = InferenceState.Pin(declared, Dims);
            if (!ReferenceEquals(declared, fixedType))
            {
                rewriter.DeclareType(v, fixedType);
                pinned++;
            }
        }
        return pinned;
    }

    /// <summary>The rewriter's pinned dims with this pass's own on top.</summary>
    private static Dictionary<string, long> Merge(IReadOnlyDictionary<string, long> a, IReadOnlyDictionary<string, long> b)
    {
        var merged = new Dictionary<string, long>(a, StringComparer.Ordinal);
        foreach (var (k, v) in b)
        {
            merged[k] = v;
        }
        return merged;
    }
}
