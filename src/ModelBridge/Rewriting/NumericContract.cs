using System.Globalization;

namespace ModelBridge.Rewriting;

/// <summary>
/// What a pass promises about the numbers its rewrite produces, compared with the values they
/// replace: bit-identical (<see cref="Exact"/>) or within a tolerance (<see cref="Approximate"/>).
/// </summary>
/// <remarks>
/// The parity checker widens its tolerance for a tensor by the contracts of the passes that
/// produced it, so that an approximate pass's expected error is reported, not hidden.
/// A tensor meets a contract when, elementwise, |new − old| ≤ atol + rtol·|old|.
/// <para>A pass's contract is local: the error its rewrite adds, so verify composes it with the
/// contracts carried from upstream. A <see cref="Measured"/> contract is a total instead: the error
/// measured at the tensor itself against the original model (a slimming budget), which already includes
/// what the measured rewrites upstream did to it.</para>
/// </remarks>
public sealed record NumericContract
{
    private NumericContract(bool isExact, double rtol, double atol, bool isMeasured = false)
    {
        IsExact = isExact;
        RelativeTolerance = rtol;
        AbsoluteTolerance = atol;
        IsMeasured = isMeasured;
    }

    /// <summary>True when the rewrite computes bit-identical values (renames, no-op removal).</summary>
    public bool IsExact { get; }

    /// <summary>Relative tolerance (0 when exact).</summary>
    public double RelativeTolerance { get; }

    /// <summary>Absolute tolerance (0 when exact).</summary>
    public double AbsoluteTolerance { get; }

    /// <summary>
    /// True for a budget measured at the tensor itself (<see cref="Measured"/>): it already covers the
    /// error of the measured rewrites upstream, so it is not added to the contracts carried from there.
    /// </summary>
    public bool IsMeasured { get; }

    /// <summary>The rewrite changes no number.</summary>
    public static NumericContract Exact { get; } = new(true, 0, 0);

    /// <summary>The rewrite reorders float math; results agree within the given tolerances.</summary>
    public static NumericContract Approximate(double rtol, double atol)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rtol);
        ArgumentOutOfRangeException.ThrowIfNegative(atol);
        return new(false, rtol, atol);
    }

    /// <summary>
    /// A budget measured at the tensor itself, against the original model, on sample inputs: the
    /// tensor differs by at most <paramref name="atol"/> + <paramref name="rtol"/>·|old|, error from
    /// upstream included (a slimmed convolution and everything downstream of it).
    /// </summary>
    public static NumericContract Measured(double rtol, double atol)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rtol);
        ArgumentOutOfRangeException.ThrowIfNegative(atol);
        return new(false, rtol, atol, isMeasured: true);
    }

    /// <summary>The contract of two rewrites applied one after the other (tolerances add; measured if either is).</summary>
    public NumericContract Then(NumericContract next)
    {
        ArgumentNullException.ThrowIfNull(next);
        if (IsExact)
        {
            return next;
        }
        if (next.IsExact)
        {
            return this;
        }
        return new(false, RelativeTolerance + next.RelativeTolerance, AbsoluteTolerance + next.AbsoluteTolerance, IsMeasured || next.IsMeasured);
    }

    /// <summary>
    /// The looser of two contracts, for a value fed by both: the larger rtol and the larger atol (exact only
    /// when both are; measured if either is).
    /// </summary>
    public NumericContract Widest(NumericContract other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return IsExact ? other : other.IsExact ? this
            : new(false, Math.Max(RelativeTolerance, other.RelativeTolerance), Math.Max(AbsoluteTolerance, other.AbsoluteTolerance),
                IsMeasured || other.IsMeasured);
    }

    /// <inheritdoc/>
    public override string ToString() => IsExact
        ? "exact"
        : string.Create(CultureInfo.InvariantCulture, $"{(IsMeasured ? "measured" : "approximate")}(rtol={RelativeTolerance:G3}, atol={AbsoluteTolerance:G3})");
}
