namespace ModelBridge.Passes;

/// <summary>
/// The Softmax (and LogSoftmax) a target runs, and the ops <see cref="LowerSoftmaxToSupportedForm"/>
/// may put around it. A target is assumed to apply a per-axis softmax along the axis as written,
/// which is what ONNX means from opset 13 and what hardware softmax layers do.
/// </summary>
public sealed record SoftmaxForms
{
    /// <summary>The most portable form: rank 2, axis 1 (the last), written out.</summary>
    public static SoftmaxForms TwoDimensional { get; } = new() { Ranks = [2], LastAxisOnly = true };

    /// <summary>Ranks of input the target runs the op on; null for any rank.</summary>
    public IReadOnlyList<int>? Ranks { get; init; }

    /// <summary>Whether the target runs the op only along the last axis.</summary>
    public bool LastAxisOnly { get; init; }

    /// <summary>Whether Reshape with a constant shape may be used (flattening to 2-D and back).</summary>
    public bool Reshape { get; init; } = true;

    /// <summary>Whether Transpose may be used (moving the axis last and back).</summary>
    public bool Transpose { get; init; } = true;

    /// <summary>The largest input rank the target's Reshape takes; null for any.</summary>
    public int? MaxReshapeRank { get; init; }

    /// <summary>True when the target runs the op on input rank <paramref name="rank"/>.</summary>
    public bool AcceptsRank(int rank) => Ranks is null || Ranks.Contains(rank);

    /// <inheritdoc/>
    public override string ToString() =>
        $"rank {(Ranks is null ? "any" : string.Join("/", Ranks))}{(LastAxisOnly ? ", last axis" : "")}{(Reshape ? ", Reshape" : "")}{(Transpose ? ", Transpose" : "")}";
}
