using ModelBridge.Ir;
using ModelBridge.Rewriting;

namespace ModelBridge.Passes;

/// <summary>
/// Merges initializers with the same type, dims and bytes.
/// <code>
/// Before: w1 = T, w2 = T; A(x, w1), B(y, w2)      After: w1 = T; A(x, w1), B(y, w1)
/// </code>
/// </summary>
/// <remarks>
/// The first initializer in declaration order is kept. Graph inputs (overridable initializers)
/// and graph outputs are never merged. Tensors already shared stay shared. Numerics: exact.
/// </remarks>
public sealed class DeduplicateInitializers : GraphPass
{
    /// <inheritdoc/>
    public override string Id => "deduplicate-initializers";

    /// <inheritdoc/>
    public override IReadOnlyList<string> GeneratedOps => [];

    /// <inheritdoc/>
    public override NumericContract Numerics => NumericContract.Exact;

    /// <inheritdoc/>
    protected override int Run(GraphRewriter rewriter, CancellationToken cancellationToken)
    {
        // Group by type, dims and length first: only tensors that share those are hashed
        // (each tensor's hash is computed once and cached), and only equal hashes are compared.
        var candidates = rewriter.Graph.Initializers
            .Where(v => v.IsConstant && !v.IsGraphOutput && v.Initializer!.DataType != DataType.String && !v.Uses.Any(u => u.IsImplicit))
            .GroupBy(v => (v.Initializer!.DataType, Dims: string.Join(",", v.Initializer.Dims), v.Initializer.Data.Length))
            .Where(g => g.Count() > 1);
        int merged = 0;
        foreach (var group in candidates)
        {
            var kept = new List<Value>();
            foreach (Value v in group)
            {
                cancellationToken.ThrowIfCancellationRequested();
                Tensor t = v.Initializer!;
                Value? same = kept.FirstOrDefault(k => k.Initializer!.ContentHash == t.ContentHash && k.Initializer.Data.Span.SequenceEqual(t.Data.Span));
                if (same is null)
                {
                    kept.Add(v);
                    continue;
                }
                rewriter.RedirectUses(v, same);
                rewriter.EraseInitializer(v);
                merged++;
            }
        }
        return merged;
    }
}
