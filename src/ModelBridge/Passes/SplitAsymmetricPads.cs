using ModelBridge.Ir;
using ModelBridge.Rewriting;

namespace ModelBridge.Passes;

/// <summary>
/// Moves the asymmetric part of a Conv's or pool's explicit padding into a standalone Pad, for
/// targets whose convolutions only take symmetric padding.
/// <code>
/// Before: x → Conv(W, pads=[0,1,1,2]) → y
/// After:  x → Pad(pads=[0,0,0,0, 0,0,1,1], 0) → Conv(W, pads=[0,1,0,1]) → y
/// </code>
/// </summary>
/// <remarks>
/// <para>
/// Preconditions: auto_pad NOTSET (run <see cref="LowerAutoPad"/> first) and some axis with
/// begin ≠ end. The node keeps m = min(begin, end) on both sides of each axis; the Pad adds
/// begin − m before and end − m after. MaxPool: the Indices output is unused and x is float
/// (its Pad value is −∞). AveragePool: only with count_include_pad=1. Pools in ceil mode are
/// refused: the spec (and ONNX Runtime) drop a last window that starts past the input and begin
/// pad, which moving pads into the input would change; run <see cref="LowerCeilModePool"/> first.
/// </para>
/// <para>
/// Why it is exact. Conv: padded positions hold 0 either way, so every window reads the same
/// values in the same order. MaxPool: max(S ∪ {−∞}) = max(S) for any non-empty S, −∞ and NaN
/// included, and every window holds at least one input element because ONNX Runtime requires each
/// pad to be smaller than the kernel. AveragePool with count_include_pad=1: the sum gains only
/// +0 terms and the divisor, the window clipped to the padded extent, covers the same extent.
/// With count_include_pad=0 the moved pad would join the divisor, so the node is refused.
/// </para>
/// <para>Numerics: exact.</para>
/// </remarks>
public sealed class SplitAsymmetricPads : RewritePattern<SplitAsymmetricPads.Found>
{
    /// <summary>A node with asymmetric pads, split into a Pad part and a symmetric part.</summary>
    /// <param name="Node">The Conv or pool.</param>
    /// <param name="Extra">Pad's pads over all axes (begins then ends).</param>
    /// <param name="Symmetric">The node's remaining pads.</param>
    /// <param name="PadValue">Pad's constant (null for the default 0).</param>
    public sealed record Found(Node Node, long[] Extra, long[] Symmetric, float? PadValue);

    /// <inheritdoc/>
    public override string Id => "split-asymmetric-pads";

    /// <inheritdoc/>
    public override string RootOp => "Conv";

    /// <inheritdoc/>
    public override IReadOnlyList<string> RootOps => ["Conv", "MaxPool", "AveragePool"];

    /// <inheritdoc/>
    public override IReadOnlyList<string> GeneratedOps => ["Pad", "Conv", "MaxPool", "AveragePool"];

    /// <inheritdoc/>
    public override NumericContract Numerics => NumericContract.Exact;

    /// <inheritdoc/>
    protected override MatchResult<Found> Match(IReadOnlyGraph graph, Node root)
    {
        var (w, reason) = ConvWindow.TryRead(root, graph.Shapes);
        if (w is null)
        {
            return MatchResult.Fail(reason!);
        }
        if (w.AutoPad != "NOTSET")
        {
            return MatchResult.Fail($"auto_pad is {w.AutoPad} (lower it to explicit pads first)");
        }
        if (w.IsSymmetric)
        {
            return MatchResult.Fail("pads are already symmetric");
        }
        if (root.OpType != "Conv" && root.GetInt("ceil_mode", 0) != 0)
        {
            return MatchResult.Fail("ceil_mode=1: whether the last window is kept depends on the begin pad (lower ceil mode first)");
        }
        float? value = null;
        switch (root.OpType)
        {
            case "MaxPool":
                if (root.Output(1) is { } indices && (indices.Uses.Count > 0 || indices.IsGraphOutput))
                {
                    return MatchResult.Fail("the Indices output is used; padding the input would shift the indices");
                }
                if (graph.Shapes.ElementTypeOf(root.Input(0)) is not DataType.Float)
                {
                    return MatchResult.Fail("MaxPool input is not known to be float (the Pad value is -inf)");
                }
                value = float.NegativeInfinity;
                break;
            case "AveragePool":
                if (root.GetInt("count_include_pad", 0) == 0)
                {
                    return MatchResult.Fail("count_include_pad=0: moved pads would be counted in the divisor");
                }
                break;
        }
        int n = w.Spatial;
        int rank = n + 2;
        var extra = new long[2 * rank];
        var symmetric = new long[2 * n];
        for (int i = 0; i < n; i++)
        {
            long m = Math.Min(w.Begin(i), w.End(i));
            symmetric[i] = symmetric[i + n] = m;
            extra[i + 2] = w.Begin(i) - m;
            extra[rank + i + 2] = w.End(i) - m;
        }
        if (extra.Any(p => p < 0))
        {
            return MatchResult.Fail("negative pads are not split");
        }
        return new Found(root, extra, symmetric, value);
    }

    /// <inheritdoc/>
    protected override void Rewrite(GraphRewriter rewriter, Found match)
    {
        Node old = match.Node;
        Value x = old.Inputs[0]!;
        Value padded = PadNodes.Create(rewriter, old, x, match.Extra, match.PadValue, "pad");
        Value?[] inputs = [padded, .. old.Inputs.Skip(1)];
        ConvWindow.Recreate(rewriter, old, inputs, ConvWindow.With(old, [Attr.Ints("pads", match.Symmetric)]), "symmetric");
    }
}
