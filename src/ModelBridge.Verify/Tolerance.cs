using System.Globalization;
using ModelBridge.Profiles;
using ModelBridge.Rewriting;

namespace ModelBridge.Verify;

/// <summary>Which test decides whether a rewritten tensor still matches the original one.</summary>
public enum ParityRule
{
    /// <summary>Fails only at elements where |d| &gt; atol and |d| &gt; rtol·|ref| (numpy's <c>isclose</c>, with "or").</summary>
    Elementwise,

    /// <summary>max|d| ≤ atol + rtol·max|ref|: errors are judged against the tensor's largest magnitude.</summary>
    RelativeToMax,

    /// <summary>Cosine similarity of the tensors as vectors is at least the floor.</summary>
    Cosine,
}

/// <summary>
/// The numeric tolerance of one tensor comparison: relative and absolute tolerances, and the floor
/// under cosine similarity for <see cref="ParityRule.Cosine"/>.
/// </summary>
/// <param name="Rtol">Relative tolerance.</param>
/// <param name="Atol">Absolute tolerance.</param>
/// <remarks>
/// A tensor's default tolerance is the target's (<see cref="FromProfile"/>) widened by the numeric
/// contract of the passes that produced it, and of those upstream of it (<see cref="Widen"/>): an
/// approximate pass is allowed its declared error on top of the target's.
/// </remarks>
public sealed record Tolerance(double Rtol, double Atol)
{
    /// <summary>
    /// A further absolute tolerance as a fraction of the tensor's largest magnitude (max|ref|), for the
    /// elementwise rule: |d| ≤ atol + <see cref="ScaledAtol"/>·max|ref|, or |d| ≤ rtol·|ref|. A rewrite
    /// that reorders a sum (a folded BatchNorm, a refactored activation) changes it by a fraction of the
    /// terms' magnitude, not of the result's; where terms cancel, |ref| is small but the error is not, so
    /// the error of approximate rewrites is judged against the tensor's scale. Zero for exact tensors.
    /// </summary>
    public double ScaledAtol { get; init; }

    /// <summary>Tolerance used when no target is given: float32 kernels with reordered accumulation.</summary>
    public static Tolerance Default { get; } = new(1e-4, 1e-5);

    /// <summary>The least cosine similarity <see cref="ParityRule.Cosine"/> accepts; 0.9999 by default.</summary>
    public double CosineFloor { get; init; } = 0.9999;

    /// <summary>The target profile's default tolerance.</summary>
    public static Tolerance FromProfile(TargetProfile profile)
    {
        ArgumentNullException.ThrowIfNull(profile);
        return new Tolerance(profile.Tolerance.Rtol, profile.Tolerance.Atol);
    }

    /// <summary>
    /// This tolerance plus a pass contract's budget: tolerances add, and the cosine floor drops by
    /// ½·rtol², the loss of cosine similarity that a relative error of rtol causes. A local contract also
    /// adds rtol to <see cref="ScaledAtol"/>; a <see cref="NumericContract.IsMeasured"/> one does not, as its
    /// atol is already the error measured at this tensor.
    /// </summary>
    public Tolerance Widen(NumericContract contract)
    {
        ArgumentNullException.ThrowIfNull(contract);
        if (contract.IsExact)
        {
            return this;
        }
        double r = contract.RelativeTolerance;
        return this with
        {
            Rtol = Rtol + r,
            Atol = Atol + contract.AbsoluteTolerance,
            ScaledAtol = ScaledAtol + (contract.IsMeasured ? 0 : r),
            CosineFloor = CosineFloor - (0.5 * r * r),
        };
    }

    /// <inheritdoc/>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"rtol={Rtol:G3} atol={Atol:G3}{(ScaledAtol > 0 ? $"+{ScaledAtol:G3}·max|ref|" : "")} cos>={CosineFloor:G6}");
}

/// <summary>
/// Decides whether an actual tensor matches a reference: <see cref="Exact"/> for bit-identical values,
/// or one of the tolerant comparers (<see cref="Elementwise(double, double)"/>, <see cref="RelativeToMax"/>,
/// <see cref="Cosine"/>), each judging one scalar <see cref="Error"/> against a <see cref="Threshold"/>.
/// </summary>
/// <remarks>
/// Shaped after ImageSharp's <c>ImageComparer.Exact</c> / <c>ImageComparer.Tolerant</c>. Every comparer
/// fails a tensor with a different shape or element type, and one with a NaN or infinity on one side
/// only. Integer and bool tensors are always compared exactly.
/// </remarks>
public abstract class TensorComparer
{
    private protected TensorComparer()
    {
    }

    /// <summary>Every element equal (NaN equals NaN); the error is max|d| and the threshold 0.</summary>
    public static TensorComparer Exact { get; } = new ExactComparer();

    /// <summary>Fails where |d| &gt; atol and |d| &gt; rtol·|ref|; the error is max |d|/max(atol, rtol·|ref|), the threshold 1.</summary>
    public static TensorComparer Elementwise(double rtol, double atol) => new ElementwiseComparer(Check(rtol), Check(atol), 0);

    /// <summary>
    /// Like <see cref="Elementwise(double, double)"/>, with a further absolute tolerance of
    /// <paramref name="scaledAtol"/>·max|ref| (see <see cref="Tolerance.ScaledAtol"/>).
    /// </summary>
    public static TensorComparer Elementwise(double rtol, double atol, double scaledAtol) =>
        scaledAtol == 0 ? Elementwise(rtol, atol) : new ElementwiseComparer(Check(rtol), Check(atol), Check(scaledAtol));

    /// <summary>max|d| ≤ atol + rtol·max|ref|; the error is max|d|/max|ref|, the threshold rtol + atol/max|ref|.</summary>
    public static TensorComparer RelativeToMax(double rtol, double atol = 0) => new RelativeToMaxComparer(Check(rtol), Check(atol));

    /// <summary>Cosine similarity ≥ <paramref name="floor"/>; the error is 1 − cos, the threshold 1 − floor.</summary>
    public static TensorComparer Cosine(double floor) =>
        floor is >= -1 and <= 1 ? new CosineComparer(floor) : throw new ArgumentOutOfRangeException(nameof(floor), floor, "A cosine floor must be in [-1, 1].");

    /// <summary>The comparer of <paramref name="rule"/> at <paramref name="tolerance"/>.</summary>
    public static TensorComparer For(ParityRule rule, Tolerance tolerance)
    {
        ArgumentNullException.ThrowIfNull(tolerance);
        return rule switch
        {
            ParityRule.Elementwise when tolerance.Rtol == 0 && tolerance.Atol == 0 => Exact,
            ParityRule.Elementwise => Elementwise(tolerance.Rtol, tolerance.Atol, tolerance.ScaledAtol),
            ParityRule.RelativeToMax => RelativeToMax(tolerance.Rtol, tolerance.Atol),
            ParityRule.Cosine => Cosine(tolerance.CosineFloor),
            _ => throw new ArgumentOutOfRangeException(nameof(rule), rule, "Unknown parity rule."),
        };
    }

    /// <summary>The rule this comparer applies (null for <see cref="Exact"/>).</summary>
    public abstract ParityRule? Rule { get; }

    /// <summary>The scalar this comparer judges (see each factory).</summary>
    public abstract double Error(ParityMetrics metrics);

    /// <summary>The largest <see cref="Error"/> accepted for these metrics.</summary>
    public abstract double Threshold(ParityMetrics metrics);

    /// <summary>True when the metrics pass: no non-finite mismatch and <see cref="Error"/> ≤ <see cref="Threshold"/>.</summary>
    public bool Accepts(ParityMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        return metrics.NonFiniteMismatches == 0 && Error(metrics) <= Threshold(metrics);
    }

    /// <summary>Metrics of <paramref name="actual"/> against <paramref name="reference"/>, with what this comparer needs.</summary>
    public ParityMetrics Measure(ReadOnlySpan<float> reference, ReadOnlySpan<float> actual, double quantile = 0.99) =>
        this is ElementwiseComparer e
            ? ParityMetrics.Compute(reference, actual, e.Rtol, e.Atol + (e.ScaledAtol == 0 ? 0 : e.ScaledAtol * MaxFiniteMagnitude(reference)), quantile)
            : ParityMetrics.Compute(reference, actual, quantile);

    private static double MaxFiniteMagnitude(ReadOnlySpan<float> values)
    {
        float max = System.Numerics.Tensors.TensorPrimitives.MaxMagnitude(values);
        if (float.IsFinite(max))
        {
            return Math.Abs(max);
        }
        double finite = 0;
        foreach (float v in values)
        {
            if (float.IsFinite(v))
            {
                finite = Math.Max(finite, Math.Abs(v));
            }
        }
        return finite;
    }

    private static double Check(double tolerance, [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(tolerance))] string? name = null) =>
        tolerance >= 0 && double.IsFinite(tolerance) ? tolerance : throw new ArgumentOutOfRangeException(name, tolerance, "A tolerance must be finite and non-negative.");

    private sealed class ExactComparer : TensorComparer
    {
        public override ParityRule? Rule => null;

        public override double Error(ParityMetrics metrics) => metrics.MaxAbsError;

        public override double Threshold(ParityMetrics metrics) => 0;

        public override string ToString() => "exact";
    }

    private sealed class ElementwiseComparer(double rtol, double atol, double scaledAtol) : TensorComparer
    {
        public double Rtol { get; } = rtol;

        public double Atol { get; } = atol;

        public double ScaledAtol { get; } = scaledAtol;

        public override ParityRule? Rule => ParityRule.Elementwise;

        public override double Error(ParityMetrics metrics) =>
            metrics.ElementwiseRatio ?? (metrics.MaxAbsError / Math.Max(Atol + (ScaledAtol * metrics.ReferenceMaxMagnitude), Rtol * Math.Max(Math.Abs(metrics.WorstReference), ParityMetrics.Tiny)));

        public override double Threshold(ParityMetrics metrics) => 1;

        public override string ToString() => ScaledAtol == 0
            ? string.Create(CultureInfo.InvariantCulture, $"elementwise(rtol={Rtol:G3}, atol={Atol:G3})")
            : string.Create(CultureInfo.InvariantCulture, $"elementwise(rtol={Rtol:G3}, atol={Atol:G3}+{ScaledAtol:G3}·max|ref|)");
    }

    private sealed class RelativeToMaxComparer(double rtol, double atol) : TensorComparer
    {
        public override ParityRule? Rule => ParityRule.RelativeToMax;

        public override double Error(ParityMetrics metrics) => metrics.RelativeToMax;

        public override double Threshold(ParityMetrics metrics) => rtol + (atol / Math.Max(metrics.ReferenceMaxMagnitude, ParityMetrics.Tiny));

        public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"relative-to-max(rtol={rtol:G3}, atol={atol:G3})");
    }

    private sealed class CosineComparer(double floor) : TensorComparer
    {
        public override ParityRule? Rule => ParityRule.Cosine;

        public override double Error(ParityMetrics metrics) => 1 - metrics.CosineSimilarity;

        public override double Threshold(ParityMetrics metrics) => 1 - floor;

        public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"cosine(floor={floor:G6})");
    }
}
