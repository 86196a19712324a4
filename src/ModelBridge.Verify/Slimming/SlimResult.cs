using ModelBridge.Slimming;

namespace ModelBridge.Verify.Slimming;

/// <summary>What slimming chose for one candidate layer, and what it costs and measures.</summary>
public sealed record SlimLayerReport
{
    /// <summary>The weight's name (the layer's key).</summary>
    public required string Layer { get; init; }

    /// <summary>The Conv nodes applying it.</summary>
    public required IReadOnlyList<string> Nodes { get; init; }

    /// <summary>The weight's shape, <c>C_out x C_in x K_h x K_w</c>.</summary>
    public required string Shape { get; init; }

    /// <summary>The chosen factorisation, or null when the layer is kept.</summary>
    public FactorizationMethod? Method { get; init; }

    /// <summary>The chosen rank.</summary>
    public int? Rank { get; init; }

    /// <summary>The rank that would reproduce the weight exactly.</summary>
    public int? FullRank { get; init; }

    /// <summary>How the factors were fitted.</summary>
    public FitKind? Fit { get; init; }

    /// <summary>MACs of the layer's sites before.</summary>
    public required long MacsBefore { get; init; }

    /// <summary>MACs after.</summary>
    public required long MacsAfter { get; init; }

    /// <summary>Weight and bias elements before.</summary>
    public required long ParametersBefore { get; init; }

    /// <summary>Weight and bias elements after.</summary>
    public required long ParametersAfter { get; init; }

    /// <summary>The layer's own output error on the calibration patches (normalised RMS, <see cref="ConvFitter.DataError"/>); null without data.</summary>
    public double? CalibrationError { get; init; }

    /// <summary>‖W − W'‖_F / ‖W‖_F.</summary>
    public double? WeightError { get; init; }

    /// <summary>The measured sensitivity: the model's output error with only this layer slimmed (or the weight error without data).</summary>
    public double? Sensitivity { get; init; }
}

/// <summary>The outcome of <see cref="Slimmer.Plan"/>: the plan to convert with, and the evidence behind it.</summary>
public sealed class SlimResult
{
    /// <summary>The plan (<see cref="ConvertOptions.Slimming"/>).</summary>
    public required SlimPlan Plan { get; init; }

    /// <summary>The greedy allocation.</summary>
    public required Allocation Allocation { get; init; }

    /// <summary>Every candidate layer, in graph order.</summary>
    public required IReadOnlyList<SlimLayerReport> Layers { get; init; }

    /// <summary>Every candidate measured (the sensitivity table).</summary>
    public required IReadOnlyList<SlimCandidate> Candidates { get; init; }

    /// <summary>Convs left out, with the reason.</summary>
    public required IReadOnlyList<string> Excluded { get; init; }

    /// <summary>True when the factors were fitted to calibration data.</summary>
    public required bool DataAware { get; init; }

    /// <summary>Where the calibration samples came from (or why there were none).</summary>
    public required string Calibration { get; init; }

    /// <summary>Calibration samples used for the moments and budgets.</summary>
    public required int CalibrationSamples { get; init; }

    /// <summary>How the sensitivity was measured.</summary>
    public required string SensitivityMeasure { get; init; }

    /// <summary>MACs of the canonical model (the budget's base).</summary>
    public required long ModelMacs { get; init; }

    /// <summary>Parameters of the canonical model.</summary>
    public required long ModelParameters { get; init; }

    /// <summary>Things the caller should tell the user (fallbacks, unmet budget).</summary>
    public required IReadOnlyList<string> Notes { get; init; }

    /// <summary>Wall time of the planning.</summary>
    public TimeSpan Elapsed { get; init; }
}
