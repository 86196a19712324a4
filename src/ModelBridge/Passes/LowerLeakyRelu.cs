using ModelBridge.Ir;
using ModelBridge.Profiles;
using ModelBridge.Rewriting;

namespace ModelBridge.Passes;

/// <summary>
/// LeakyRelu(α) → PRelu, Max or Min with α·x, or Relu plus α·Min(x, 0), in the first form the target accepts.
/// <code>
/// Before: x → LeakyRelu(α) → y
/// After (prelu):    x → PRelu(slope=[α]) → y
///       (max):      x → Mul(α) → Max(x, ·) → y          for 0 ≤ α ≤ 1
///       (min):      x → Mul(α) → Min(x, ·) → y          for α ≥ 1
///       (relu-sum): Relu(x) + Mul(α, Min(x, 0)) → y     any α
/// </code>
/// </summary>
/// <remarks>
/// <para>LeakyRelu(x) = x for x ≥ 0, α·x otherwise. For 0 ≤ α ≤ 1, max(x, αx) is x when x ≥ 0 and αx
/// otherwise; for α ≥ 1, min(x, αx) is; both take the same product the kernel computes. PRelu with a
/// one-element slope is LeakyRelu by definition.</para>
/// <para>Numerics, measured against ONNX Runtime's LeakyRelu kernel (x64 CPU) on 702,000 inputs for α = 0.01, 0.2,
/// 1.5, −0.3: prelu, max and min are bit-identical (exact). relu-sum gives the same numbers, but where α·x
/// underflows to −0 it returns +0 (0 + −0): equal as numbers, not as bits, contract approximate(rtol 0, atol 0).</para>
/// </remarks>
/// <param name="target">The target whose constraints choose the form; null uses the first form.</param>
public sealed class LowerLeakyRelu(TargetProfile? target = null) : LowerActivation(target)
{
    /// <inheritdoc/>
    public override string Id => "lower-leakyrelu";

    /// <inheritdoc/>
    public override string RootOp => "LeakyRelu";

    /// <summary>Equal as numbers; the sign of a zero result may differ (0 + −0 is +0).</summary>
    public static NumericContract SignOfZeroNumerics { get; } = NumericContract.Approximate(rtol: 0, atol: 0);

    /// <inheritdoc/>
    protected override IReadOnlyList<LoweringForm> CreateForms() =>
    [
        new("prelu", ["PRelu"], NumericContract.Exact, (r, n) =>
            r.CreateNode("PRelu", [n.Inputs[0], r.CreateInitializer("slope", Tensor.Create<float>([1], [Alpha(n)]))], "prelu", placeAfter: n).Outputs[0]!),
        new("max", ["Mul", "Max"], NumericContract.Exact, (r, n) => Select(r, n, "Max"))
        {
            Precondition = (g, n) => Alpha(n) is >= 0f and <= 1f ? MinMaxBroadcastReason(g, n) : "max(x, αx) is LeakyRelu only for 0 ≤ α ≤ 1",
        },
        new("min", ["Mul", "Min"], NumericContract.Exact, (r, n) => Select(r, n, "Min"))
        {
            Precondition = (g, n) => Alpha(n) >= 1f ? MinMaxBroadcastReason(g, n) : "min(x, αx) is LeakyRelu only for α ≥ 1",
        },
        new("relu-sum", ["Relu", "Min", "Mul", "Add"], SignOfZeroNumerics, (r, n) =>
        {
            Value x = n.Inputs[0]!;
            Value negative = Op(r, n, "Min", x, Scalar(r, "zero", 0f), "negative");
            Value scaled = Op(r, n, "Mul", Scalar(r, "alpha", Alpha(n)), negative, "scale");
            return Op(r, n, "Add", Op(r, n, "Relu", x, null, "relu"), scaled, "sum");
        })
        {
            Precondition = MinMaxBroadcastReason,
        },
    ];

    private static float Alpha(Node n) => n.GetFloat("alpha", 0.01f);

    /// <summary>Max or Min of x and α·x.</summary>
    private static Value Select(GraphRewriter r, Node n, string op)
    {
        Value x = n.Inputs[0]!;
        Value scaled = Op(r, n, "Mul", x, Scalar(r, "alpha", Alpha(n)), "scale");
        return Op(r, n, op, x, scaled, op.ToLowerInvariant());
    }
}
