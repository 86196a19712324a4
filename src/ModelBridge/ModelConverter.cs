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

    /// <summary>
    /// Factor the standard convolutions whose node name contains this string (e.g. <c>/fpn/</c>) into
    /// depthwise + 1×1 (<see cref="LowerConvToSeparable"/>); null for none.
    /// </summary>
    public string? SeparableScope { get; init; }

    /// <summary>Relative weight-reconstruction error allowed per factored convolution (0 = full rank).</summary>
    public double ErrorBudget { get; init; }

    /// <summary>Output surgery (drop outputs or FPN levels, slice classes/anchors, rename and reorder outputs), run last.</summary>
    public Surgery.OutputSurgeryOptions? Surgery { get; init; }

    /// <summary>Validate the graph after each pass (see <see cref="PipelineOptions.ValidateAfterEachPass"/>).</summary>
    public bool? ValidateAfterEachPass { get; init; }
}

/// <summary>The outcome of a conversion.</summary>
/// <param name="Model">The converted model (a new model; the input is never changed).</param>
/// <param name="TensorMap">From each value of the converted graph to the original value it equals.</param>
/// <param name="Statistics">Per-pass statistics in pipeline order (both phases).</param>
/// <param name="Remaining">The converted graph checked against the profile: nodes still unsupported, with reasons.</param>
/// <param name="PassIds">The enabled passes, in order.</param>
/// <param name="SeparableReports">Per factored convolution: rank, weight error, MACs and parameters before/after.</param>
public sealed record ConversionResult(Model Model, ProvenanceMap TensorMap, IReadOnlyList<PassStatistics> Statistics, ProfileReport Remaining,
    IReadOnlyList<string> PassIds, IReadOnlyList<SeparableReport> SeparableReports);

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
            IReadOnlyList<Pipeline> phases = Phases(profile, options);
            foreach (Pipeline phase in phases)
            {
                // Lowering passes read static shapes: infer them (with the pinned dims) before each phase.
                ShapeInference.Run(converted.Graph, new ShapeInferenceOptions { DimOverrides = options.Dims });
                PipelineResult r = phase.Run(converted, pipelineOptions, map, cancellationToken);
                stats.AddRange(r.Statistics);
            }
            if (options.Surgery is { } surgery)
            {
                // Surgery resolves output names against the graph as it now stands, so it is built here.
                var cut = new Pipeline([.. Surgery.OutputSurgery.Passes(surgery, converted.Graph, map), new EliminateDeadNodes()]);
                stats.AddRange(cut.Run(converted, pipelineOptions, map, cancellationToken).Statistics);
            }
            ShapeInference.Run(converted.Graph, new ShapeInferenceOptions { DimOverrides = options.Dims });
            ProfileReport remaining = ProfileChecker.Check(converted.Graph, profile);
            var separable = phases.SelectMany(p => p.Passes).OfType<LowerConvToSeparable>().SelectMany(p => p.Reports).ToList();
            return new ConversionResult(converted, map, stats, remaining, PassIds(profile, options), separable);
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
        bool Has(string op) => profile.Find("", op) is not null;
        var lowering = new List<Pass>(ConvLowering.Passes(ConvOptionsFor(profile, options)));
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

    /// <summary>What the profile's Conv/pool constraints ask of the convolution lowering.</summary>
    public static ConvLoweringOptions ConvOptionsFor(TargetProfile profile, ConvertOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(profile);
        OpConstraints? conv = profile.Find("", "Conv")?.WithDefaults(profile.Defaults);
        OpConstraints? maxPool = profile.Find("", "MaxPool")?.WithDefaults(profile.Defaults);
        GroupPolicy policy = conv?.GroupPolicy ?? GroupPolicy.Any;
        bool ceilRefused = maxPool?.Attributes is { } attrs && attrs.TryGetValue("ceil_mode", out var allowed) && !allowed.Contains("1");
        return new ConvLoweringOptions
        {
            // Explicit pads are accepted everywhere; lowering auto_pad is exact, so always do it.
            NoAutoPad = true,
            LowerGroupedConv = policy != GroupPolicy.Any,
            DepthwiseMultiplierOne = policy is GroupPolicy.Standard or GroupPolicy.Depthwise,
            RequireSymmetricPads = conv?.SymmetricPads == true,
            NoCeilMode = ceilRefused,
            GlobalPool = profile.Find("", "GlobalAveragePool") is null && profile.Find("", "ReduceMean") is not null ? GlobalPoolForm.Reduce : null,
            SeparableScope = options?.SeparableScope,
            ErrorBudget = options?.ErrorBudget ?? 0,
        };
    }
}
