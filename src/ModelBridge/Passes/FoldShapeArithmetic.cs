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
        ShapeInferenceResult shapes = ShapeInference.Run(g, new ShapeInferenceOptions { DimOverrides = Dims, MaxConstantElements = MaxElements });
        int replaced = 0;
        foreach (Node n in g.TopologicalOrder())
        {
            cancellationToken.ThrowIfCancellationRequested();
            foreach (Value? v in n.Outputs)
            {
                if (v is null || v.IsGraphOutput || v.Uses.Count == 0 || v.Uses.Any(u => u.IsImplicit))
                {
                    continue;
                }
                if (v.Type?.ElementType is not (DataType.Int64 or DataType.Int32) || !shapes.TryGetConstantValue(v, out long[] values) || values.Length > MaxElements)
                {
                    continue;
                }
                bool boundary = v.Uses.Any(u => u.Node.Outputs.Any(o => o is not null && !shapes.TryGetConstantValue(o, out _)));
                if (!boundary || v.Type.Shape is not { } shape || !shape.TryGetStatic(out long[] dims))
                {
                    continue;
                }
                Tensor t = v.Type.ElementType == DataType.Int64
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
}
