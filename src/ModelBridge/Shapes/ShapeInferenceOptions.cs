namespace ModelBridge.Shapes;

/// <summary>How <see cref="ShapeInference.Run"/> infers shapes.</summary>
public sealed record ShapeInferenceOptions
{
    /// <summary>
    /// Symbols to pin to a size, e.g. <c>"N" = 1</c>. Every occurrence of the symbol in a graph input
    /// or declared value type is replaced by the number before inference starts.
    /// </summary>
    public IReadOnlyDictionary<string, long> DimOverrides { get; init; } = new Dictionary<string, long>(StringComparer.Ordinal);

    /// <summary>
    /// Largest integer tensor (in elements) whose values are tracked for partial evaluation of
    /// shape arithmetic; larger constants are treated as opaque.
    /// </summary>
    public int MaxConstantElements { get; init; } = 4096;

    /// <summary>
    /// Where inference leaves an output's element type, rank or a dimension unknown, keep what the
    /// model declared for it (value_info or graph output). When false, inferred types replace
    /// declared ones outright, which shows exactly what inference alone could derive.
    /// </summary>
    public bool MergeDeclaredTypes { get; init; } = true;

    /// <summary>
    /// When a node is malformed (a Reshape whose element counts differ, a Conv whose weight rank differs
    /// from its input's), leave its outputs unknown and add a warning instead of throwing. Readers that
    /// only want what is known (checks, costs, a pass's match) use this; validation does not.
    /// </summary>
    public bool Lenient { get; init; }

    /// <summary>The defaults: strict, declared types merged, dims as declared.</summary>
    public static ShapeInferenceOptions Default { get; } = new();
}
