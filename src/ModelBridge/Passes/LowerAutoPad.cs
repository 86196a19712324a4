using ModelBridge.Ir;
using ModelBridge.Rewriting;

namespace ModelBridge.Passes;

/// <summary>
/// Replaces the deprecated <c>auto_pad</c> of Conv, ConvTranspose, MaxPool and AveragePool with
/// the explicit <c>pads</c> it stands for, computed from the static input shape.
/// <code>
/// Before: x[1,3,7,7] → Conv(W[8,3,4,4], strides=[2,2], auto_pad=SAME_UPPER) → y
/// After:  x[1,3,7,7] → Conv(W, strides=[2,2], pads=[1,1,2,2]) → y
/// </code>
/// </summary>
/// <remarks>
/// <para>
/// Preconditions: auto_pad is SAME_UPPER, SAME_LOWER or VALID; for SAME the input's spatial dims
/// are static (run shape inference first). VALID needs no shape: pads become zero.
/// </para>
/// <para>
/// Formula (Conv and pools, per spatial axis, spec): out = ⌈in / s⌉,
/// total = (out − 1)·s + (k − 1)·d + 1 − in; SAME_UPPER puts ⌊total/2⌋ at the begin and the rest at
/// the end, SAME_LOWER the reverse. ConvTranspose: out = in·s,
/// total = s·(in − 1) + output_padding + (k − 1)·d + 1 − out, split the same way.
/// </para>
/// <para>
/// Refused where runtimes are known to have disagreed with the spec, since no explicit padding
/// would then be exact against both: total &lt; 0 (kernel smaller than stride; the spec clamps it
/// to 0, ONNX Runtime's pool code has used it unclamped), pools with dilation &gt; 1 (ONNX
/// Runtime's pool code has sized SAME pads from the undilated kernel), pools with ceil_mode=1, a
/// pool pad not smaller than the kernel (ONNX Runtime rejects it), ConvTranspose with an explicit
/// output_shape, and ConvTranspose whose total padding is odd (the spec's text and formula, and
/// runtimes, have differed on which side takes the odd element).
/// </para>
/// <para>Numerics: exact (the same kernel runs with the same padding).</para>
/// </remarks>
public sealed class LowerAutoPad : RewritePattern<LowerAutoPad.Found>
{
    /// <summary>A node with auto_pad and the explicit pads that replace it.</summary>
    /// <param name="Node">The node.</param>
    /// <param name="Pads">Explicit pads, begins then ends.</param>
    public sealed record Found(Node Node, long[] Pads);

    /// <inheritdoc/>
    public override string Id => "lower-auto-pad";

    /// <inheritdoc/>
    public override string RootOp => "Conv";

    /// <inheritdoc/>
    public override IReadOnlyList<string> RootOps => ["Conv", "ConvTranspose", "MaxPool", "AveragePool"];

    /// <inheritdoc/>
    public override IReadOnlyList<string> GeneratedOps => ["Conv", "ConvTranspose", "MaxPool", "AveragePool"];

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
        if (w.AutoPad == "NOTSET")
        {
            return MatchResult.Fail("auto_pad is NOTSET (pads are already explicit)");
        }
        int n = w.Spatial;
        if (w.AutoPad == "VALID")
        {
            return new Found(root, new long[2 * n]);
        }
        bool pool = root.OpType is "MaxPool" or "AveragePool";
        if (pool && root.GetInt("ceil_mode", 0) != 0)
        {
            return MatchResult.Fail("ceil_mode=1 with SAME padding: the explicit form would size the output differently");
        }
        if (pool && w.Dilations.Any(d => d != 1))
        {
            return MatchResult.Fail("pool with dilation > 1: ONNX Runtime sizes SAME pads from the undilated kernel, the spec from the dilated one");
        }
        if (root.OpType == "ConvTranspose" && root.HasAttribute("output_shape"))
        {
            return MatchResult.Fail("ConvTranspose with output_shape is not lowered");
        }
        if (w.SpatialDims(graph.Shapes, root.Input(0)) is not { } input)
        {
            return MatchResult.Fail("the input's spatial dims are not static (pin symbolic dims and run shape inference)");
        }
        long[] outputPadding = root.GetInts("output_padding") ?? new long[n];
        var pads = new long[2 * n];
        for (int i = 0; i < n; i++)
        {
            long total = root.OpType == "ConvTranspose"
                ? w.Strides[i] * (input[i] - 1) + outputPadding[i] + w.Effective(i) - input[i] * w.Strides[i]
                : (DivCeil(input[i], w.Strides[i]) - 1) * w.Strides[i] + w.Effective(i) - input[i];
            if (total < 0)
            {
                return MatchResult.Fail($"SAME padding would be negative ({total}) on axis {i}: the spec clamps it to 0, ONNX Runtime does not");
            }
            if (root.OpType == "ConvTranspose" && total % 2 != 0)
            {
                return MatchResult.Fail($"odd ConvTranspose SAME padding ({total}) on axis {i}: runtimes place the odd element differently");
            }
            long small = total / 2;
            (pads[i], pads[i + n]) = w.AutoPad == "SAME_UPPER" ? (small, total - small) : (total - small, small);
            if (pool && (pads[i] >= w.Kernel[i] || pads[i + n] >= w.Kernel[i]))
            {
                return MatchResult.Fail($"explicit pads {pads[i]}/{pads[i + n]} on axis {i} would not be smaller than the kernel, which ONNX Runtime rejects");
            }
        }
        return new Found(root, pads);
    }

    /// <inheritdoc/>
    protected override void Rewrite(GraphRewriter rewriter, Found match)
    {
        Node old = match.Node;
        ConvWindow.Recreate(rewriter, old, old.Inputs, ConvWindow.With(old, [Attr.Ints("pads", match.Pads)], "auto_pad"), "explicit");
    }

    private static long DivCeil(long a, long b) => (a + b - 1) / b;
}
