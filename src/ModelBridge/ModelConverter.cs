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

    /// <summary>
    /// Keep initializers that the model also lists as graph inputs (the IR &lt; 4 habit) overridable at run
    /// time. By default <see cref="RemoveInitializerInputs"/> takes them off the input list so they are
    /// constants, as ONNX Runtime's <c>remove_initializer_from_input.py</c> and onnxsim do.
    /// </summary>
    public bool KeepInitializerInputs { get; init; }

    /// <summary>Pass ids not to run.</summary>
    public IReadOnlySet<string> DisabledPasses { get; init; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>Extra passes run in the lowering phase, after the profile-driven ones (before cleanup).</summary>
    public IReadOnlyList<Pass> AdditionalPasses { get; init; } = [];

    /// <summary>
    /// Factor the standard convolutions this string addresses (<see cref="NodeNaming.Matches"/>: a node,
    /// output or weight name containing it, e.g. <c>/fpn/</c> or <c>base_net.5</c>) into depthwise + 1×1
    /// (<see cref="LowerConvToSeparable"/>); null for none.
    /// </summary>
    public string? SeparableScope { get; init; }

    /// <summary>Relative weight-reconstruction error allowed per factored convolution (0 = full rank).</summary>
    public double ErrorBudget { get; init; }

    /// <summary>
    /// A slimming plan to apply (factored convolutions and the error budget of every tensor they affect),
    /// made on this conversion's canonical graph, e.g. by <c>ModelBridge.Verify.Slimming.Slimmer</c>; null for none.
    /// Cannot be combined with <see cref="SeparableScope"/>.
    /// </summary>
    public Slimming.SlimPlan? Slimming { get; init; }

    /// <summary>Output surgery (drop outputs or FPN levels, slice classes/anchors, rename and reorder outputs), run last.</summary>
    public Surgery.OutputSurgeryOptions? Surgery { get; init; }

    /// <summary>Validate the graph after each pass (see <see cref="PipelineOptions.ValidateAfterEachPass"/>).</summary>
    public bool? ValidateAfterEachPass { get; init; }
}

/// <summary>The outcome of a conversion.</summary>
/// <param name="Model">The converted model (a new model; the input is never changed).</param>
/// <param name="TensorMap">From each value of the converted graph to the original value it equals.</param>
/// <param name="Statistics">Per-pass statistics in pipeline order (every phase).</param>
/// <param name="Remaining">The converted graph checked against the profile: nodes still unsupported, with reasons.</param>
/// <param name="PassIds">The enabled passes, in order.</param>
/// <param name="Profile">The profile the model was converted for (a custom one included), so the conversion can be replayed.</param>
/// <param name="Options">The options the conversion ran with.</param>
public sealed record ConversionResult(Model Model, ProvenanceMap TensorMap, IReadOnlyList<PassStatistics> Statistics, ProfileReport Remaining,
    IReadOnlyList<string> PassIds, TargetProfile Profile, ConvertOptions Options)
{
    /// <summary>
    /// Why no rewrite turned a node the target still refuses into something it accepts: each pass that was
    /// tried on the node (in its last round) and the reason it declined, as <c>pass-id: reason</c>. Empty
    /// when no pass of this conversion rewrites the node's operator at all.
    /// </summary>
    public IReadOnlyList<string> RewriteRefusals(string nodeName)
    {
        ArgumentNullException.ThrowIfNull(nodeName);
        return [.. Statistics.Where(s => s.Refusals.ContainsKey(nodeName)).Select(s => $"{s.Id}: {s.Refusals[nodeName]}")];
    }

    /// <summary>Per factored convolution: rank, weight error, MACs and parameters before/after (from the pass notes).</summary>
    public IReadOnlyList<SeparableReport> SeparableReports => [.. Statistics.SelectMany(s => s.Notes).OfType<SeparableReport>()];

    /// <summary>
    /// Converts <paramref name="original"/> again with the same profile and options, minus the passes in
    /// <paramref name="disabled"/> (how verify attributes a divergence to a pass).
    /// </summary>
    public ConversionResult Replay(Model original, IEnumerable<string> disabled, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(original);
        ArgumentNullException.ThrowIfNull(disabled);
        var all = new HashSet<string>(Options.DisabledPasses, StringComparer.Ordinal);
        all.UnionWith(disabled);
        return ModelConverter.Convert(original, Profile, Options with { DisabledPasses = all }, cancellationToken);
    }
}

/// <summary>
/// Converts a model for a target: runs the pipelines the profile needs (<see cref="Pipeline.ForProfile"/>),
/// then any output surgery, re-checks the graph against the profile, and returns the model, the tensor
/// map, per-pass statistics and whatever is still unsupported (nothing is silently dropped).
/// </summary>
/// <remarks>
/// Shape facts are inferred with the pinned dims (<see cref="ConvertOptions.Dims"/>) whenever a pass
/// asks for them; at the end the converted graph's inputs, outputs and value_info declare their
/// inferred types, so the saved model carries its static shapes.
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
        var shapeOptions = new ShapeInferenceOptions { DimOverrides = options.Dims };
        // A node whose shapes contradict each other is a model problem: refuse it here, strictly,
        // rather than let passes see it as merely unknown.
        ShapeInference.Run(model.Graph, shapeOptions);
        Model converted = model.Clone();
        try
        {
            var pipelineOptions = new PipelineOptions { Disabled = options.DisabledPasses, Shapes = shapeOptions };
            if (options.ValidateAfterEachPass is bool v)
            {
                pipelineOptions = pipelineOptions with { ValidateAfterEachPass = v };
            }
            ProvenanceMap map = ProvenanceMap.Identity(converted.Graph);
            var stats = new List<PassStatistics>();
            IReadOnlyList<Pipeline> phases = Pipeline.ForProfile(profile, options);
            foreach (Pipeline phase in phases)
            {
                stats.AddRange(phase.Run(converted, pipelineOptions, map, cancellationToken).Statistics);
            }
            if (options.Surgery is { } surgery)
            {
                // Surgery resolves output names against the graph as it now stands, so it is built here.
                Pipeline cut = Pipeline.ForSurgery(surgery, converted.Graph, map, cleanup: true);
                stats.AddRange(cut.Run(converted, pipelineOptions, map, cancellationToken).Statistics);
            }
            ShapeInferenceResult shapes = ShapeInference.Run(converted.Graph, shapeOptions);
            DeclareInferredTypes(converted.Graph, shapes, map);
            ProfileReport remaining = ProfileChecker.Check(converted.Graph, profile, shapes);
            return new ConversionResult(converted, map, stats, remaining, PassIds(phases, options), profile, options);
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
        ArgumentNullException.ThrowIfNull(profile);
        options ??= new ConvertOptions();
        return PassIds(Pipeline.ForProfile(profile, options), options);
    }

    private static IReadOnlyList<string> PassIds(IReadOnlyList<Pipeline> phases, ConvertOptions options) =>
        [.. phases.SelectMany(p => p.Passes).Select(p => p.Id).Where(id => !options.DisabledPasses.Contains(id)).Distinct()];

    /// <summary>
    /// Writes the inferred types (with the pinned dims) into the declarations a saved model carries:
    /// graph inputs and outputs, and the value_info entries it was loaded with.
    /// </summary>
    private static void DeclareInferredTypes(Graph graph, ShapeInferenceResult shapes, ProvenanceMap map) =>
        GraphRewriter.Edit(graph, "declare-inferred-types", rewriter =>
        {
            foreach (Value value in graph.Inputs.Concat(graph.Outputs).Concat(graph.ValueInfoOrder.Select(e => e.Value)).Distinct().ToList())
            {
                if (graph.FindValue(value.Name) == value && shapes.TypeOf(value) is { } type && !Equals(type, value.DeclaredType))
                {
                    rewriter.DeclareType(value, type);
                }
            }
        }, map);
}
