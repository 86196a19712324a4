using ModelBridge.Rewriting;

namespace ModelBridge.Slimming;

/// <summary>
/// What a conversion's slimming passes apply: the factors chosen for each layer (by weight name) and the
/// error budget every affected tensor carries, so that verify judges slimmed tensors by it.
/// </summary>
/// <remarks>
/// <para>
/// The plan is made on the canonical graph of the conversion (<see cref="Pipeline.ForProfile"/>'s first
/// phase) and applied in its lowering phase by <see cref="Passes.DecomposeConvChannels"/>,
/// <see cref="Passes.DecomposeConvSpatial"/> and <see cref="Passes.LowerConvToSeparable"/>, each taking the
/// layers of its method, then by <see cref="Passes.DeclareSlimmingBudget"/>, which widens the contract of
/// every other tensor downstream. Because the canonical phase is deterministic, replaying the conversion
/// (<see cref="ConversionResult.Replay"/>) applies the same plan.
/// </para>
/// <para>
/// <see cref="Contracts"/> maps a value of the canonical graph to the error it may carry: a factored conv's
/// output and every tensor it feeds. A slimming pass records it on the factored output; the budget pass on
/// the rest.
/// </para>
/// </remarks>
public sealed class SlimPlan
{
    /// <summary>Creates a plan.</summary>
    /// <param name="layers">The factors per layer, by weight name.</param>
    /// <param name="contracts">The allowed error per canonical value name.</param>
    public SlimPlan(IReadOnlyDictionary<string, ConvFactors> layers, IReadOnlyDictionary<string, NumericContract> contracts)
    {
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentNullException.ThrowIfNull(contracts);
        Layers = new Dictionary<string, ConvFactors>(layers, StringComparer.Ordinal);
        Contracts = new Dictionary<string, NumericContract>(contracts, StringComparer.Ordinal);
    }

    /// <summary>The factors per layer, by the name of the value holding the original weight.</summary>
    public IReadOnlyDictionary<string, ConvFactors> Layers { get; }

    /// <summary>The error each affected value of the canonical graph may carry.</summary>
    public IReadOnlyDictionary<string, NumericContract> Contracts { get; }

    /// <summary>Ids of the passes that apply a plan.</summary>
    public static IReadOnlyList<string> PassIds { get; } =
        [Passes.DecomposeConvChannels.PassId, Passes.DecomposeConvSpatial.PassId, Passes.LowerConvToSeparable.PassId, Passes.DeclareSlimmingBudget.PassId];

    /// <summary>
    /// The widest contract in the plan (what a pass applying it declares as its bound), at least 1e-5;
    /// measured when the plan's contracts are.
    /// </summary>
    public NumericContract Bound() => Contracts.Values.Aggregate(NumericContract.Approximate(1e-5, 1e-5), (a, c) => a.Widest(c));

    /// <summary>The contract recorded for a factored conv's output <paramref name="value"/>: the plan's, else <see cref="Bound"/>.</summary>
    public NumericContract ContractFor(string value) => Contracts.GetValueOrDefault(value) ?? Bound();
}
