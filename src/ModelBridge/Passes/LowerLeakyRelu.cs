using ModelBridge.Ir;
using ModelBridge.Rewriting;

namespace ModelBridge.Passes;

/// <summary>
/// LeakyRelu(α) → Max(x, α·x) for 0 ≤ α ≤ 1.
/// <code>Before: x → LeakyRelu → y      After: x → Mul(α) → Max(x, ·) → y</code>
/// </summary>
/// <remarks>
/// For 0 ≤ α ≤ 1, max(x, αx) is x when x ≥ 0 and αx otherwise, the same product the kernel
/// computes. Numerics: exact.
/// </remarks>
public sealed class LowerLeakyRelu : LowerActivation
{
    /// <inheritdoc/>
    public override string Id => "lower-leakyrelu";

    /// <inheritdoc/>
    public override string RootOp => "LeakyRelu";

    /// <inheritdoc/>
    public override IReadOnlyList<string> GeneratedOps => ["Mul", "Max"];

    /// <inheritdoc/>
    public override NumericContract Numerics => NumericContract.Exact;

    /// <inheritdoc/>
    protected override string? Check(IReadOnlyGraph graph, Node root) =>
        root.GetFloat("alpha", 0.01f) is >= 0f and <= 1f ? null : "alpha outside [0, 1]: max(x, αx) would not be LeakyRelu";

    /// <inheritdoc/>
    protected override Value Build(GraphRewriter rewriter, Node root, Value x)
    {
        Value scaled = Op(rewriter, root, "Mul", x, Scalar(rewriter, "alpha", root.GetFloat("alpha", 0.01f)), "scale");
        return Op(rewriter, root, "Max", x, scaled, "max");
    }
}
