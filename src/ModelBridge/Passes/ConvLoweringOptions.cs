using ModelBridge.Rewriting;

namespace ModelBridge.Passes;

/// <summary>Which form global pooling should take, when a target prefers one.</summary>
public enum GlobalPoolForm
{
    /// <summary>ReduceMean/ReduceMax over the spatial axes (<see cref="LowerGlobalPool"/>).</summary>
    Reduce,

    /// <summary>GlobalAveragePool/GlobalMaxPool (<see cref="RaiseReduceToGlobalPool"/>).</summary>
    GlobalPool,
}

/// <summary>Which form single-sample 1×1 convolutions and fully connected layers should take.</summary>
public enum PointwiseForm
{
    /// <summary>Gemm/MatMul (<see cref="LowerConv1x1ToGemm"/>).</summary>
    Gemm,

    /// <summary>1×1 Conv (<see cref="LowerGemmToConv1x1"/>).</summary>
    Conv,
}

/// <summary>What <see cref="Pipeline.ConvLoweringPasses"/> lowers; the defaults lower nothing but zero Pads.</summary>
public sealed record ConvLoweringOptions
{
    /// <summary>
    /// Convolutions whose node name contains this string are factored into depthwise + 1×1
    /// (<c>--lower-to-separable SCOPE</c>); null for none.
    /// </summary>
    public string? SeparableScope { get; init; }

    /// <summary>Relative Frobenius weight error allowed per separable convolution (<c>--error-budget E</c>); 0 for full rank.</summary>
    public double ErrorBudget { get; init; }

    /// <summary>The target has no grouped convolution (1 &lt; group &lt; C_in).</summary>
    public bool LowerGroupedConv { get; init; }

    /// <summary>The target's convolutions and pools take symmetric pads only.</summary>
    public bool RequireSymmetricPads { get; init; }

    /// <summary>The target's depthwise convolution has no channel multiplier.</summary>
    public bool DepthwiseMultiplierOne { get; init; }

    /// <summary>With <see cref="DepthwiseMultiplierOne"/>: permute a following 1×1 conv instead of reordering channels where possible.</summary>
    public bool DepthwiseMultiplierIntoPointwise { get; init; }

    /// <summary>
    /// A slimming plan: its factorisations (<see cref="DecomposeConvChannels"/>, <see cref="DecomposeConvSpatial"/>,
    /// <see cref="LowerConvToSeparable"/>) and budget (<see cref="DeclareSlimmingBudget"/>) run where
    /// <see cref="SeparableScope"/> would; null for none. The two cannot be combined.
    /// </summary>
    public Slimming.SlimPlan? Slimming { get; init; }

    /// <summary>The target does not accept auto_pad.</summary>
    public bool NoAutoPad { get; init; }

    /// <summary>The target's pools have no ceil_mode.</summary>
    public bool NoCeilMode { get; init; }

    /// <summary>The target's convolutions take no bias input.</summary>
    public bool NoConvBias { get; init; }

    /// <summary>Fold standalone zero Pads into the convolution that reads them (on by default).</summary>
    public bool FoldPads { get; init; } = true;

    /// <summary>Preferred form of global pooling, or null to leave it.</summary>
    public GlobalPoolForm? GlobalPool { get; init; }

    /// <summary>Preferred form of single-sample 1×1 convolutions and fully connected Gemms, or null to leave them.</summary>
    public PointwiseForm? Pointwise { get; init; }
}
