using ModelBridge.Ir;
using ModelBridge.Profiles;
using ModelBridge.Rewriting;

namespace ModelBridge.Passes;

/// <summary>
/// HardSigmoid(α, β) → α·x + β clamped to [0, 1], in the first form the target accepts.
/// <code>
/// Before: x → HardSigmoid(α, β) → y
/// After (clip):     x → Mul(α) → Add(β) → Clip(0, 1) → y
///       (relu-min): x → Mul(α) → Add(β) → Relu → Min(1) → y
///       (max-min):  x → Mul(α) → Add(β) → Max(0) → Min(1) → y
///       (relu1):    x → Mul(2α) → Add(2β − 1) → Clip(−1, 1) → Add(1) → Mul(½) → y
///       (relu6):    x → Mul(6α) → Add(6β) → Clip(0, 6) → Div(6) → y
/// </code>
/// </summary>
/// <remarks>
/// <para>HardSigmoid(x) = max(0, min(1, α·x + β)) by the spec. The relu1 and relu6 forms are the same
/// clamp rescaled to the bounds that NNAPI-style targets accept (ReLU1, ReLU6).</para>
/// <para>Numerics, measured against ONNX Runtime's HardSigmoid kernel (x64 CPU) on 702,000 inputs (uniform,
/// normal, ±4,000 neighbours of each breakpoint, magnitudes up to 1e30) for (α, β) = (0.2, 0.5), (1/6, 0.5),
/// (0.25, 0.4): clip, relu-min and max-min are bit-identical (exact), because the kernel rounds α·x and then
/// + β as the Mul and Add do, and the clamps only select. (A kernel built to fuse the multiply-add rounds once
/// and can differ by 1 ulp.) relu1 and relu6 round a rescaled value: at most 1 ulp of the [0, 1] result
/// (max |Δ| 6.0e-8; relu1 is bit-identical when β = 0.5), contract approximate(rtol 1e-6, atol 1e-7).</para>
/// </remarks>
/// <param name="target">The target whose constraints choose the form; null uses the first form.</param>
public sealed class LowerHardSigmoid(TargetProfile? target = null) : LowerActivation(target)
{
    /// <summary>The contract of the rescaled forms (relu1, relu6), from the measurement in the remarks.</summary>
    public static NumericContract RescaledNumerics { get; } = NumericContract.Approximate(rtol: 1e-6, atol: 1e-7);

    /// <inheritdoc/>
    public override string Id => "lower-hardsigmoid";

    /// <inheritdoc/>
    public override string RootOp => "HardSigmoid";

    /// <inheritdoc/>
    protected override IReadOnlyList<LoweringForm> CreateForms() =>
    [
        new("clip", ["Mul", "Add", "Clip"], NumericContract.Exact, (r, n) => UnitClamp(r, n, Affine(r, n, 1), UnitClampForm.Clip)),
        new("relu-min", ["Mul", "Add", "Relu", "Min"], NumericContract.Exact, (r, n) => UnitClamp(r, n, Affine(r, n, 1), UnitClampForm.ReluMin))
        {
            Precondition = MinMaxBroadcastReason,
        },
        new("max-min", ["Mul", "Add", "Max", "Min"], NumericContract.Exact, (r, n) => UnitClamp(r, n, Affine(r, n, 1), UnitClampForm.MaxMin))
        {
            Precondition = MinMaxBroadcastReason,
        },
        new("relu1", ["Mul", "Add", "Clip"], RescaledNumerics, (r, n) =>
        {
            // clamp(y, 0, 1) = (clamp(2y − 1, −1, 1) + 1)·½, with 2y − 1 = 2α·x + (2β − 1).
            Value clipped = Clip(r, n, Affine(r, n, 2, -1), -1f, 1f, "clip");
            return Op(r, n, "Mul", Op(r, n, "Add", clipped, Scalar(r, "one", 1f), "unshift"), Scalar(r, "half", 0.5f), "unscale");
        }),
        new("relu6", ["Mul", "Add", "Clip", "Div"], RescaledNumerics, (r, n) =>
            Op(r, n, "Div", Clip(r, n, Affine(r, n, 6), 0f, 6f, "clip"), Scalar(r, "six", 6f), "unscale")),
    ];

    /// <summary>k·(α·x + β) + c as Mul(k·α) then Add(k·β + c), computed in double and rounded once.</summary>
    private static Value Affine(GraphRewriter r, Node n, double k, double c = 0)
    {
        double alpha = n.GetFloat("alpha", 0.2f), beta = n.GetFloat("beta", 0.5f);
        Value scaled = Op(r, n, "Mul", n.Inputs[0]!, Scalar(r, "alpha", (float)(k * alpha)), "scale");
        return Op(r, n, "Add", scaled, Scalar(r, "beta", (float)(k * beta + c)), "shift");
    }
}
