using ModelBridge.Ir;
using ModelBridge.Rewriting;

namespace ModelBridge.Passes;

/// <summary>
/// HardSwish → x·HardSigmoid(x) or x·Clip(x + 3, 0, 6)/6.
/// <code>Before: x → HardSwish → y      After: x → HardSigmoid(α=1/6, β=0.5) → Mul(x) → y</code>
/// </summary>
/// <remarks>
/// HardSwish(x) = x·max(0, min(1, x/6 + 0.5)) by the ONNX spec. The Clip form computes
/// x·(clip(x+3,0,6)/6), which differs from the fused kernel by float rounding.
/// Numerics: approximate (1e-6 relative).
/// </remarks>
public sealed class LowerHardSwish(bool useHardSigmoid) : LowerActivation
{
    /// <inheritdoc/>
    public override string Id => UseHardSigmoid ? "lower-hardswish-hardsigmoid" : "lower-hardswish-clip";

    /// <summary>True for the HardSigmoid form, false for the Clip form.</summary>
    public bool UseHardSigmoid { get; } = useHardSigmoid;

    /// <inheritdoc/>
    public override string RootOp => "HardSwish";

    /// <inheritdoc/>
    public override IReadOnlyList<string> GeneratedOps => UseHardSigmoid ? ["HardSigmoid", "Mul"] : ["Add", "Clip", "Div", "Mul"];

    /// <inheritdoc/>
    public override NumericContract Numerics => NumericContract.Approximate(rtol: 1e-6, atol: 1e-6);

    /// <inheritdoc/>
    protected override Value Build(GraphRewriter rewriter, Node root, Value x)
    {
        if (UseHardSigmoid)
        {
            Value hs = rewriter.CreateNode("HardSigmoid", [x], "gate", attributes: [Attr.Float("alpha", 1f / 6f), Attr.Float("beta", 0.5f)], placeAfter: root).Outputs[0]!;
            return Op(rewriter, root, "Mul", x, hs, "mul");
        }
        Value shifted = Op(rewriter, root, "Add", x, Scalar(rewriter, "three", 3f), "shift");
        Value clipped = Clip(rewriter, root, shifted, 0f, 6f, "clip");
        Value scaled = Op(rewriter, root, "Div", clipped, Scalar(rewriter, "six", 6f), "scale");
        return Op(rewriter, root, "Mul", x, scaled, "mul");
    }
}
