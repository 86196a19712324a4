using ModelBridge.Ir;
using ModelBridge.Rewriting;
using ModelBridge.Slimming;

namespace ModelBridge.Passes;

/// <summary>
/// Channel decomposition (Zhang et al. 2015, "Accelerating Very Deep Convolutional Networks for
/// Classification and Detection"): a K×K convolution becomes a K×K convolution into r channels followed
/// by a 1×1 convolution back to C_out.
/// <code>
/// Before: x[N,Ci,H,W] → Conv(W[Co,Ci,Kh,Kw], b, strides, pads, dilations) → y
/// After:  x → Conv(F[r,Ci,Kh,Kw], strides, pads, dilations) → Conv(P[Co,r,1,1], b') → y
/// </code>
/// </summary>
/// <remarks>
/// <para>
/// Preconditions: group = 1, a 4-D constant float weight, a constant bias or none, explicit pads
/// (auto_pad NOTSET or VALID); in plan mode the conv's weight is planned for channel decomposition, in
/// scope mode <see cref="NodeNaming.Matches"/> selects it (a 1×1 kernel qualifies: the split is then a
/// plain low-rank one). A conv whose weight this pass wrote is not factored again.
/// </para>
/// <para>
/// Formula: P·F = W' with W' = W at full rank r = min(C_out, C_in·K_h·K_w). The factors come from
/// <see cref="ConvFitter"/>: in scope mode the truncated SVD W = UΣVᵀ, F = √Σ_r V_rᵀ, P = U_r√Σ_r, at the
/// smallest r with ‖W − W'‖_F/‖W‖_F ≤ E; in plan mode whatever the plan holds (a data fit).
/// </para>
/// <para>
/// Cost per output pixel (D = C_in·K_h·K_w): MACs C_out·D before, r·(D + C_out) after, so the split pays
/// when r &lt; C_out·D/(D + C_out). Parameters: C_out·D + C_out before, r·D + C_out·r + C_out after.
/// </para>
/// <para>
/// Numerics: approximate. Scope mode: rtol = atol = max(E, 1e-5) (at full rank only float rounding of two
/// convolutions instead of one). As for <see cref="LowerConvToSeparable"/> this is a scale relation, not a
/// bound: ‖Δy‖ ≤ ‖ΔW‖_F·‖x_patch‖, so with activations of unit scale the output error is of the order of E
/// relative to the output's magnitude. Plan mode: each factored output records the plan's measured budget for it
/// (<see cref="SlimPlan.ContractFor"/>); the pass declares the plan's widest.
/// </para>
/// </remarks>
public sealed class DecomposeConvChannels : FactoredConvPass
{
    /// <summary>The pass id.</summary>
    public const string PassId = "decompose-conv-channels";

    /// <summary>Scope mode: factors the convs <paramref name="scope"/> addresses to weight error <paramref name="errorBudget"/>.</summary>
    /// <param name="scope">Substring of a node, output or weight name (empty for all).</param>
    /// <param name="errorBudget">E: the largest relative Frobenius weight error (0 for full rank).</param>
    public DecomposeConvChannels(string scope, double errorBudget)
        : base(scope, errorBudget)
    {
    }

    /// <summary>Plan mode: applies the plan's channel decompositions.</summary>
    public DecomposeConvChannels(SlimPlan plan)
        : base(plan)
    {
    }

    /// <inheritdoc/>
    public override string Id => PassId;

    /// <inheritdoc/>
    public override FactorizationMethod Method => FactorizationMethod.Channel;

    /// <inheritdoc/>
    private protected override (IEnumerable<AttributeValue> First, IEnumerable<AttributeValue> Second) Attributes(ConvFactorization match)
    {
        ConvLayer l = match.Layer;
        return (ConvWindow.With(match.Conv, [Attr.Ints("kernel_shape", [l.KernelHeight, l.KernelWidth])], "group"),
            [Attr.Ints("kernel_shape", [1, 1])]);
    }
}
