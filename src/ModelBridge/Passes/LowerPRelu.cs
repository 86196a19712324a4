using ModelBridge.Ir;
using ModelBridge.Rewriting;

namespace ModelBridge.Passes;

/// <summary>
/// PRelu(x, slope) → Relu(x) + slope·Min(x, 0).
/// <code>Before: x → PRelu(slope) → y      After: Relu(x) + Mul(slope, Min(x, 0)) → y</code>
/// </summary>
/// <remarks>For x &gt; 0 the sum is x + 0, otherwise 0 + slope·x: bit-identical. Numerics: exact.</remarks>
public sealed class LowerPRelu : LowerActivation
{
    /// <inheritdoc/>
    public override string Id => "lower-prelu";

    /// <inheritdoc/>
    public override string RootOp => "PRelu";

    /// <inheritdoc/>
    public override IReadOnlyList<string> GeneratedOps => ["Relu", "Min", "Mul", "Add"];

    /// <inheritdoc/>
    public override NumericContract Numerics => NumericContract.Exact;

    /// <inheritdoc/>
    protected override string? Check(IReadOnlyGraph graph, Node root) => root.Input(1) is null ? "PRelu without a slope input" : null;

    /// <inheritdoc/>
    protected override Value Build(GraphRewriter rewriter, Node root, Value x)
    {
        Value pos = Op(rewriter, root, "Relu", x, null, "relu");
        Value neg = Op(rewriter, root, "Min", x, Scalar(rewriter, "zero", 0f), "negative");
        Value scaled = Op(rewriter, root, "Mul", root.Inputs[1]!, neg, "scale");
        return Op(rewriter, root, "Add", pos, scaled, "sum");
    }
}
