using ModelBridge.Ir;
using ModelBridge.Rewriting;

namespace ModelBridge.Passes;

/// <summary>
/// Lowers a ConvTranspose whose kernel equals its stride (the usual 2×2 stride-2 upsampling head) to
/// a 1×1 convolution producing every output phase as a channel, then DepthToSpace, for targets
/// without ConvTranspose.
/// <code>
/// Before: x[N,Ci,H,W] → ConvTranspose(W[Ci,Co,s,s], b[Co], strides=[s,s]) → y[N,Co,H·s,W·s]
/// After:  x → Conv(W'[Co·s·s,Ci,1,1], b'[Co·s·s]) → DepthToSpace(blocksize=s, mode) → y
/// </code>
/// </summary>
/// <remarks>
/// <para>
/// Preconditions: 2-D, kernel == strides on both axes, dilations 1, pads 0, output_padding 0,
/// group 1, auto_pad NOTSET, no output_shape; constant float weight and bias; C_out·s_h·s_w &gt; 1. The shuffle is the
/// first DepthToSpace mode the target accepts (<see cref="PixelShuffleForms"/>); with s_h ≠ s_w,
/// or no usable mode, it is the same interleave in rank-4 Reshape/Transpose (static input shape).
/// </para>
/// <para>
/// Formula: with kernel == stride the windows do not overlap, so
/// y[n, c, h·s + i, w·s + j] = b[c] + Σ_ci x[n, ci, h, w]·W[ci, c, i, j]: a 1×1 convolution per
/// (i, j). DepthToSpace reads input channel c·s² + i·s + j in CRD mode and (i·s + j)·C_out + c in DCR
/// mode (spec, DepthToSpace-13), so W'[c·s² + i·s + j, ci] = W[ci, c, i, j] (CRD) or
/// W'[(i·s + j)·C_out + c, ci] = W[ci, c, i, j] (DCR), and b' repeats b[c] for each (i, j).
/// Other ConvTranspose forms are <see cref="LowerConvTransposeToSubPixelConv"/>'s.
/// </para>
/// <para>
/// Numerics: exact. Each output is the same C_in products plus the bias; ONNX Runtime runs the
/// ConvTranspose as one GEMM over C_in followed by a non-overlapping col2im and the bias, and the
/// 1×1 Conv as the same GEMM with the bias after it, so the sums are formed in the same order (the
/// tests check bit-identity on 48 shapes); DepthToSpace only moves data. The one exception is a
/// Conv with a single output channel (C_out = 1 at stride 1, no upsampling at all): MLAS sends a
/// one-row GEMM to its M = 1 kernel (onnxruntime/core/mlas/lib/sgemm.cpp, "special case of a small
/// M"), which sums in another order, so that form is left to the sub-pixel pass.
/// </para>
/// </remarks>
public sealed class LowerConvTransposeToDepthToSpace : RewritePattern<LowerConvTransposeToDepthToSpace.Found>
{
    /// <summary>Lowers with whatever pixel-shuffle form ONNX offers (DepthToSpace DCR first).</summary>
    public LowerConvTransposeToDepthToSpace()
        : this(PixelShuffleForms.Any)
    {
    }

    /// <summary>Lowers with the pixel-shuffle forms a target accepts.</summary>
    /// <param name="forms">The DepthToSpace modes and whether Reshape/Transpose may be used.</param>
    public LowerConvTransposeToDepthToSpace(PixelShuffleForms forms)
    {
        ArgumentNullException.ThrowIfNull(forms);
        Forms = forms;
    }

    /// <summary>A ConvTranspose with kernel == stride.</summary>
    /// <param name="ConvTranspose">The node.</param>
    public sealed record Found(Node ConvTranspose)
    {
        /// <summary>Its planned 1×1 form.</summary>
        internal SubPixelConv Plan { get; init; } = null!;
    }

    /// <summary>The pixel-shuffle forms the lowering may emit.</summary>
    public PixelShuffleForms Forms { get; }

    /// <inheritdoc/>
    public override string Id => "lower-convtranspose-to-depthtospace";

    /// <inheritdoc/>
    public override string RootOp => "ConvTranspose";

    /// <inheritdoc/>
    public override IReadOnlyList<string> GeneratedOps => ["Conv", "DepthToSpace", "Reshape", "Transpose"];

    /// <inheritdoc/>
    public override NumericContract Numerics => NumericContract.Exact;

    /// <inheritdoc/>
    protected override MatchResult<Found> Match(IReadOnlyGraph graph, Node root)
    {
        var (plan, reason) = SubPixelConv.TryPlan(graph, root, Forms);
        if (plan is null)
        {
            return MatchResult.Fail(reason!);
        }
        long[] pads = root.GetInts("pads") ?? [0, 0, 0, 0];
        long[] outputPadding = root.GetInts("output_padding") ?? [0, 0];
        if (!plan.Kernel.SequenceEqual(plan.Strides))
        {
            return MatchResult.Fail($"kernel [{string.Join(',', plan.Kernel)}] differs from strides [{string.Join(',', plan.Strides)}] (see lower-convtranspose-to-subpixel-conv)");
        }
        if (Enumerable.Range(0, 2).Any(i => plan.Dilations[i] != 1 && plan.Kernel[i] != 1))
        {
            return MatchResult.Fail($"dilations [{string.Join(',', plan.Dilations)}] (see lower-convtranspose-to-subpixel-conv)");
        }
        if (pads.Any(p => p != 0) || outputPadding.Any(a => a != 0))
        {
            return MatchResult.Fail($"pads [{string.Join(',', pads)}] or output_padding [{string.Join(',', outputPadding)}] crop the output (see lower-convtranspose-to-subpixel-conv)");
        }
        if (plan.Group != 1)
        {
            return MatchResult.Fail($"group={plan.Group} (see lower-convtranspose-to-subpixel-conv)");
        }
        if (plan.OutChannels * plan.Strides[0] * plan.Strides[1] == 1)
        {
            // ORT's MLAS runs a one-row GEMM (NoTrans A) through its M=1 kernel, which sums in another
            // order than the ConvTranspose's transposed GEMM (sgemm.cpp, "special case of a small M").
            return MatchResult.Fail("one output channel at stride 1 is no upsampling, and its 1x1 Conv would not be bit-identical in ONNX Runtime (see lower-convtranspose-to-subpixel-conv)");
        }
        return new Found(root) { Plan = plan };
    }

    /// <inheritdoc/>
    protected override void Rewrite(GraphRewriter rewriter, Found match) => match.Plan.Emit(rewriter);
}
