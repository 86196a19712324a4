using ModelBridge.Ir;
using ModelBridge.Rewriting;

namespace ModelBridge.Passes;

/// <summary>
/// Lowers any 2-D ConvTranspose (kernel ≠ stride, pads, output_padding, dilations, groups) to a
/// sub-pixel convolution: one convolution computing every output phase as a channel, a pixel
/// shuffle, and a crop, for targets without ConvTranspose.
/// <code>
/// Before: x[N,Ci,H,W] → ConvTranspose(W[Ci,Co/G,Kh,Kw], b, strides=[sh,sw], pads, output_padding, dilations, group=G) → y
/// After:  x → Conv(W'[Co·sh·sw,Ci/G,Mh,Mw], b', pads=[..], group=G) → DepthToSpace(s) or Reshape/Transpose → Slice → y
/// </code>
/// </summary>
/// <remarks>
/// <para>
/// Preconditions: 2-D (4-D input), constant float weight and bias, auto_pad NOTSET (run
/// <see cref="LowerAutoPad"/> first), no output_shape (the spec and ONNX Runtime disagree on where
/// its odd padding goes), output_padding below the stride (ONNX Runtime refuses more, although the
/// spec allows up to the dilation). The shuffle is the first
/// DepthToSpace mode the target accepts that fits (equal strides; CRD when G &gt; 1, since DCR
/// would interleave the groups' channels), else rank-4 Reshape/Transpose (static input shape).
/// The Slice (constant starts, ends, axes; attributes before opset 10) is omitted when the window is the whole shuffled tensor, and so is the shuffle when
/// both strides are 1. Strides 1 make this a plain convolution with the flipped kernel.
/// </para>
/// <para>
/// Formula (derived in <see cref="SubPixelConv"/>): phase r of an axis with stride s is a
/// correlation with the flipped sub-kernel v_r[j] = w[k] for k·d = (M − 1 − j)·s + r, over
/// M = ⌊(K − 1)·d / s⌋ + 1 taps; the Conv pads by M − 1 − q0 at the start and enough at the end to
/// cover output_padding; the Slice starts at p_b − q0·s and drops
/// (end pad + 1)·s − a − (K − 1)·d − 1 + p_e elements at the end. Taps that land on no kernel
/// element are zero.
/// </para>
/// <para>
/// Numerics: approximate. Every output sums the same products as ConvTranspose, but ONNX Runtime
/// sums over C_in first (GEMM) and then over the overlapping kernel taps (col2im), while the Conv
/// sums over C_in·M_h·M_w in one GEMM, so float rounding differs (the tests measure it against the
/// contract on many geometries, with weights at the scale of a trained network's, 1/√fan-in: the
/// error grows with the sum of |products|, not with the output; on the 65 geometries of the tests
/// the worst difference was 2.4e-6, a tenth of the contract, and 21 were bit-identical). The zero taps add exact zeros for finite inputs; an infinite or NaN
/// input can spread NaN (∞·0) to outputs the original leaves infinite. Kernel == stride with no
/// pads is <see cref="LowerConvTransposeToDepthToSpace"/>'s, which is exact; run it first.
/// </para>
/// </remarks>
public sealed class LowerConvTransposeToSubPixelConv : RewritePattern<LowerConvTransposeToSubPixelConv.Found>
{
    /// <summary>Lowers with whatever pixel-shuffle form ONNX offers (DepthToSpace DCR first).</summary>
    public LowerConvTransposeToSubPixelConv()
        : this(PixelShuffleForms.Any)
    {
    }

    /// <summary>Lowers with the pixel-shuffle forms a target accepts.</summary>
    /// <param name="forms">The DepthToSpace modes and whether Reshape/Transpose may be used.</param>
    /// <param name="slice">Whether the target has Slice (constant starts, ends and axes) to crop the pads/output_padding window.</param>
    public LowerConvTransposeToSubPixelConv(PixelShuffleForms forms, bool slice = true)
    {
        ArgumentNullException.ThrowIfNull(forms);
        Forms = forms;
        Slice = slice;
    }

    /// <summary>A ConvTranspose with a sub-pixel form.</summary>
    /// <param name="ConvTranspose">The node.</param>
    public sealed record Found(Node ConvTranspose)
    {
        /// <summary>Its planned sub-pixel form.</summary>
        internal SubPixelConv Plan { get; init; } = null!;
    }

    /// <summary>The pixel-shuffle forms the lowering may emit.</summary>
    public PixelShuffleForms Forms { get; }

    /// <summary>Whether the lowering may end with a Slice.</summary>
    public bool Slice { get; }

    /// <inheritdoc/>
    public override string Id => "lower-convtranspose-to-subpixel-conv";

    /// <inheritdoc/>
    public override string RootOp => "ConvTranspose";

    /// <inheritdoc/>
    public override IReadOnlyList<string> GeneratedOps => ["Conv", "DepthToSpace", "Reshape", "Transpose", "Slice"];

    /// <inheritdoc/>
    public override NumericContract Numerics => NumericContract.Approximate(rtol: 1e-5, atol: 1e-5);

    /// <inheritdoc/>
    protected override MatchResult<Found> Match(IReadOnlyGraph graph, Node root)
    {
        var (plan, reason) = SubPixelConv.TryPlan(graph, root, Forms);
        if (plan is null)
        {
            return MatchResult.Fail(reason!);
        }
        if (plan.NeedsSlice && !Slice)
        {
            return MatchResult.Fail("the pads or output_padding need a Slice to crop the output, and the target has no Slice");
        }
        return new Found(root) { Plan = plan };
    }

    /// <inheritdoc/>
    protected override void Rewrite(GraphRewriter rewriter, Found match) => match.Plan.Emit(rewriter);
}
