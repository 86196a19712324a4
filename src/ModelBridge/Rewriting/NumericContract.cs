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
/// </remarks>
public sealed record NumericContract
{
    private NumericContract(bool isExact, double rtol, double atol)
    {
        IsExact = isExact;
        RelativeTolerance = rtol;
        AbsoluteTolerance = atol;
    }

    /// <summary>True when the rewrite computes bit-identical values (renames, no-op removal).</summary>
    public bool IsExact { get; }

    /// <summary>Relative tolerance (0 when exact).</summary>
    public double RelativeTolerance { get; }

    /// <summary>Absolute tolerance (0 when exact).</summary>
    public double AbsoluteTolerance { get; }

    /// <summary>The rewrite changes no number.</summary>
    public static NumericContract Exact { get; } = new(true, 0, 0);

    /// <summary>The rewrite reorders float math; results agree within the given tolerances.</summary>
    public static NumericContract Approximate(double rtol, double atol)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rtol);
        ArgumentOutOfRangeException.ThrowIfNegative(atol);
        return new(false, rtol, atol);
    }

    /// <summary>The contract of two rewrites applied one after the other (tolerances add).</summary>
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
        return new(false, RelativeTolerance + next.RelativeTolerance, AbsoluteTolerance + next.AbsoluteTolerance);
    }

    /// <inheritdoc/>
    public override string ToString() => IsExact
        ? "exact"
        : string.Create(CultureInfo.InvariantCulture, $"approximate(rtol={RelativeTolerance:G3}, atol={AbsoluteTolerance:G3})");
}
