namespace ModelBridge.Passes;

/// <summary>
/// The ways a lowering may rearrange C·s_h·s_w channels into C channels of an s_h×s_w larger image
/// (the "pixel shuffle" after a sub-pixel convolution), as a target allows.
/// </summary>
/// <remarks>
/// DepthToSpace interleaves one blocksize on both axes. <c>DCR</c> (depth-column-row, the only mode
/// before opset 11 and the default after it) reads input channel (i·s + j)·C + c for output channel c
/// at block offset (i, j); <c>CRD</c> reads c·s² + i·s + j (spec, DepthToSpace-13). Where neither
/// fits (s_h ≠ s_w, or a grouped convolution, whose output channels must stay contiguous per group,
/// on a target with only DCR), the same CRD interleave is spelled with rank-4 Reshape and Transpose.
/// </remarks>
public sealed record PixelShuffleForms
{
    /// <summary>Every form ONNX offers: DepthToSpace in DCR or CRD mode, and Reshape/Transpose.</summary>
    public static PixelShuffleForms Any { get; } = new();

    /// <summary>DepthToSpace modes the target accepts, in order of preference (<c>DCR</c>, <c>CRD</c>); empty when it has no DepthToSpace.</summary>
    public IReadOnlyList<string> DepthToSpaceModes { get; init; } = ["DCR", "CRD"];

    /// <summary>Whether rank-4 Reshape (constant shape) and Transpose may spell the interleave where DepthToSpace does not fit.</summary>
    public bool ReshapeTranspose { get; init; } = true;

    /// <inheritdoc/>
    public override string ToString() =>
        $"DepthToSpace [{string.Join(", ", DepthToSpaceModes)}]{(ReshapeTranspose ? ", Reshape/Transpose" : "")}";
}
