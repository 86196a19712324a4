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
        var seen = new Dictionary<(DataType, string, int), List<Value>>();
        int merged = 0;
        foreach (Value v in rewriter.Graph.Initializers.ToList())
        {
            cancellationToken.ThrowIfCancellationRequested();
            Tensor t = v.Initializer!;
            if (!v.IsConstant || v.IsGraphOutput || t.DataType == DataType.String || v.Uses.Any(u => u.IsImplicit))
            {
                continue;
            }
            ReadOnlySpan<byte> bytes = t.Data.Span;
            var hash = new HashCode();
            hash.AddBytes(bytes);
            var key = (t.DataType, string.Join(",", t.Dims), hash.ToHashCode());
            if (!seen.TryGetValue(key, out List<Value>? candidates))
            {
                seen[key] = [v];
                continue;
            }
            Value? same = null;
            foreach (Value c in candidates)
            {
                if (c.Initializer!.Data.Span.SequenceEqual(bytes))
                {
                    same = c;
                    break;
                }
            }
            if (same is null)
            {
                candidates.Add(v);
                continue;
            }
            rewriter.RedirectUses(v, same);
            rewriter.EraseInitializer(v);
            merged++;
        }
        return merged;
    }
}
