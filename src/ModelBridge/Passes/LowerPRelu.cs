using ModelBridge.Ir;
using ModelBridge.Profiles;
using ModelBridge.Rewriting;

namespace ModelBridge.Passes;

/// <summary>
/// PRelu(x, slope) → LeakyRelu, Max or Min with slope·x, or Relu plus slope·Min(x, 0), in the first form the
/// target accepts.
/// <code>
/// Before: x → PRelu(slope) → y
/// After (leakyrelu): x → LeakyRelu(α = s) → y               constant slope, every element s
///       (max):       x → Mul(slope) → Max(x, ·) → y         constant slope in [0, 1]
///       (min):       x → Mul(slope) → Min(x, ·) → y         constant slope ≥ 1
///       (relu-sum):  Relu(x) + Mul(slope, Min(x, 0)) → y    any slope, also computed at run time
/// </code>
/// </summary>
/// <remarks>
/// <para>PRelu(x) = x for x &gt; 0, slope·x otherwise (slope broadcast to x). max(x, s·x) is that for
/// 0 ≤ s ≤ 1 and min(x, s·x) for s ≥ 1, with the kernel's own product; a slope with one value is LeakyRelu.</para>
/// <para>Numerics, checked against ONNX Runtime's PRelu kernel: leakyrelu, max and min are bit-identical
/// (exact). relu-sum gives the same numbers, but where slope·x underflows to −0 it returns +0: equal as numbers,
/// not as bits, contract approximate(rtol 0, atol 0).</para>
/// </remarks>
/// <param name="target">The target whose constraints choose the form; null uses the first form.</param>
public sealed class LowerPRelu(TargetProfile? target = null) : LowerActivation(target)
{
    /// <inheritdoc/>
    public override string Id => "lower-prelu";

    /// <inheritdoc/>
    public override string RootOp => "PRelu";

    /// <inheritdoc/>
    protected override string? Check(IReadOnlyGraph graph, Node root) => root.Input(1) is null ? "PRelu without a slope input" : null;

    /// <inheritdoc/>
    protected override IReadOnlyList<LoweringForm> CreateForms() =>
    [
        new("leakyrelu", ["LeakyRelu"], NumericContract.Exact, (r, n) =>
            r.CreateNode("LeakyRelu", [n.Inputs[0]], "leakyrelu", attributes: [Attr.Float("alpha", Slope(n)![0])], placeAfter: n).Outputs[0]!)
        {
            Precondition = (g, n) => Slope(n) is [var s, ..] slope && Patterns.AllEqual(slope, s) ? null : "the slope is not one constant value",
        },
        new("max", ["Mul", "Max"], NumericContract.Exact, (r, n) => Select(r, n, "Max"))
        {
            Precondition = (g, n) => Slope(n) is { Length: > 0 } s && s.All(v => v is >= 0f and <= 1f)
                ? MinMaxBroadcastReason(g, n)
                : "max(x, slope·x) is PRelu only for a constant slope in [0, 1]",
        },
        new("min", ["Mul", "Min"], NumericContract.Exact, (r, n) => Select(r, n, "Min"))
        {
            Precondition = (g, n) => Slope(n) is { Length: > 0 } s && s.All(v => v >= 1f)
                ? MinMaxBroadcastReason(g, n)
                : "min(x, slope·x) is PRelu only for a constant slope ≥ 1",
        },
        new("relu-sum", ["Relu", "Min", "Mul", "Add"], LowerLeakyRelu.SignOfZeroNumerics, (r, n) =>
        {
            Value x = n.Inputs[0]!;
            Value negative = Op(r, n, "Min", x, Scalar(r, "zero", 0f), "negative");
            Value scaled = Op(r, n, "Mul", n.Inputs[1]!, negative, "scale");
            return Op(r, n, "Add", Op(r, n, "Relu", x, null, "relu"), scaled, "sum");
        })
        {
            Precondition = MinMaxBroadcastReason,
        },
    ];

    private static float[]? Slope(Node n) => Patterns.ConstFloats(n.Input(1));

    /// <summary>Max or Min of x and x·slope.</summary>
    private static Value Select(GraphRewriter r, Node n, string op)
    {
        Value x = n.Inputs[0]!;
        Value scaled = Op(r, n, "Mul", x, n.Inputs[1]!, "scale");
        return Op(r, n, op, x, scaled, op.ToLowerInvariant());
    }
}
