using System.Diagnostics;
using System.Globalization;
using ModelBridge.Costs;
using ModelBridge.Ir;
using ModelBridge.Profiles;
using ModelBridge.Rewriting;
using ModelBridge.Shapes;
using ModelBridge.Slimming;

namespace ModelBridge.Verify.Slimming;

/// <summary>
/// Makes a <see cref="SlimPlan"/> for a conversion: which convolutions to factor, how and at what rank, so
/// that the model meets a whole-model MAC budget with the least output error, with the factors fitted to
/// calibration data and every affected tensor's error budget measured.
/// </summary>
/// <remarks>
/// <para>Steps, all on the conversion's canonical graph (its first phase, so names match the conversion's):</para>
/// <list type="number">
/// <item>Candidate layers: the standard 2-D convs <see cref="SlimOptions.Scope"/> addresses (<see cref="ConvLayer.Find"/>), a weight
/// shared by several convs being one layer.</item>
/// <item>With calibration samples: each layer's input activations are captured in ONNX Runtime (extra
/// outputs, chunked to <see cref="SlimOptions.MaxMemoryBytes"/>) and reduced to patch moments at sampled
/// positions (<see cref="PatchMoments"/>); factors are fitted to them (<see cref="ConvFitter"/>).</item>
/// <item>Sensitivity, as AIMET's greedy selection measures it: for every candidate (method, rank) of
/// <see cref="RankAllocator.Grid"/>, the model is run with only that layer replaced (its weight and bias
/// overridden by the dense product of the factors, one ORT session for all candidates) and its outputs
/// compared with the unchanged model's: the error is the largest normalised RMS error over the graph
/// outputs. Without calibration data the relative weight error stands in.</item>
/// <item>Allocation: <see cref="RankAllocator.Allocate"/> at <see cref="SlimOptions.TargetMacs"/>.</item>
/// <item>Budgets: the slimmed canonical model and the canonical model run on the calibration samples (ORT
/// optimisation off, so unchanged tensors agree bit for bit); every tensor that differs gets
/// <c>Measured(rtol = m·max(max|d|/max|ref|, ‖d‖/‖ref‖), atol = m·max|d|)</c> with m the
/// <see cref="SlimOptions.ContractMargin"/>.</item>
/// </list>
/// </remarks>
public static partial class Slimmer
{
    /// <summary>Plans the slimming of <paramref name="original"/> for a conversion with <paramref name="profile"/> and <paramref name="options"/>.</summary>
    /// <param name="original">The model to convert (not changed).</param>
    /// <param name="profile">The conversion's target.</param>
    /// <param name="options">The conversion's options (pinned dims, disabled passes); any plan in them is ignored.</param>
    /// <param name="calibration">Calibration samples, or null to fit to the weights.</param>
    /// <param name="slim">What to slim and the budget.</param>
    /// <param name="progress">Progress per captured sample, measured candidate and budget chunk.</param>
    /// <param name="cancellationToken">Cancels between ORT runs.</param>
    /// <exception cref="ArgumentException">No conv can be slimmed, the shapes are not static, or the options conflict.</exception>
    public static SlimResult Plan(Model original, TargetProfile profile, ConvertOptions options, ParityInputs? calibration, SlimOptions slim,
        IProgress<ParityProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(original);
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(slim);
        if (options.SeparableScope is not null)
        {
            throw new ArgumentException("Slimming chooses each conv's factorisation itself; it cannot be combined with a separable scope.", nameof(options));
        }
        long started = Stopwatch.GetTimestamp();
        options = options with { Slimming = null };
        var notes = new List<string>();
        var shapeOptions = new ShapeInferenceOptions { DimOverrides = options.Dims };
        using Model canonical = Canonicalize(original, profile, options, shapeOptions, cancellationToken);
        ShapeInferenceResult shapes = ShapeInference.Run(canonical.Graph, shapeOptions);
        CostReport cost = CostModel.Compute(canonical.Graph, shapes);
        if (cost.Nodes.FirstOrDefault(n => n.Macs is null) is { } unknown)
        {
            throw new ArgumentException($"The MAC budget needs every node's MACs, but the shapes of {unknown.OpType} '{unknown.Name}' are not known; pin the input size.", nameof(options));
        }
        (IReadOnlyList<ConvLayer> found, IReadOnlyList<string> excludedByShape) = ConvLayer.Find(canonical.Graph, shapes, slim.Scope);
        long minMacs = (long)Math.Ceiling(slim.MinLayerShare * cost.TotalMacs);
        IReadOnlyList<ConvLayer> layers = [.. found.Where(l => l.OriginalMacs >= minMacs)];
        IReadOnlyList<string> excluded = [.. excludedByShape, .. found.Where(l => l.OriginalMacs < minMacs).Select(l =>
            string.Create(CultureInfo.InvariantCulture, $"{string.Join(", ", l.Sites.Select(s => s.Node))}: {l.OriginalMacs:N0} MACs, below {slim.MinLayerShare:P1} of the model's"))];
        if (layers.Count == 0)
        {
            throw new ArgumentException(slim.Scope.Length == 0
                ? "The model has no standard convolution that can be slimmed."
                : $"No standard convolution that can be slimmed matches the scope '{slim.Scope}' (node, output or weight names).", nameof(slim));
        }
        IReadOnlyList<IReadOnlyDictionary<string, TensorData>> samples = calibration?.Materialize(original) ?? [];
        bool dataAware = samples.Count > 0;
        Dictionary<string, PatchMoments>? moments = dataAware ? CaptureMoments(canonical, layers, samples, slim, progress, cancellationToken) : null;
        var fitters = layers.Select(l => new ConvFitter(l, WeightOf(canonical, l.Weight), l.Bias is null ? null : WeightOf(canonical, l.Bias), moments?[l.Weight])).ToList();
        var fits = new Dictionary<(string, FactorizationMethod, int), ConvFactors>();
        List<SlimCandidate> candidates = dataAware
            ? MeasureSensitivity(canonical, fitters, [.. samples.Take(slim.SensitivitySamples)], slim, fits, progress, cancellationToken)
            : WeightSensitivity(fitters, slim, fits);
        if (!dataAware)
        {
            notes.Add("no calibration data: the factors are fitted to the weights and each layer's sensitivity is its relative weight error (give calibration inputs for a data-aware fit)");
        }
        Allocation allocation = RankAllocator.Allocate(cost.TotalMacs, [.. layers.Select(l => (l.Weight, l.OriginalMacs))], candidates, slim.TargetMacs);
        if (!allocation.Met)
        {
            notes.Add(string.Create(CultureInfo.InvariantCulture,
                $"the budget of {slim.TargetMacs:P0} of the MACs cannot be met: with every candidate layer at its cheapest the model keeps {allocation.Fraction:P1} ({allocation.Macs:N0} of {allocation.ModelMacs:N0} MACs)"));
        }
        var chosen = new Dictionary<string, ConvFactors>(StringComparer.Ordinal);
        foreach (LayerChoice c in allocation.Layers)
        {
            if (c.Choice is { } choice)
            {
                chosen[c.Layer] = fits[(c.Layer, choice.Method, choice.Rank)];
            }
        }
        if (dataAware && slim.Refit)
        {
            RefitSequentially(canonical, fitters, chosen, samples, slim, progress, cancellationToken);
        }
        IReadOnlyList<IReadOnlyDictionary<string, TensorData>> budgetSamples = samples;
        if (!dataAware)
        {
            budgetSamples = ParityInputs.Random(1, slim.Seed, InputDistribution.Image01, options.Dims).Materialize(original);
            notes.Add("no calibration data: the tensors' error budgets are measured on one random sample (image01)");
        }
        IReadOnlyDictionary<string, NumericContract> contracts = chosen.Count == 0
            ? new Dictionary<string, NumericContract>()
            : MeasureBudgets(canonical, chosen, budgetSamples, slim, shapeOptions, progress, cancellationToken);
        return new SlimResult
        {
            Plan = new SlimPlan(chosen, contracts),
            Allocation = allocation,
            Layers = Reports(fitters, allocation, chosen, candidates),
            Candidates = candidates,
            Excluded = excluded,
            DataAware = dataAware,
            Calibration = calibration?.Description ?? "none",
            CalibrationSamples = samples.Count,
            SensitivityMeasure = dataAware
                ? $"model output error (largest normalised RMS error over the outputs) with only that layer slimmed, on {Math.Min(samples.Count, slim.SensitivitySamples)} calibration sample(s)"
                : "relative weight error ‖W − W'‖/‖W‖",
            ModelMacs = cost.TotalMacs,
            ModelParameters = cost.Total.Parameters,
            Notes = notes,
            Elapsed = Stopwatch.GetElapsedTime(started),
        };
    }

    /// <summary>The conversion's first phase on a clone of <paramref name="original"/>: the graph the plan's names refer to.</summary>
    private static Model Canonicalize(Model original, TargetProfile profile, ConvertOptions options, ShapeInferenceOptions shapeOptions, CancellationToken cancellationToken)
    {
        original.Graph.Validate();
        Model canonical = original.Clone();
        try
        {
            Pipeline.ForProfile(profile, options)[0].Run(canonical, new PipelineOptions { Disabled = options.DisabledPasses, Shapes = shapeOptions }, null, cancellationToken);
            return canonical;
        }
        catch
        {
            canonical.Dispose();
            throw;
        }
    }

    private static Tensor WeightOf(Model model, string name) =>
        Constants.WeightOf(model.Graph.GetValue(name)) ?? throw new InvalidOperationException($"'{name}' holds no constant.");

    private static List<SlimCandidate> WeightSensitivity(List<ConvFitter> fitters, SlimOptions slim, Dictionary<(string, FactorizationMethod, int), ConvFactors> fits)
    {
        var candidates = new List<SlimCandidate>();
        foreach (ConvFitter fitter in fitters)
        {
            ConvLayer layer = fitter.Layer;
            foreach (var (method, rank) in RankAllocator.Grid(layer, slim.Methods, slim.Steps))
            {
                ConvFactors f = fitter.Fit(method, rank);
                fits[(layer.Weight, method, rank)] = f;
                candidates.Add(new SlimCandidate(layer.Weight, method, rank, layer.Macs(method, rank), layer.Parameters(method, rank), fitter.WeightError(f)));
            }
        }
        return candidates;
    }

    private static List<SlimLayerReport> Reports(List<ConvFitter> fitters, Allocation allocation, Dictionary<string, ConvFactors> chosen, List<SlimCandidate> candidates)
    {
        var reports = new List<SlimLayerReport>();
        foreach (ConvFitter fitter in fitters)
        {
            ConvLayer l = fitter.Layer;
            SlimCandidate? c = allocation.Layers.First(x => x.Layer == l.Weight).Choice;
            ConvFactors? f = chosen.GetValueOrDefault(l.Weight);
            reports.Add(new SlimLayerReport
            {
                Layer = l.Weight,
                Nodes = [.. l.Sites.Select(s => s.Node)],
                Shape = $"{l.OutputChannels}x{l.InputChannels}x{l.KernelHeight}x{l.KernelWidth}",
                Method = c?.Method,
                Rank = c?.Rank,
                FullRank = c is null ? null : l.FullRank(c.Method),
                Fit = f?.Fit,
                MacsBefore = l.OriginalMacs,
                MacsAfter = c?.Macs ?? l.OriginalMacs,
                ParametersBefore = l.OriginalParameters,
                ParametersAfter = c?.Parameters ?? l.OriginalParameters,
                CalibrationError = f is null ? null : fitter.DataError(f),
                WeightError = f is null ? null : fitter.WeightError(f),
                Sensitivity = c?.Error,
            });
        }
        return reports;
    }

    /// <summary>The sample's tensors for the inputs <paramref name="runner"/> takes.</summary>
    private static Dictionary<string, TensorData> Feeds(OrtRunner runner, IReadOnlyDictionary<string, TensorData> sample)
    {
        var feeds = new Dictionary<string, TensorData>(StringComparer.Ordinal);
        foreach (string name in runner.InputNames)
        {
            feeds[name] = sample.TryGetValue(name, out TensorData? t) ? t : throw new ArgumentException($"The calibration samples have no tensor for input '{name}'.");
        }
        return feeds;
    }

    private static OrtRunnerOptions RunnerOptions(SlimOptions slim, GraphOptimization optimization, IEnumerable<string>? extra = null) => new()
    {
        Optimization = optimization,
        IntraOpThreads = slim.IntraOpThreads,
        LogLevel = OrtLogLevel.Error,
        ExtraOutputs = [.. (extra ?? []).Distinct(StringComparer.Ordinal)],
    };

    /// <summary>A deterministic seed from several indices (HashCode is randomised per process).</summary>
    private static int Mix(params int[] parts)
    {
        unchecked
        {
            int h = 17;
            foreach (int p in parts)
            {
                h = (h * 1000003) ^ p;
            }
            return h;
        }
    }
}
