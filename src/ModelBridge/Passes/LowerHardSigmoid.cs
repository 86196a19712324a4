using ModelBridge.Ir;
using ModelBridge.Rewriting;

namespace ModelBridge.Passes;

/// <summary>
/// HardSigmoid(α, β) → Clip(α·x + β, 0, 1).
/// <code>Before: x → HardSigmoid → y      After: x → Mul(α) → Add(β) → Clip(0, 1) → y</code>
/// </summary>
/// <remarks>HardSigmoid(x) = max(0, min(1, α·x + β)) by the spec. Numerics: approximate (fused multiply-add in kernels).</remarks>
public sealed class LowerHardSigmoid : LowerActivation
{
    /// <inheritdoc/>
    public override string Id => "lower-hardsigmoid";

    /// <inheritdoc/>
    public override string RootOp => "HardSigmoid";

    /// <inheritdoc/>
    public override IReadOnlyList<string> GeneratedOps => ["Mul", "Add", "Clip"];

    /// <inheritdoc/>
    public override NumericContract Numerics => NumericContract.Approximate(rtol: 1e-6, atol: 1e-6);

    /// <inheritdoc/>
    protected override Value Build(GraphRewriter rewriter, Node root, Value x)
    {
        Value scaled = Op(rewriter, root, "Mul", x, Scalar(rewriter, "alpha", root.GetFloat("alpha", 0.2f)), "scale");
        Value shifted = Op(rewriter, root, "Add", scaled, Scalar(rewriter, "beta", root.GetFloat("beta", 0.5f)), "shift");
        return Clip(rewriter, root, shifted, 0f, 1f, "clip");
    }
}
