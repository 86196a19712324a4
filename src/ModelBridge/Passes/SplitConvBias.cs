using ModelBridge.Ir;
using ModelBridge.Rewriting;

namespace ModelBridge.Passes;

/// <summary>
/// Moves a Conv's bias into a separate Add, for targets whose convolution takes no bias.
/// <code>
/// Before: x → Conv(W, b[Co]) → y
/// After:  x → Conv(W) → Add(b[Co,1,...,1]) → y
/// </code>
/// </summary>
/// <remarks>
/// <para>
/// Preconditions: the bias is a constant float tensor of C_out elements. It is reshaped to
/// [C_out, 1, ..., 1] (one 1 per spatial axis) so it broadcasts over [N, C_out, spatial...].
/// </para>
/// <para>
/// Numerics: exact. ONNX Runtime adds the bias once, after the convolution's sum, which is the
/// same single float addition the Add performs.
/// </para>
/// </remarks>
public sealed class SplitConvBias : RewritePattern<SplitConvBias.Found>
{
    /// <summary>A Conv with a bias.</summary>
    /// <param name="Conv">The node.</param>
    /// <param name="Bias">The bias values.</param>
    /// <param name="Spatial">Number of spatial axes.</param>
    public sealed record Found(Node Conv, float[] Bias, int Spatial);

    /// <inheritdoc/>
    public override string Id => "split-conv-bias";

    /// <inheritdoc/>
    public override string RootOp => "Conv";

    /// <inheritdoc/>
    public override IReadOnlyList<string> GeneratedOps => ["Conv", "Add"];

    /// <inheritdoc/>
    public override NumericContract Numerics => NumericContract.Exact;

    /// <inheritdoc/>
    protected override MatchResult<Found> Match(IReadOnlyGraph graph, Node root)
    {
        if (root.Input(2) is not { } b)
        {
            return MatchResult.Fail("the Conv has no bias");
        }
        if (Constants.Of(b) is not { DataType: DataType.Float } bias)
        {
            return MatchResult.Fail("the bias is not a constant float tensor");
        }
        int rank = graph.Shapes.RankOf(root.Input(1)) ?? 0;
        if (rank < 3)
        {
            return MatchResult.Fail("the weight's rank is unknown");
        }
        return new Found(root, bias.ToFloatArray(), rank - 2);
    }

    /// <inheritdoc/>
    protected override void Rewrite(GraphRewriter rewriter, Found match)
    {
        Node conv = match.Conv;
        Value x = conv.Inputs[0]!;
        Node biasless = rewriter.CreateNode("Conv", [x, conv.Inputs[1]], "conv", attributes: conv.Attributes, derivedFrom: [x], placeAfter: conv);
        long[] dims = [match.Bias.Length, .. Enumerable.Repeat(1L, match.Spatial)];
        Value b = rewriter.CreateInitializer("bias", Tensor.Create<float>(dims, match.Bias));
        Node add = rewriter.CreateNode("Add", [biasless.Outputs[0], b], "bias", derivedFrom: [x], placeAfter: conv);
        rewriter.Replace(conv.Outputs[0]!, add.Outputs[0]!);
        rewriter.EraseIfUnused([conv]);
    }
}
