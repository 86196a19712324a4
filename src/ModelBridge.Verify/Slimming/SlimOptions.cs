using ModelBridge.Rewriting;
using ModelBridge.Slimming;

namespace ModelBridge.Verify.Slimming;

/// <summary>What <see cref="Slimmer.Plan"/> slims and how hard it looks.</summary>
/// <remarks>Immutable; the defaults are what <c>convert --slim</c> uses.</remarks>
public sealed record SlimOptions
{
    private readonly double _targetMacs = 1;
    private readonly double _contractMargin = 2;
    private readonly int _steps = 10;
    private readonly int _positionsPerImage = 1024;
    private readonly int _sensitivitySamples = 4;
    private readonly double _minLayerShare = 0.005;

    /// <summary>Substring of the node, output or weight names of the convs to consider (<see cref="Ir.NodeNaming.Matches"/>); empty for every standard conv.</summary>
    public string Scope { get; init; } = string.Empty;

    /// <summary>F: the slimmed model's MACs as a fraction of the original's, in (0, 1].</summary>
    /// <exception cref="ArgumentOutOfRangeException">Outside (0, 1].</exception>
    public double TargetMacs
    {
        get => _targetMacs;
        init => _targetMacs = value > 0 && value <= 1 ? value : throw new ArgumentOutOfRangeException(nameof(TargetMacs), value, "The MAC budget is a fraction in (0, 1].");
    }

    /// <summary>The factorisations to consider (all three by default).</summary>
    public IReadOnlyList<FactorizationMethod> Methods { get; init; } = [FactorizationMethod.Channel, FactorizationMethod.Spatial, FactorizationMethod.Separable];

    /// <summary>Candidate ratios per method and layer: ranks costing at most k/Steps of the layer, k = 1 … Steps − 1 (AIMET's default is 10).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Less than 2.</exception>
    public int Steps
    {
        get => _steps;
        init => _steps = value >= 2 ? value : throw new ArgumentOutOfRangeException(nameof(Steps), value, "At least 2 steps.");
    }

    /// <summary>Output positions sampled per calibration image and conv for the patch moments (1024 by default).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Less than 1.</exception>
    public int PositionsPerImage
    {
        get => _positionsPerImage;
        init => _positionsPerImage = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(PositionsPerImage), value, "At least 1 position.");
    }

    /// <summary>Calibration samples the per-layer sensitivity is measured on (the first ones; 4 by default).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Less than 1.</exception>
    public int SensitivitySamples
    {
        get => _sensitivitySamples;
        init => _sensitivitySamples = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(SensitivitySamples), value, "At least 1 sample.");
    }

    /// <summary>
    /// The factor between the error a tensor showed on the calibration samples and the budget its
    /// <see cref="NumericContract"/> allows (2 by default): held-out inputs may err a little more.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Less than 1.</exception>
    public double ContractMargin
    {
        get => _contractMargin;
        init => _contractMargin = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(ContractMargin), value, "The margin is at least 1.");
    }

    /// <summary>
    /// Layers costing less than this share of the model's MACs are left alone (0.005 by default): a conv
    /// that cannot save even half a percent (a squeeze-excitation 1×1 on a pooled vector) only adds error.
    /// AIMET selects every standard conv; this filter is ModelBridge's.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Outside [0, 1).</exception>
    public double MinLayerShare
    {
        get => _minLayerShare;
        init => _minLayerShare = value is >= 0 and < 1 ? value : throw new ArgumentOutOfRangeException(nameof(MinLayerShare), value, "A share in [0, 1).");
    }

    /// <summary>
    /// With calibration data, refit each chosen layer's second factor and bias, in graph order, to the inputs
    /// it gets once the layers above it are slimmed (on by default; <see cref="ConvFitter.Refit"/>).
    /// </summary>
    public bool Refit { get; init; } = true;

    /// <summary>Seed of the position sampler (and of the random sample used for budgets without calibration data).</summary>
    public int Seed { get; init; }

    /// <summary>
    /// Bytes of activations one ORT run may expose as extra outputs (256 MiB by default); more layers mean
    /// more, smaller runs. ORT's arena and the copies read back roughly double it at the peak.
    /// </summary>
    public long MaxMemoryBytes { get; init; } = 256L << 20;

    /// <summary>ORT intra-op threads; 0 lets ORT choose.</summary>
    public int IntraOpThreads { get; init; }
}
