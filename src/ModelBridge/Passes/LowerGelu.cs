using ModelBridge.Ir;
using ModelBridge.Rewriting;

namespace ModelBridge.Passes;

/// <summary>
/// Gelu → its erf or tanh formula.
/// <code>
/// Before: x → Gelu(approximate) → y
/// After (none): 0.5·x·(1 + Erf(x/√2));  (tanh): 0.5·x·(1 + Tanh(√(2/π)·(x + 0.044715·x³)))
/// </code>
/// </summary>
/// <remarks>The formulas are the spec's definition of Gelu-20. Numerics: approximate (1e-5).</remarks>
public sealed class LowerGelu : LowerActivation
{
    /// <inheritdoc/>
    public override string Id => "lower-gelu";

    /// <inheritdoc/>
    public override string RootOp => "Gelu";

    /// <inheritdoc/>
    public override IReadOnlyList<string> GeneratedOps => ["Mul", "Div", "Erf", "Add", "Tanh", "Pow"];

    /// <inheritdoc/>
    public override NumericContract Numerics => NumericContract.Approximate(rtol: 1e-5, atol: 1e-6);

    /// <inheritdoc/>
    protected override Value Build(GraphRewriter rewriter, Node root, Value x)
    {
        Value inner;
        if (root.GetString("approximate", "none") == "tanh")
        {
            Value cube = Op(rewriter, root, "Mul", Op(rewriter, root, "Mul", x, x, "square"), x, "cube");
            Value poly = Op(rewriter, root, "Add", x, Op(rewriter, root, "Mul", cube, Scalar(rewriter, "k", 0.044715f), "cube_k"), "poly");
            inner = Op(rewriter, root, "Tanh", Op(rewriter, root, "Mul", poly, Scalar(rewriter, "c", MathF.Sqrt(2f / MathF.PI)), "scaled"), null, "tanh");
        }
        else
        {
            inner = Op(rewriter, root, "Erf", Op(rewriter, root, "Div", x, Scalar(rewriter, "sqrt2", MathF.Sqrt(2f)), "scaled"), null, "erf");
        }
        Value onePlus = Op(rewriter, root, "Add", inner, Scalar(rewriter, "one", 1f), "one_plus");
        Value half = Op(rewriter, root, "Mul", x, Scalar(rewriter, "half", 0.5f), "half");
        return Op(rewriter, root, "Mul", half, onePlus, "gelu");
    }
}
