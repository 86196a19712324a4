using ModelBridge.Ir;
using ModelBridge.Profiles;
using ModelBridge.Rewriting;

namespace ModelBridge.Passes;

/// <summary>
/// HardSwish → x·gate(x), in the first form the target accepts.
/// <code>
/// Before: x → HardSwish → y
/// After (hardsigmoid): x → HardSigmoid(α=1/6, β=½) → Mul(x) → y
///       (clip):        x → Mul(1/6) → Add(½) → Clip(0, 1) → Mul(x) → y
///       (relu-min):    x → Mul(1/6) → Add(½) → Relu → Min(1) → Mul(x) → y
///       (max-min):     x → Mul(1/6) → Add(½) → Max(0) → Min(1) → Mul(x) → y
///       (relu6):       x → Add(3) → Clip(0, 6) → Div(6) → Mul(x) → y
///       (relu6-min):   x → Add(3) → Relu → Min(6) → Div(6) → Mul(x) → y
/// </code>
/// </summary>
/// <remarks>
/// <para>HardSwish(x) = x·max(0, min(1, x/6 + ½)) by the ONNX spec, whose function body is
/// x·HardSigmoid(x; 1/6, ½).</para>
/// <para>Numerics, measured against ONNX Runtime's HardSwish kernel (x64 CPU) on 702,000 inputs (uniform, normal,
/// ±4,000 neighbours of ±3, 0, ±6, magnitudes up to 1e30): hardsigmoid, clip, relu-min and max-min are
/// bit-identical (exact), since the kernel computes x·(x·(1/6) + ½) clamped, with the same roundings. relu6
/// and relu6-min round (x + 3)/6 instead: up to 4 ulp of the product (max |Δ| 2.4e-7 at |x| ≈ 2.8; 6.0e-8 beyond
/// a relative 1e-6), contract approximate(rtol 1e-6, atol 1e-7).</para>
/// </remarks>
/// <param name="target">The target whose constraints choose the form; null uses the first form.</param>
public sealed class LowerHardSwish(TargetProfile? target = null) : LowerActivation(target)
{
    /// <summary>The contract of the relu6 forms, from the measurement in the remarks.</summary>
    public static NumericContract Relu6Numerics { get; } = NumericContract.Approximate(rtol: 1e-6, atol: 1e-7);

    /// <inheritdoc/>
    public override string Id => "lower-hardswish";

    /// <inheritdoc/>
    public override string RootOp => "HardSwish";

    /// <inheritdoc/>
    protected override IReadOnlyList<LoweringForm> CreateForms() =>
    [
        new("hardsigmoid", ["HardSigmoid", "Mul"], NumericContract.Exact, (r, n) =>
        {
            Value gate = r.CreateNode("HardSigmoid", [n.Inputs[0]], "gate", attributes: [Attr.Float("alpha", 1f / 6f), Attr.Float("beta", 0.5f)], placeAfter: n).Outputs[0]!;
            return Op(r, n, "Mul", n.Inputs[0]!, gate, "mul");
        }),
        new("clip", ["Mul", "Add", "Clip"], NumericContract.Exact, (r, n) => Gated(r, n, UnitClampForm.Clip)),
        new("relu-min", ["Mul", "Add", "Relu", "Min"], NumericContract.Exact, (r, n) => Gated(r, n, UnitClampForm.ReluMin))
        {
            Precondition = MinMaxBroadcastReason,
        },
        new("max-min", ["Mul", "Add", "Max", "Min"], NumericContract.Exact, (r, n) => Gated(r, n, UnitClampForm.MaxMin))
        {
            Precondition = MinMaxBroadcastReason,
        },
        new("relu6", ["Add", "Clip", "Div", "Mul"], Relu6Numerics, (r, n) => Relu6(r, n, useClip: true)),
        new("relu6-min", ["Add", "Relu", "Min", "Div", "Mul"], Relu6Numerics, (r, n) => Relu6(r, n, useClip: false))
        {
            Precondition = MinMaxBroadcastReason,
        },
    ];

    /// <summary>x·clamp(x·(1/6) + ½, 0, 1): the spec's function body with HardSigmoid spelled out.</summary>
    private static Value Gated(GraphRewriter r, Node n, UnitClampForm clamp)
    {
        Value x = n.Inputs[0]!;
        Value scaled = Op(r, n, "Mul", x, Scalar(r, "sixth", 1f / 6f), "scale");
        Value shifted = Op(r, n, "Add", scaled, Scalar(r, "half", 0.5f), "shift");
        return Op(r, n, "Mul", x, UnitClamp(r, n, shifted, clamp), "mul");
    }

    /// <summary>x·(clamp(x + 3, 0, 6)/6).</summary>
    private static Value Relu6(GraphRewriter r, Node n, bool useClip)
    {
        Value x = n.Inputs[0]!;
        Value shifted = Op(r, n, "Add", x, Scalar(r, "three", 3f), "shift");
        Value clamped = useClip
            ? Clip(r, n, shifted, 0f, 6f, "clip")
            : Op(r, n, "Min", Op(r, n, "Relu", shifted, null, "relu"), Scalar(r, "six", 6f), "min");
        Value scaled = Op(r, n, "Div", clamped, Scalar(r, "six", 6f), "scale");
        return Op(r, n, "Mul", x, scaled, "mul");
    }
}
