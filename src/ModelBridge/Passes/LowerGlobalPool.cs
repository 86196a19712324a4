using ModelBridge.Ir;
using ModelBridge.Rewriting;

namespace ModelBridge.Passes;

/// <summary>
/// Lowers global pooling to a reduction over the spatial axes, for targets that have reductions
/// but no global pool.
/// <code>
/// Before: x[N,C,H,W] → GlobalAveragePool → y[N,C,1,1]      (GlobalMaxPool likewise)
/// After:  x[N,C,H,W] → ReduceMean(axes=[2,3], keepdims=1) → y[N,C,1,1]   (ReduceMax)
/// </code>
/// </summary>
/// <remarks>
/// <para>
/// Preconditions: x's rank is known and at least 3. The axes are an attribute before opset 18
/// and an input from 18, as the spec requires. <see cref="RaiseReduceToGlobalPool"/> is the inverse.
/// </para>
/// <para>
/// Numerics: GlobalMaxPool ↔ ReduceMax is exact (a maximum does not depend on the order it is
/// taken in; measured bit-identical). GlobalAveragePool ↔ ReduceMean is approximate (rtol 1e-6,
/// atol 1e-7): ONNX Runtime sums with different kernels, measured relative-to-max difference up to
/// 3.2e-7. The pass declares the weaker of the two.
/// </para>
/// </remarks>
public sealed class LowerGlobalPool : RewritePattern<Node>
{
    /// <inheritdoc/>
    public override string Id => "lower-global-pool";

    /// <inheritdoc/>
    public override string RootOp => "GlobalAveragePool";

    /// <inheritdoc/>
    public override IReadOnlyList<string> RootOps => ["GlobalAveragePool", "GlobalMaxPool"];

    /// <inheritdoc/>
    public override IReadOnlyList<string> GeneratedOps => ["ReduceMean", "ReduceMax"];

    /// <inheritdoc/>
    public override NumericContract Numerics => NumericContract.Approximate(rtol: 1e-6, atol: 1e-7);

    /// <inheritdoc/>
    protected override MatchResult<Node> Match(IReadOnlyGraph graph, Node root)
    {
        if (graph.Shapes.RankOf(root.Input(0)) is not >= 3)
        {
            return MatchResult.Fail("the input's rank is unknown or below 3 (run shape inference)");
        }
        return root;
    }

    /// <inheritdoc/>
    protected override void Rewrite(GraphRewriter rewriter, Node match)
    {
        Value x = match.Inputs[0]!;
        int rank = rewriter.Shapes.RankOf(x)!.Value;
        long[] axes = [.. Enumerable.Range(2, rank - 2).Select(a => (long)a)];
        string op = match.OpType == "GlobalAveragePool" ? "ReduceMean" : "ReduceMax";
        bool axesAsInput = (rewriter.Graph.OpsetVersion("") ?? 18) >= 18;
        Node reduce = axesAsInput
            ? rewriter.CreateNode(op, [x, rewriter.CreateInitializer("axes", Tensor.Create<long>([axes.Length], axes))], "reduce",
                attributes: [Attr.Int("keepdims", 1)], derivedFrom: [x], placeAfter: match)
            : rewriter.CreateNode(op, [x], "reduce", attributes: [Attr.Ints("axes", axes), Attr.Int("keepdims", 1)], derivedFrom: [x], placeAfter: match);
        rewriter.Replace(match.Outputs[0]!, reduce.Outputs[0]!);
        rewriter.EraseIfUnused([match]);
    }
}
