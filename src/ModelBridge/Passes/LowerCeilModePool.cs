using ModelBridge.Ir;
using ModelBridge.Rewriting;

namespace ModelBridge.Passes;

/// <summary>
/// Replaces a pool's <c>ceil_mode=1</c> with extra end padding that gives the same output size
/// under floor rounding, for targets without ceil mode.
/// <code>
/// Before: x[1,C,6,6] → MaxPool(kernel=[3,3], strides=[2,2], ceil_mode=1) → y[1,C,3,3]
/// After:  x[1,C,6,6] → MaxPool(kernel=[3,3], strides=[2,2], pads=[0,0,1,1]) → y[1,C,3,3]
/// </code>
/// </summary>
/// <remarks>
/// <para>
/// Preconditions: MaxPool or AveragePool with ceil_mode=1, auto_pad NOTSET, static spatial input
/// dims; for MaxPool the Indices output unused.
/// </para>
/// <para>
/// Formula (per spatial axis, e = (k − 1)·d + 1, P = begin + end): the ceil output is
/// o = ⌈(in + P − e) / s⌉ + 1, less one when that last window would start at or past in + begin
/// (the spec drops it, and ONNX Runtime 1.31 agrees). Then extra = max(0, (o − 1)·s + e − (in + P))
/// more end padding gives ⌊(in + P + extra − e) / s⌋ + 1 = o, the last window ending exactly at the
/// padded edge; when the dropped window made floor and ceil agree, extra is 0 and only ceil_mode goes.
/// </para>
/// <para>
/// Refused where the result would not be exact or not accepted: an end pad that would reach the
/// kernel size (ONNX Runtime rejects it), and AveragePool with count_include_pad=1 and extra &gt; 0
/// (in ceil mode the overhang beyond the padded edge is not counted, an explicit pad would be).
/// </para>
/// <para>
/// Numerics: exact. MaxPool ignores padded positions; AveragePool with count_include_pad=0 divides
/// by the input elements of the window, which do not change.
/// </para>
/// </remarks>
public sealed class LowerCeilModePool : RewritePattern<LowerCeilModePool.Found>
{
    /// <summary>A ceil-mode pool and its floor-mode pads.</summary>
    /// <param name="Pool">The pool.</param>
    /// <param name="Pads">New pads (begins then ends).</param>
    public sealed record Found(Node Pool, long[] Pads);

    /// <inheritdoc/>
    public override string Id => "lower-ceil-mode-pool";

    /// <inheritdoc/>
    public override string RootOp => "MaxPool";

    /// <inheritdoc/>
    public override IReadOnlyList<string> RootOps => ["MaxPool", "AveragePool"];

    /// <inheritdoc/>
    public override IReadOnlyList<string> GeneratedOps => ["MaxPool", "AveragePool"];

    /// <inheritdoc/>
    public override NumericContract Numerics => NumericContract.Exact;

    /// <inheritdoc/>
    protected override MatchResult<Found> Match(IReadOnlyGraph graph, Node root)
    {
        if (root.GetInt("ceil_mode", 0) == 0)
        {
            return MatchResult.Fail("ceil_mode is 0");
        }
        var (w, reason) = ConvWindow.TryRead(root, graph.Shapes);
        if (w is null)
        {
            return MatchResult.Fail(reason!);
        }
        if (w.AutoPad != "NOTSET")
        {
            return MatchResult.Fail($"auto_pad is {w.AutoPad} (lower it to explicit pads first)");
        }
        if (root.OpType == "MaxPool" && root.Output(1) is { } indices && (indices.Uses.Count > 0 || indices.IsGraphOutput))
        {
            return MatchResult.Fail("the Indices output is used");
        }
        if (w.SpatialDims(graph.Shapes, root.Input(0)) is not { } input)
        {
            return MatchResult.Fail("the input's spatial dims are not static (run shape inference)");
        }
        bool countPad = root.OpType == "AveragePool" && root.GetInt("count_include_pad", 0) != 0;
        int n = w.Spatial;
        long[] pads = [.. w.Pads];
        for (int i = 0; i < n; i++)
        {
            long e = w.Effective(i), s = w.Strides[i];
            long padded = input[i] + w.Begin(i) + w.End(i);
            if (padded < e)
            {
                return MatchResult.Fail($"the window is larger than the padded input on axis {i}");
            }
            long o = (padded - e + s - 1) / s + 1;
            if ((o - 1) * s >= input[i] + w.Begin(i))
            {
                // The spec drops a last window that would start in the end padding.
                o--;
            }
            long extra = Math.Max(0, (o - 1) * s + e - padded);
            if (extra > 0 && countPad)
            {
                return MatchResult.Fail("AveragePool with count_include_pad=1: the ceil overhang is not counted, an explicit pad would be");
            }
            pads[i + n] += extra;
            if (pads[i + n] >= w.Kernel[i])
            {
                return MatchResult.Fail($"end pad {pads[i + n]} on axis {i} would not be smaller than the kernel");
            }
        }
        return new Found(root, pads);
    }

    /// <inheritdoc/>
    protected override void Rewrite(GraphRewriter rewriter, Found match)
    {
        Node old = match.Pool;
        ConvWindow.Recreate(rewriter, old, old.Inputs, ConvWindow.With(old, [Attr.Ints("pads", match.Pads)], "ceil_mode"), "floor");
    }
}
