using ModelBridge.Ir;
using ModelBridge.Profiles;
using ModelBridge.Rewriting;

namespace ModelBridge.Passes;

/// <summary>
/// A Clip the target refuses (bounds it lacks, bounds computed at run time) → Relu, Min and Max, in the first
/// form the target accepts.
/// <code>
/// Before: x → Clip(lo, hi) → y
/// After (relu):     x → Relu → y                      lo = 0, no hi
///       (relu-min): x → Relu → Min(hi) → y            lo = 0
///       (max-min):  x → Max(lo) → Min(hi) → y         either bound may be absent
/// </code>
/// max-min is listed twice: exact for constant non-zero bounds, and for any bounds (zero or computed at run
/// time) with a looser contract.
/// </summary>
/// <remarks>
/// <para>Clip(x) = min(max(x, lo), hi) by the spec, which also gives hi everywhere when lo &gt; hi. The bounds
/// are the Clip's own: its constant or run-time inputs (opset 11+, reused as they are) or its attributes (before
/// opset 11, as float scalars). Fires only on a Clip the target refuses, so an accepted Clip(0, 6) stays.</para>
/// <para>Numerics, measured against ONNX Runtime's Clip kernel (x64 CPU) on 702,000 inputs for (lo, hi) = (0, 1),
/// (0, 6), (−1, 1), (−2.5, 0.75), (3, −1) and one-sided bounds: relu and relu-min are bit-identical, and so is
/// max-min with non-zero bounds (exact; the max-then-min order is what makes lo &gt; hi agree). With a zero bound,
/// Max/Min and the Clip kernel can return zeros of opposite sign for a ±0 input: equal as numbers, not as bits,
/// so max-min-any promises approximate(rtol 0, atol 0).</para>
/// </remarks>
public sealed class LowerClip : LowerActivation
{
    /// <summary>Creates the lowering for <paramref name="target"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="target"/> is null: which Clips to lower is the target's to say.</exception>
    public LowerClip(TargetProfile target)
        : base(target ?? throw new ArgumentNullException(nameof(target)))
    {
    }

    /// <inheritdoc/>
    public override string Id => "lower-clip";

    /// <inheritdoc/>
    public override string RootOp => "Clip";

    /// <inheritdoc/>
    protected override string? Check(IReadOnlyGraph graph, Node root) =>
        Lower(root) is null && Upper(root) is null ? "Clip without bounds is an identity" : null;

    /// <inheritdoc/>
    protected override IReadOnlyList<LoweringForm> CreateForms() =>
    [
        new("relu", ["Relu"], NumericContract.Exact, (r, n) => Op(r, n, "Relu", n.Inputs[0]!, null, "relu"))
        {
            Precondition = (g, n) => IsZero(Lower(n)) && Upper(n) is null ? FloatReason(g, n) : "Relu alone is Clip(0, +inf) only",
        },
        new("relu-min", ["Relu", "Min"], NumericContract.Exact, (r, n) =>
            Op(r, n, "Min", Op(r, n, "Relu", n.Inputs[0]!, null, "relu"), Bound(r, Upper(n)!, "max"), "min"))
        {
            Precondition = (g, n) => IsZero(Lower(n)) && Upper(n) is not null ? FloatReason(g, n) ?? MinMaxBroadcastReason(g, n) : "Min(Relu(x), hi) needs lo = 0 and a hi",
        },
        new("max-min", ["Max", "Min"], NumericContract.Exact, MaxMin)
        {
            Precondition = (g, n) => NonzeroConstant(Lower(n)) && NonzeroConstant(Upper(n))
                ? MinMaxBroadcastReason(g, n)
                : "Max/Min match Clip bit for bit only with constant non-zero bounds",
        },
        new("max-min-any", ["Max", "Min"], LowerLeakyRelu.SignOfZeroNumerics, MaxMin)
        {
            Precondition = MinMaxBroadcastReason,
        },
    ];

    /// <summary>Max(x, lo) then Min(·, hi), leaving out an absent bound.</summary>
    private static Value MaxMin(GraphRewriter r, Node n)
    {
        Value v = n.Inputs[0]!;
        if (Lower(n) is { } lo)
        {
            v = Op(r, n, "Max", v, Bound(r, lo, "min"), "max");
        }
        if (Upper(n) is { } hi)
        {
            v = Op(r, n, "Min", v, Bound(r, hi, "max"), "min");
        }
        return v;
    }

    /// <summary>A bound of the Clip: its input (constant or run-time) or its attribute value.</summary>
    private abstract record ClipBound;

    private sealed record InputBound(Value Value) : ClipBound;

    private sealed record AttributeBound(float Value) : ClipBound;

    private static ClipBound? Lower(Node n) => Read(n, 1, "min");

    private static ClipBound? Upper(Node n) => Read(n, 2, "max");

    private static ClipBound? Read(Node n, int input, string attribute)
    {
        if (n.HasAttribute(attribute))
        {
            return new AttributeBound(n.GetFloat(attribute, 0f));
        }
        return n.Input(input) is { } v ? new InputBound(v) : null;
    }

    private static bool IsZero(ClipBound? b) => b switch
    {
        AttributeBound a => a.Value == 0f,
        InputBound { Value: var v } => Patterns.ConstFloats(v) is [0f],
        _ => false,
    };

    /// <summary>True for an absent bound or a constant one other than ±0.</summary>
    private static bool NonzeroConstant(ClipBound? b) => b switch
    {
        null => true,
        AttributeBound a => a.Value != 0f,
        InputBound { Value: var v } => Patterns.ConstFloats(v) is [var c] && c != 0f,
        _ => false,
    };

    private static Value Bound(GraphRewriter r, ClipBound b, string role) => b switch
    {
        InputBound i => i.Value,
        AttributeBound a => Scalar(r, role, a.Value),
        _ => throw new System.Diagnostics.UnreachableException(),
    };

    /// <summary>Relu takes floating-point tensors (integers only from opset 14): why not, or null.</summary>
    private static string? FloatReason(IReadOnlyGraph g, Node n) =>
        g.Shapes.ElementTypeOf(n.Input(0)) is { } t && !DataTypes.IsFloatingPoint(t) ? $"Relu of a {DataTypes.OnnxName(t)} tensor" : null;
}
