using ModelBridge.Ir;
using ModelBridge.Profiles;
using ModelBridge.Rewriting;

namespace ModelBridge.Passes;

/// <summary>
/// Gelu → its erf or tanh formula, when the target accepts every node of it.
/// <code>
/// Before: x → Gelu(approximate) → y
/// After (erf, approximate = none):  0.5·x·(1 + Erf(x/√2))
///       (tanh, approximate = tanh): 0.5·x·(1 + Tanh(√(2/π)·(x + 0.044715·x³)))
/// </code>
/// </summary>
/// <remarks>
/// The formulas are the spec's definition of Gelu-20; there is no exact form without Erf, so a target
/// without Erf keeps the Gelu and is told why. Numerics: approximate (rtol 1e-5, atol 1e-6).
/// </remarks>
/// <param name="target">The target whose constraints choose the form; null uses the first form.</param>
public sealed class LowerGelu(TargetProfile? target = null) : LowerActivation(target)
{
    private static readonly NumericContract FormulaNumerics = NumericContract.Approximate(rtol: 1e-5, atol: 1e-6);

    /// <inheritdoc/>
    public override string Id => "lower-gelu";

    /// <inheritdoc/>
    public override string RootOp => "Gelu";

    /// <inheritdoc/>
    protected override IReadOnlyList<LoweringForm> CreateForms() =>
    [
        new("erf", ["Div", "Erf", "Add", "Mul"], FormulaNumerics, (r, n) =>
        {
            Value x = n.Inputs[0]!;
            Value inner = Op(r, n, "Erf", Op(r, n, "Div", x, Scalar(r, "sqrt2", MathF.Sqrt(2f)), "scaled"), null, "erf");
            return Finish(r, n, inner);
        })
        {
            Precondition = (g, n) => IsTanh(n) ? "approximate = tanh asks for the tanh formula" : null,
        },
        new("tanh", ["Mul", "Add", "Tanh"], FormulaNumerics, (r, n) =>
        {
            Value x = n.Inputs[0]!;
            Value cube = Op(r, n, "Mul", Op(r, n, "Mul", x, x, "square"), x, "cube");
            Value poly = Op(r, n, "Add", x, Op(r, n, "Mul", cube, Scalar(r, "k", 0.044715f), "cube_k"), "poly");
            Value inner = Op(r, n, "Tanh", Op(r, n, "Mul", poly, Scalar(r, "c", MathF.Sqrt(2f / MathF.PI)), "scaled"), null, "tanh");
            return Finish(r, n, inner);
        })
        {
            Precondition = (g, n) => IsTanh(n) ? null : "approximate = none asks for the erf formula",
        },
    ];

    private static bool IsTanh(Node n) => n.GetString("approximate", "none") == "tanh";

    /// <summary>0.5·x·(1 + inner).</summary>
    private static Value Finish(GraphRewriter r, Node n, Value inner)
    {
        Value onePlus = Op(r, n, "Add", inner, Scalar(r, "one", 1f), "one_plus");
        Value half = Op(r, n, "Mul", n.Inputs[0]!, Scalar(r, "half", 0.5f), "half");
        return Op(r, n, "Mul", half, onePlus, "gelu");
    }
}
