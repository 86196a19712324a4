namespace ModelBridge.Profiles;

/// <summary>How a convolution uses its groups.</summary>
public enum ConvKind
{
    /// <summary><c>group = 1</c>: every output channel sees every input channel.</summary>
    Standard,

    /// <summary><c>group = C_in</c> (one input channel per group), any channel multiplier.</summary>
    Depthwise,

    /// <summary><c>1 &lt; group</c> with more than one input channel per group.</summary>
    Grouped,
}
