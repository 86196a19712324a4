using ModelBridge.Ir;
using ModelBridge.Rewriting;

namespace ModelBridge.Passes;

/// <summary>
/// Turns a mean or max over exactly the spatial axes, keeping dims, into the global pool it is,
/// for targets that have global pooling but no general reduction.
/// <code>
/// Before: x[N,C,H,W] → ReduceMean(axes=[2,3], keepdims=1) → y[N,C,1,1]   (ReduceMax likewise)
/// After:  x[N,C,H,W] → GlobalAveragePool → y[N,C,1,1]                   (GlobalMaxPool)
/// </code>
/// </summary>
/// <remarks>
/// <para>
/// Preconditions: x's rank r ≥ 3 is known; keepdims=1; the axes (attribute before opset 18, a
/// constant input from 18; negative ones normalised) are exactly {2, ..., r − 1}.
/// <see cref="LowerGlobalPool"/> is the inverse.
/// </para>
/// <para>Numerics: as for <see cref="LowerGlobalPool"/>: exact for max, rtol 1e-6, atol 1e-7 for mean.</para>
/// </remarks>
public sealed class RaiseReduceToGlobalPool : RewritePattern<Node>
{
    /// <inheritdoc/>
    public override string Id => "raise-reduce-to-global-pool";

    /// <inheritdoc/>
    public override string RootOp => "ReduceMean";

    /// <inheritdoc/>
    public override IReadOnlyList<string> RootOps => ["ReduceMean", "ReduceMax"];

    /// <inheritdoc/>
    public override IReadOnlyList<string> GeneratedOps => ["GlobalAveragePool", "GlobalMaxPool"];

    /// <inheritdoc/>
    public override NumericContract Numerics => NumericContract.Approximate(rtol: 1e-6, atol: 1e-7);

    /// <inheritdoc/>
    protected override MatchResult<Node> Match(IReadOnlyGraph graph, Node root)
    {
        if (graph.Shapes.ShapeOf(root.Input(0)) is not { Rank: >= 3 } shape)
        {
            return MatchResult.Fail("the input's rank is unknown or below 3 (run shape inference)");
        }
        if (root.GetInt("keepdims", 1) != 1)
        {
            return MatchResult.Fail("keepdims=0 drops the spatial axes");
        }
        long[]? axes = root.GetInts("axes") ?? (root.Input(1) is { } a ? Patterns.ConstInts(a) : null);
        if (axes is null)
        {
            return MatchResult.Fail("the axes are absent (all axes) or not constant");
        }
        int rank = shape.Rank;
        long[] normalized = [.. axes.Select(x => x < 0 ? x + rank : x).Order()];
        if (!normalized.SequenceEqual(Enumerable.Range(2, rank - 2).Select(x => (long)x)))
        {
            return MatchResult.Fail($"axes [{string.Join(",", axes)}] are not exactly the spatial axes");
        }
        return root;
    }

    /// <inheritdoc/>
    protected override void Rewrite(GraphRewriter rewriter, Node match)
    {
        string op = match.OpType == "ReduceMean" ? "GlobalAveragePool" : "GlobalMaxPool";
        Node pool = rewriter.CreateNode(op, [match.Inputs[0]], "pool", placeAfter: match);
        rewriter.Replace(match.Outputs[0]!, pool.Outputs[0]!);
        rewriter.EraseIfUnused([match]);
    }
}
