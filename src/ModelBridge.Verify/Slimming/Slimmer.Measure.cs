using ModelBridge.Ir;
using ModelBridge.Passes;
using ModelBridge.Rewriting;
using ModelBridge.Shapes;
using ModelBridge.Slimming;

namespace ModelBridge.Verify.Slimming;

/// <summary>The ONNX Runtime measurements: activations, sensitivities and budgets.</summary>
public static partial class Slimmer
{
    /// <summary>Runs the canonical model on every sample, exposing the layers' inputs, and reduces them to patch moments.</summary>
    private static Dictionary<string, PatchMoments> CaptureMoments(Model canonical, IReadOnlyList<ConvLayer> layers,
        IReadOnlyList<IReadOnlyDictionary<string, TensorData>> samples, SlimOptions slim, IProgress<ParityProgress>? progress, CancellationToken cancellationToken)
    {
        var moments = layers.ToDictionary(l => l.Weight, l => new PatchMoments(l.PatchSize), StringComparer.Ordinal);
        Graph g = canonical.Graph;
        var index = layers.Select((l, i) => (l, i)).ToDictionary(x => x.l, x => x.i);
        List<List<ConvLayer>> chunks = ParityChecker.Chunk(layers, l => l.Sites.Sum(s => 4L * s.Batch * l.InputChannels * s.InputHeight * s.InputWidth), slim.MaxMemoryBytes);
        int done = 0, total = chunks.Count * samples.Count;
        foreach (List<ConvLayer> chunk in chunks)
        {
            IEnumerable<string> exposed = chunk.SelectMany(l => l.Sites).Select(s => s.Input).Where(n => !g.GetValue(n).IsGraphInput);
            using var runner = new OrtRunner(canonical, RunnerOptions(slim, GraphOptimization.All, exposed));
            for (int i = 0; i < samples.Count; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                IReadOnlyDictionary<string, TensorData> outputs = runner.Run(Feeds(runner, samples[i]), cancellationToken);
                foreach (ConvLayer layer in chunk)
                {
                    for (int s = 0; s < layer.Sites.Count; s++)
                    {
                        ConvSite site = layer.Sites[s];
                        TensorData x = outputs.GetValueOrDefault(site.Input) ?? samples[i][site.Input];
                        moments[layer.Weight].Add(layer, site, x.AsFloatSpan(), slim.PositionsPerImage, Mix(slim.Seed, 1, index[layer], i, s));
                    }
                }
                progress?.Report(new ParityProgress("capture", ++done, total, null));
            }
        }
        return moments;
    }

    /// <summary>
    /// Every candidate's sensitivity: the model run with only that layer's weight and bias overridden by the
    /// candidate's dense equivalent, its outputs compared with the unchanged model's.
    /// </summary>
    private static List<SlimCandidate> MeasureSensitivity(Model canonical, List<ConvFitter> fitters, List<IReadOnlyDictionary<string, TensorData>> samples,
        SlimOptions slim, Dictionary<(string, FactorizationMethod, int), ConvFactors> fits, IProgress<ParityProgress>? progress, CancellationToken cancellationToken)
    {
        using Model probe = canonical.Clone();
        Dictionary<string, (string Weight, string Bias, TensorData DefaultBias)> slots = MakeOverridable(probe, [.. fitters.Select(f => f.Layer)]);
        using var runner = new OrtRunner(probe, RunnerOptions(slim, GraphOptimization.All));
        var feeds = samples.Select(s => Feeds(runner, s)).ToList();
        var references = feeds.Select(f => runner.Run(f, cancellationToken)).ToList();
        var grids = fitters.Select(f => RankAllocator.Grid(f.Layer, slim.Methods, slim.Steps)).ToList();
        int done = 0, total = grids.Sum(g => g.Count);
        var candidates = new List<SlimCandidate>();
        for (int l = 0; l < fitters.Count; l++)
        {
            ConvLayer layer = fitters[l].Layer;
            var (weightSlot, biasSlot, defaultBias) = slots[layer.Weight];
            foreach (var (method, rank) in grids[l])
            {
                cancellationToken.ThrowIfCancellationRequested();
                ConvFactors f = fitters[l].Fit(method, rank);
                fits[(layer.Weight, method, rank)] = f;
                TensorData weight = TensorData.Create<float>([layer.OutputChannels, layer.InputChannels, layer.KernelHeight, layer.KernelWidth],
                    [.. f.DenseWeight().Select(v => (float)v)]);
                TensorData bias = f.Bias is { } b ? TensorData.FromTensor(b) : defaultBias;
                var stats = new Dictionary<string, ErrorStatistics>(StringComparer.Ordinal);
                for (int i = 0; i < feeds.Count; i++)
                {
                    var run = new Dictionary<string, TensorData>(feeds[i], StringComparer.Ordinal) { [weightSlot] = weight, [biasSlot] = bias };
                    Accumulate(stats, references[i], runner.Run(run, cancellationToken));
                }
                double error = stats.Count == 0 ? 0 : stats.Values.Max(s => s.NormalizedRmsError);
                candidates.Add(new SlimCandidate(layer.Weight, method, rank, layer.Macs(method, rank), layer.Parameters(method, rank), error));
                progress?.Report(new ParityProgress("sensitivity", ++done, total, layer.Sites[0].Node));
            }
        }
        return candidates;
    }

    /// <summary>
    /// Lists each layer's weight and bias as graph inputs of <paramref name="probe"/> (initializers stay as
    /// their defaults, so ORT lets a run override them); a conv without bias gets a zero one to override.
    /// </summary>
    private static Dictionary<string, (string Weight, string Bias, TensorData DefaultBias)> MakeOverridable(Model probe, IReadOnlyList<ConvLayer> layers)
    {
        Graph g = probe.Graph;
        var slots = new Dictionary<string, (string, string, TensorData)>(StringComparer.Ordinal);
        foreach (ConvLayer layer in layers)
        {
            Value w = g.GetValue(layer.Weight);
            Expose(g, w);
            Value b;
            if (layer.Bias is { } biasName)
            {
                b = g.GetValue(biasName);
            }
            else
            {
                b = g.AddInitializer(layer.Weight + "/slimming-probe-bias", Tensor.Create<float>([layer.OutputChannels], new float[layer.OutputChannels]));
                foreach (ConvSite site in layer.Sites)
                {
                    g.AddInputToNode(g.FindNode(site.Node) ?? throw new InvalidOperationException($"No node '{site.Node}'."), b);
                }
            }
            Expose(g, b);
            slots[layer.Weight] = (w.Name, b.Name, TensorData.FromTensor(Constants.WeightOf(b)!));
        }
        g.MarkChanged();
        return slots;
    }

    private static void Expose(Graph g, Value v)
    {
        if (v.Initializer is null)
        {
            throw new InvalidOperationException($"'{v.Name}' is not an initializer; the canonical graph should hold every weight as one.");
        }
        if (!v.IsGraphInput)
        {
            v.DeclaredType ??= new TensorType(v.Initializer.DataType, TensorShape.Of([.. v.Initializer.Dims]));
            g.RegisterInput(v);
        }
    }

    private static void Accumulate(Dictionary<string, ErrorStatistics> stats, IReadOnlyDictionary<string, TensorData> reference, IReadOnlyDictionary<string, TensorData> actual)
    {
        foreach (var (name, r) in reference)
        {
            if (!DataTypes.IsFloatingPoint(r.ElementType) || !actual.TryGetValue(name, out TensorData? a) || a.ElementCount != r.ElementCount)
            {
                continue;
            }
            if (!stats.TryGetValue(name, out ErrorStatistics? s))
            {
                stats[name] = s = new ErrorStatistics();
            }
            s.Add(TensorViews.AsFloats(r), TensorViews.AsFloats(a));
        }
    }

    /// <summary>
    /// The error budget of every tensor the chosen factors change: the slimmed canonical model against the
    /// canonical one on <paramref name="samples"/>, ORT optimisation off so untouched tensors agree exactly.
    /// </summary>
    private static Dictionary<string, NumericContract> MeasureBudgets(Model canonical, Dictionary<string, ConvFactors> chosen,
        IReadOnlyList<IReadOnlyDictionary<string, TensorData>> samples, SlimOptions slim, ShapeInferenceOptions shapeOptions,
        IProgress<ParityProgress>? progress, CancellationToken cancellationToken)
    {
        using Model slimmed = canonical.Clone();
        var plan = new SlimPlan(chosen, new Dictionary<string, NumericContract>());
        // The conversion's own conv lowering for this plan (explicit pads first, as the factor passes need).
        var pipeline = new Pipeline([.. Pipeline.ConvLoweringPasses(new ConvLoweringOptions { NoAutoPad = true, Slimming = plan }), new EliminateDeadNodes()]);
        ProvenanceMap map = pipeline.Run(slimmed, new PipelineOptions { Shapes = shapeOptions }, null, cancellationToken).Provenance;
        ShapeInferenceResult shapes = ShapeInference.Run(canonical.Graph, shapeOptions);
        var pairs = map.Entries
            .Where(e => e.Value.Original is { } o && e.Value.Slice is null && slimmed.Graph.FindValue(e.Key) is { Producer: not null }
                && canonical.Graph.FindValue(o) is { Producer: not null } ov && DataTypes.IsFloatingPoint(shapes.ElementTypeOf(ov) ?? DataType.Undefined))
            .Select(e => (Slimmed: e.Key, Original: e.Value.Original!))
            .OrderBy(p => p.Original, StringComparer.Ordinal)
            .ToList();
        var stats = new Dictionary<string, ErrorStatistics>(StringComparer.Ordinal);
        long Bytes((string Slimmed, string Original) p) => 2 * 4 * (shapes.ShapeOf(canonical.Graph.GetValue(p.Original))?.ElementCount ?? (1 << 22));
        List<List<(string Slimmed, string Original)>> chunks = ParityChecker.Chunk(pairs, Bytes, slim.MaxMemoryBytes);
        int done = 0;
        foreach (var chunk in chunks)
        {
            using var reference = new OrtRunner(canonical, RunnerOptions(slim, GraphOptimization.Disabled, chunk.Select(p => p.Original)));
            using var actual = new OrtRunner(slimmed, RunnerOptions(slim, GraphOptimization.Disabled, chunk.Select(p => p.Slimmed)));
            foreach (IReadOnlyDictionary<string, TensorData> sample in samples)
            {
                cancellationToken.ThrowIfCancellationRequested();
                IReadOnlyDictionary<string, TensorData> r = reference.Run(Feeds(reference, sample), cancellationToken);
                IReadOnlyDictionary<string, TensorData> a = actual.Run(Feeds(actual, sample), cancellationToken);
                foreach (var (s, o) in chunk)
                {
                    if (!stats.TryGetValue(o, out ErrorStatistics? st))
                    {
                        stats[o] = st = new ErrorStatistics();
                    }
                    st.Add(TensorViews.AsFloats(r[o]), TensorViews.AsFloats(a[s]));
                }
            }
            progress?.Report(new ParityProgress("budget", ++done, chunks.Count, null));
        }
        var contracts = new Dictionary<string, NumericContract>(StringComparer.Ordinal);
        foreach (var (name, st) in stats)
        {
            if (st.MaxAbsError > 0)
            {
                double relative = Math.Max(st.RelativeToMax, st.RelativeRmsError);
                contracts[name] = NumericContract.Measured(slim.ContractMargin * Finite(relative), slim.ContractMargin * Finite(st.MaxAbsError));
            }
        }
        return contracts;
    }

    private static double Finite(double v) => double.IsFinite(v) ? v : 1e30;
}
