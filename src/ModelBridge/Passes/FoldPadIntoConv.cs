using ModelBridge.Ir;
using ModelBridge.Rewriting;

namespace ModelBridge.Passes;

/// <summary>
/// Folds a standalone zero Pad over the spatial axes into the Conv (or count-including AveragePool)
/// that is its only reader.
/// <code>
/// Before: x → Pad(pads=[0,0,1,1, 0,0,1,2], 0) → Conv(W, pads=[0,0,0,0]) → y
/// After:  x → Conv(W, pads=[1,1,1,2]) → y
/// </code>
/// </summary>
/// <remarks>
/// <para>
/// Preconditions: Pad is constant mode with value +0 (absent, or a constant), constant
/// non-negative pads that are zero on the batch and channel axes, no axes input; its output has
/// exactly one reader, input 0 of a Conv with auto_pad NOTSET or VALID, or of an AveragePool with
/// count_include_pad=1 whose summed pads stay smaller than the kernel (ONNX Runtime rejects
/// larger ones).
/// </para>
/// <para>
/// Formula: pads'[begin_i] = pads[begin_i] + p[begin_(i+2)], likewise for the ends.
/// Numerics: exact — Conv's padding is zero-filled just as Pad's, and AveragePool with
/// count_include_pad=1 counts padded positions exactly as it counts the padded input's zeros.
/// </para>
/// </remarks>
public sealed class FoldPadIntoConv : RewritePattern<FoldPadIntoConv.Found>
{
    /// <summary>Creates the pass.</summary>
    /// <param name="symmetricOnly">
    /// Fold only when the reader's padding ends up symmetric (for targets that need symmetric pads,
    /// so that this pass and <see cref="SplitAsymmetricPads"/> do not undo each other).
    /// </param>
    public FoldPadIntoConv(bool symmetricOnly = false) => SymmetricOnly = symmetricOnly;

    /// <summary>True when only folds that leave symmetric pads are made.</summary>
    public bool SymmetricOnly { get; }

    /// <summary>A Pad and the node it folds into.</summary>
    /// <param name="Pad">The Pad.</param>
    /// <param name="Consumer">The Conv or AveragePool.</param>
    /// <param name="Pads">The consumer's new pads.</param>
    public sealed record Found(Node Pad, Node Consumer, long[] Pads);

    /// <inheritdoc/>
    public override string Id => "fold-pad-into-conv";

    /// <inheritdoc/>
    public override string RootOp => "Pad";

    /// <inheritdoc/>
    public override IReadOnlyList<string> GeneratedOps => ["Conv", "AveragePool"];

    /// <inheritdoc/>
    public override NumericContract Numerics => NumericContract.Exact;

    /// <inheritdoc/>
    protected override MatchResult<Found> Match(IReadOnlyGraph graph, Node root)
    {
        Value? y = root.Output(0);
        if (Patterns.SoleConsumer(y) is not { } consumer || consumer.Inputs[0] != y)
        {
            return MatchResult.Fail("the Pad's output has other readers, is a graph output, or is not a data input");
        }
        if (consumer.OpType is not ("Conv" or "AveragePool") || !consumer.IsStandardDomain)
        {
            return MatchResult.Fail($"the reader is {consumer.OpType}, not Conv or AveragePool");
        }
        if (consumer.OpType == "AveragePool" && consumer.GetInt("count_include_pad", 0) == 0)
        {
            return MatchResult.Fail("AveragePool with count_include_pad=0 would not count the folded zeros");
        }
        var (padPads, reason) = PadNodes.ReadZeroConstant(root);
        if (padPads is null)
        {
            return MatchResult.Fail(reason!);
        }
        var (w, why) = ConvWindow.TryRead(consumer, graph.Shapes);
        if (w is null)
        {
            return MatchResult.Fail(why!);
        }
        if (w.AutoPad is not ("NOTSET" or "VALID"))
        {
            return MatchResult.Fail($"the reader has auto_pad {w.AutoPad}");
        }
        int n = w.Spatial, rank = n + 2;
        if (padPads.Length != 2 * rank)
        {
            return MatchResult.Fail($"Pad has {padPads.Length} pads for a rank-{rank} reader");
        }
        if (padPads.Any(p => p < 0))
        {
            return MatchResult.Fail("negative pads crop; they are not folded");
        }
        if (padPads[0] != 0 || padPads[1] != 0 || padPads[rank] != 0 || padPads[rank + 1] != 0)
        {
            return MatchResult.Fail("Pad pads the batch or channel axis");
        }
        long[] current = w.AutoPad == "VALID" ? new long[2 * n] : w.Pads;
        var pads = new long[2 * n];
        for (int i = 0; i < n; i++)
        {
            pads[i] = current[i] + padPads[i + 2];
            pads[i + n] = current[i + n] + padPads[rank + i + 2];
            if (consumer.OpType == "AveragePool" && (pads[i] >= w.Kernel[i] || pads[i + n] >= w.Kernel[i]))
            {
                return MatchResult.Fail($"folded pads {pads[i]}/{pads[i + n]} on axis {i} would not be smaller than the kernel");
            }
        }
        if (SymmetricOnly && Enumerable.Range(0, n).Any(i => pads[i] != pads[i + n]))
        {
            return MatchResult.Fail("the folded pads would be asymmetric, which the target does not accept");
        }
        return new Found(root, consumer, pads);
    }

    /// <inheritdoc/>
    protected override void Rewrite(GraphRewriter rewriter, Found match)
    {
        Node c = match.Consumer;
        Value?[] inputs = [match.Pad.Inputs[0], .. c.Inputs.Skip(1)];
        ConvWindow.Recreate(rewriter, c, inputs, ConvWindow.With(c, [Attr.Ints("pads", match.Pads)], "auto_pad"), "folded");
        rewriter.EraseIfUnused([match.Pad]);
    }
}
