using ModelBridge.Ir;
using ModelBridge.Passes;
using ModelBridge.Profiles;
using ModelBridge.Rewriting;
using ModelBridge.Shapes;

namespace ModelBridge;

/// <summary>Options of <see cref="ModelConverter.Convert"/>.</summary>
public sealed record ConvertOptions
{
    /// <summary>Symbolic dimensions to pin (e.g. <c>N = 1</c>); phone runtimes want static shapes.</summary>
    public IReadOnlyDictionary<string, long> Dims { get; init; } = new Dictionary<string, long>();

    /// <summary>Pass ids not to run.</summary>
    public IReadOnlySet<string> DisabledPasses { get; init; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>Extra passes run in the lowering phase, after the profile-driven ones (before cleanup).</summary>
    public IReadOnlyList<Pass> AdditionalPasses { get; init; } = [];

    /// <summary>Validate the graph after each pass (see <see cref="PipelineOptions.ValidateAfterEachPass"/>).</summary>
    public bool? ValidateAfterEachPass { get; init; }
}

/// <summary>The outcome of a conversion.</summary>
/// <param name="Model">The converted model (a new model; the input is never changed).</param>
/// <param name="TensorMap">From each value of the converted graph to the original value it equals.</param>
/// <param name="Statistics">Per-pass statistics in pipeline order (both phases).</param>
/// <param name="Remaining">The converted graph checked against the profile: nodes still unsupported, with reasons.</param>
/// <param name="PassIds">The enabled passes, in order.</param>
public sealed record ConversionResult(Model Model, ProvenanceMap TensorMap, IReadOnlyList<PassStatistics> Statistics, ProfileReport Remaining,
    IReadOnlyList<string> PassIds);

/// <summary>
/// Converts a model for a target: picks and orders the passes the profile needs, runs them,
/// re-checks the graph against the profile, and returns the model, the tensor map, per-pass
/// statistics and whatever is still unsupported (nothing is silently dropped).
/// </summary>
/// <remarks>
/// Two phases, each run to a fixed point with one shared tensor map:
/// <list type="number">
/// <item><b>Canonicalise</b> (<see cref="Pipelines.CanonicalPasses"/>): no-op removal, constant and
/// shape folding with the pinned dims, GroupNorm fusion (every exported form), BatchNorm folding.</item>
/// <item><b>Lower for the target</b>: GroupNorm decomposition where the profile lacks
/// GroupNormalization (into InstanceNormalization where it has it, else the moments form),
/// standalone BatchNorm to Mul/Add where it lacks BatchNormalization, activation lowerings for
/// activations it lacks, the caller's additional passes, then cleanup.</item>
/// </list>
/// Fusion and decomposition live in different phases so they can never undo each other.
/// The input is validated first (<see cref="Graph.Validate"/>): a malformed graph is refused with
/// <see cref="Errors.InvalidModelException"/> listing its problems, before anything is rewritten.
/// A model importing a default-domain opset newer than <see cref="OpsetSupport.NewestKnown"/> is
/// refused with <see cref="Errors.UnsupportedOperatorException"/>.
/// Thread safety: converting different models on different threads at once is safe.
/// </remarks>
public static class ModelConverter
{
    /// <summary>Converts a clone of <paramref name="model"/> for <paramref name="profile"/>.</summary>
    public static ConversionResult Convert(Model model, TargetProfile profile, ConvertOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(profile);
        options ??= new ConvertOptions();
        // Refuse a malformed input up front: the passes assume a well-formed graph, and a problem
        // found later would be blamed on whichever pass ran first.
        model.Graph.Validate();
        OpsetSupport.RequireKnown(model, "conversion");
        Model converted = model.Clone();
        try
        {
            var pipelineOptions = new PipelineOptions
            {
                Disabled = options.DisabledPasses,
            };
            if (options.ValidateAfterEachPass is bool v)
            {
                pipelineOptions = pipelineOptions with { ValidateAfterEachPass = v };
            }
            ProvenanceMap map = ProvenanceMap.Identity(converted.Graph);
            var stats = new List<PassStatistics>();
            foreach (Pipeline phase in Phases(profile, options))
            {
                PipelineResult r = phase.Run(converted, pipelineOptions, map, cancellationToken);
                stats.AddRange(r.Statistics);
            }
            ShapeInference.Run(converted.Graph, new ShapeInferenceOptions { DimOverrides = options.Dims });
            ProfileReport remaining = ProfileChecker.Check(converted.Graph, profile);
            return new ConversionResult(converted, map, stats, remaining, PassIds(profile, options));
        }
        catch
        {
            converted.Dispose();
            throw;
        }
    }

    /// <summary>The enabled pass ids, in the order they run.</summary>
    public static IReadOnlyList<string> PassIds(TargetProfile profile, ConvertOptions? options = null)
    {
        options ??= new ConvertOptions();
        return [.. Phases(profile, options).SelectMany(p => p.Passes).Select(p => p.Id).Where(id => !options.DisabledPasses.Contains(id)).Distinct()];
    }

    /// <summary>The two pipelines for a profile.</summary>
    public static IReadOnlyList<Pipeline> Phases(TargetProfile profile, ConvertOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(profile);
        options ??= new ConvertOptions();
        var lowering = new List<Pass>();
        bool Has(string op) => profile.Find("", op) is not null;
        if (!Has("GroupNormalization"))
        {
            lowering.Add(new DecomposeGroupNorm(Has("InstanceNormalization") ? GroupNormDecomposition.InstanceNorm : GroupNormDecomposition.Moments));
        }
        if (!Has("BatchNormalization"))
        {
            lowering.Add(new LowerBatchNormToMulAdd());
        }
        if (!Has("HardSwish"))
        {
            lowering.Add(new LowerHardSwish(useHardSigmoid: Has("HardSigmoid")));
        }
        if (!Has("HardSigmoid"))
        {
            lowering.Add(new LowerHardSigmoid());
        }
        if (!Has("LeakyRelu") && Has("Max"))
        {
            lowering.Add(new LowerLeakyRelu());
        }
        if (!Has("PRelu"))
        {
            lowering.Add(new LowerPRelu());
        }
        if (!Has("Gelu"))
        {
            lowering.Add(new LowerGelu());
        }
        lowering.AddRange(options.AdditionalPasses);
        lowering.Add(new EliminateDeadNodes());
        lowering.Add(new DeduplicateInitializers());
        return [Pipelines.Canonicalize(options.Dims), new Pipeline(lowering)];
    }
}
