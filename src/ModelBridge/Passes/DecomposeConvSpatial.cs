using ModelBridge.Ir;
using ModelBridge.Rewriting;
using ModelBridge.Slimming;

namespace ModelBridge.Passes;

/// <summary>
/// Spatial SVD (Jaderberg et al. 2014, "Speeding up Convolutional Neural Networks with Low Rank
/// Expansions"; AIMET's spatial SVD): a K_h×K_w convolution becomes a K_h×1 convolution into r channels
/// followed by a 1×K_w convolution back to C_out.
/// <code>
/// Before: x[N,Ci,H,W] → Conv(W[Co,Ci,Kh,Kw], b, strides (sh,sw), pads (t,l,b,r), dilations (dh,dw)) → y
/// After:  x → Conv(V[r,Ci,Kh,1], strides (sh,1), pads (t,0,b,0), dilations (dh,1))
///           → Conv(H[Co,r,1,Kw], b', strides (1,sw), pads (0,l,0,r), dilations (1,dw)) → y
/// </code>
/// </summary>
/// <remarks>
/// <para>
/// Preconditions: as <see cref="DecomposeConvChannels"/>, and a kernel of more than one element.
/// </para>
/// <para>
/// Formula: AIMET splits a kernel (m, n, h, w) into (m, k, h, 1) and (k, n, 1, w). With
/// A[(c,h),(o,w)] = W[o,c,h,w] = UΣVᵀ, V[k,c,h] = √σ_k U[(c,h),k] and H[o,k,w] = √σ_k V[(o,w),k], so that
/// Σ_k H[o,k,w]·V[k,c,h] = W[o,c,h,w] at full rank r = min(C_in·K_h, C_out·K_w). The vertical conv takes the
/// rows' stride, pads and dilation and runs over every input column; the horizontal conv takes the columns'
/// (the padded columns of its input are zeros either way, since the first conv has no bias). Plan mode
/// writes the plan's factors (second factor and bias fitted to calibration data).
/// </para>
/// <para>
/// Cost: MACs N·H_out·W_out·C_out·C_in·K_h·K_w before; N·H_out·W_in·r·C_in·K_h + N·H_out·W_out·r·C_out·K_w
/// after. Parameters: C_out·C_in·K_h·K_w + C_out before, r·C_in·K_h + C_out·r·K_w + C_out after.
/// </para>
/// <para>Numerics: as <see cref="DecomposeConvChannels"/>.</para>
/// </remarks>
public sealed class DecomposeConvSpatial : FactoredConvPass
{
    /// <summary>The pass id.</summary>
    public const string PassId = "decompose-conv-spatial";

    /// <summary>Scope mode: factors the convs <paramref name="scope"/> addresses to weight error <paramref name="errorBudget"/>.</summary>
    /// <param name="scope">Substring of a node, output or weight name (empty for all).</param>
    /// <param name="errorBudget">E: the largest relative Frobenius weight error (0 for full rank).</param>
    public DecomposeConvSpatial(string scope, double errorBudget)
        : base(scope, errorBudget)
    {
    }

    /// <summary>Plan mode: applies the plan's spatial decompositions.</summary>
    public DecomposeConvSpatial(SlimPlan plan)
        : base(plan)
    {
    }

    /// <inheritdoc/>
    public override string Id => PassId;

    /// <inheritdoc/>
    public override FactorizationMethod Method => FactorizationMethod.Spatial;

    /// <inheritdoc/>
    private protected override (IEnumerable<AttributeValue> First, IEnumerable<AttributeValue> Second) Attributes(ConvFactorization match)
    {
        ConvLayer l = match.Layer;
        long[] s = l.Strides, d = l.Dilations, p = l.Pads;
        AttributeValue[] vertical =
        [
            Attr.Ints("kernel_shape", [l.KernelHeight, 1]), Attr.Ints("strides", [s[0], 1]),
            Attr.Ints("pads", [p[0], 0, p[2], 0]), Attr.Ints("dilations", [d[0], 1]),
        ];
        AttributeValue[] horizontal =
        [
            Attr.Ints("kernel_shape", [1, l.KernelWidth]), Attr.Ints("strides", [1, s[1]]),
            Attr.Ints("pads", [0, p[1], 0, p[3]]), Attr.Ints("dilations", [1, d[1]]),
        ];
        return (vertical, horizontal);
    }
}
