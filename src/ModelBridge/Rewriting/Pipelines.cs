using ModelBridge.Passes;

namespace ModelBridge.Rewriting;

/// <summary>Pass lists that every conversion starts from.</summary>
public static class Pipelines
{
    /// <summary>
    /// Canonicalisation: removes no-ops, turns constants into initializers, folds constant and
    /// shape arithmetic (with <paramref name="dims"/> pinned), fuses every exported GroupNorm form
    /// into GroupNormalization, folds BatchNorm into convolutions, and cleans up.
    /// </summary>
    public static Pipeline Canonicalize(IReadOnlyDictionary<string, long>? dims = null) => new(CanonicalPasses(dims));

    /// <summary>The passes of <see cref="Canonicalize"/>, for building longer pipelines.</summary>
    public static IReadOnlyList<Pass> CanonicalPasses(IReadOnlyDictionary<string, long>? dims = null) =>
    [
        new EliminateIdentity(),
        new EliminateDropout(),
        new ConstantToInitializer(),
        new FoldConstants(),
        new FoldShapeArithmetic(dims),
        new FuseGroupNorm(),
        new FoldBatchNormIntoConv(),
        new EliminateDeadNodes(),
        new DeduplicateInitializers(),
    ];
}
