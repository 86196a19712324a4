using ModelBridge.Ir;
using ModelBridge.Rewriting;
using ModelBridge.Slimming;

namespace ModelBridge.Passes;

/// <summary>
/// Records in the tensor map the error a slimming plan lets every tensor downstream of a factored
/// convolution carry, so that verify judges them by the chosen budget rather than by float tolerance.
/// <code>
/// Before: y = Conv'(x) (factored, contract c_y) → t = Relu(y) (contract exact)
/// After:  the same graph; t's contract widened by the plan's c_t
/// </code>
/// </summary>
/// <remarks>
/// Preconditions: a value named in <see cref="SlimPlan.Contracts"/> that no slimming pass has recorded yet
/// (factored outputs already carry theirs). The graph is not changed; each value is widened once.
/// Numerics: approximate, by each value's own contract (the pass declares the plan's widest). The budget
/// of a tensor is the error the slimmed model showed there on calibration inputs, times a margin
/// (see the slimmer that made the plan), so any larger error is still reported, and localised, as a divergence.
/// </remarks>
public sealed class DeclareSlimmingBudget : GraphPass
{
    /// <summary>The pass id.</summary>
    public const string PassId = "declare-slimming-budget";

    /// <summary>Creates the pass for <paramref name="plan"/>.</summary>
    public DeclareSlimmingBudget(SlimPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        Plan = plan;
    }

    /// <summary>The plan.</summary>
    public SlimPlan Plan { get; }

    /// <inheritdoc/>
    public override string Id => PassId;

    /// <inheritdoc/>
    public override IReadOnlyList<string> GeneratedOps => [];

    /// <inheritdoc/>
    public override NumericContract Numerics => Plan.Bound();

    /// <inheritdoc/>
    protected override int Run(GraphRewriter rewriter, CancellationToken cancellationToken)
    {
        int widened = 0;
        foreach (var (name, contract) in Plan.Contracts.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (rewriter.Graph.FindValue(name) is not { } value || rewriter.Provenance.Get(name) is not { IsMapped: true } origin)
            {
                continue;
            }
            if (origin.Passes.Any(p => SlimPlan.PassIds.Contains(p)))
            {
                continue;
            }
            rewriter.Widen(value, contract);
            widened++;
        }
        return widened;
    }
}
