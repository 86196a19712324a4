using ModelBridge.Ir;
using ModelBridge.Rewriting;

namespace ModelBridge.Passes;

/// <summary>
/// Rewrites a standalone inference BatchNormalization as a per-channel Mul and Add, for targets
/// without BatchNormalization.
/// <code>
/// Before: x[N,C,...] → BatchNormalization(γ, β, μ, σ²) → y
/// After:  x → Mul(s[C,1,..]) → Add(t[C,1,..]) → y
/// </code>
/// </summary>
/// <remarks>
/// s = γ/√(σ²+ε), t = β − μ·s, computed in double. Needs the input's rank (from shape
/// inference). Runs after <see cref="FoldBatchNormIntoConv"/>, so it sees only BNs that could not
/// be folded. Numerics: approximate.
/// </remarks>
public sealed class LowerBatchNormToMulAdd : RewritePattern<LowerBatchNormToMulAdd.Found>
{
    /// <summary>The BN and its folded parameters.</summary>
    /// <param name="BatchNorm">The node.</param>
    /// <param name="Parameters">Scale and shift.</param>
    /// <param name="Rank">Rank of the input.</param>
    public sealed record Found(Node BatchNorm, BatchNormParameters Parameters, int Rank);

    /// <inheritdoc/>
    public override string Id => "lower-batchnorm-to-mul-add";

    /// <inheritdoc/>
    public override string RootOp => "BatchNormalization";

    /// <inheritdoc/>
    public override IReadOnlyList<string> GeneratedOps => ["Mul", "Add"];

    /// <inheritdoc/>
    public override NumericContract Numerics => NumericContract.Approximate(rtol: 1e-5, atol: 1e-5);

    /// <inheritdoc/>
    protected override MatchResult<Found> Match(IReadOnlyGraph graph, Node root)
    {
        if (graph.Shapes.ShapeOf(root.Input(0)) is not { Rank: >= 2 } shape)
        {
            return MatchResult.Fail("the input's rank is unknown (run shape inference first)");
        }
        if (Patterns.LegacyBroadcastReason(graph) is { } legacy)
        {
            return MatchResult.Fail(legacy);
        }
        var (p, reason) = BatchNormParameters.TryRead(root);
        return p is null ? MatchResult.Fail(reason!) : new Found(root, p, shape.Rank);
    }

    /// <inheritdoc/>
    protected override void Rewrite(GraphRewriter rewriter, Found match)
    {
        int c = match.Parameters.Scale.Length;
        long[] dims = [c, .. Enumerable.Repeat(1L, match.Rank - 2)];
        Value s = rewriter.CreateInitializer("scale", Tensor.Create<float>(dims, [.. match.Parameters.Scale.Select(v => (float)v)]));
        Value t = rewriter.CreateInitializer("shift", Tensor.Create<float>(dims, [.. match.Parameters.Shift.Select(v => (float)v)]));
        Node bn = match.BatchNorm;
        Node mul = rewriter.CreateNode("Mul", [bn.Inputs[0], s], "mul", placeAfter: bn);
        Node add = rewriter.CreateNode("Add", [mul.Outputs[0], t], "add", placeAfter: bn);
        rewriter.Replace(bn.Outputs[0]!, add.Outputs[0]!);
        rewriter.EraseIfUnused([bn]);
    }
}
