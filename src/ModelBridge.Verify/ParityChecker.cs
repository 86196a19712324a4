using System.Diagnostics;
using ModelBridge.Errors;
using ModelBridge.Ir;
using ModelBridge.Rewriting;
using ModelBridge.Shapes;

namespace ModelBridge.Verify;

/// <summary>
/// Layer-by-layer parity of a rewritten graph against its original: both run in ONNX Runtime on the
/// same inputs, and every rewritten tensor that the <see cref="ProvenanceMap"/> maps to an original
/// tensor is compared with it.
/// </summary>
/// <remarks>
/// <para>
/// Tensors are exposed as extra ORT outputs in chunks that fit <see cref="ParityOptions.MaxMemoryBytes"/>
/// (sizes from shape inference with the inputs' symbolic dimensions bound to the samples' own), so a large
/// graph never has every intermediate alive at once. A chunk's sessions keep only the nodes its tensors
/// depend on and fetch only those tensors, which are reduced to <see cref="ParityMetrics"/> where ORT wrote
/// them and released before the next chunk; the measured bytes held at once are reported against the
/// budget (<see cref="ParityRunInfo.ExposedPeakBytes"/>). ORT graph optimisation is off by default so
/// intermediate values are computed node by node as written.
/// </para>
/// <para>
/// Each tensor is judged by <see cref="ParityOptions.Rule"/> at the base tolerance (the target's) widened
/// by the numeric contract of the passes that produced it. The first failing tensor in the original's
/// topological order is the <see cref="ParityReport.FirstDivergence"/>. Localisation then reruns each
/// diverging tensor's rewritten region alone, fed with the original graph's own values at the region's
/// boundary, which tells error introduced there from error carried from above. Pass attribution (when
/// <see cref="ParityOptions.Attribution"/> is set) replays the conversion with the passes enabled one
/// prefix at a time, bisecting for the first pass that makes the tensor diverge.
/// </para>
/// <para>A mismatch is a <see cref="ParityReport"/>, never an exception. Misuse throws BCL exceptions.</para>
/// </remarks>
public static partial class ParityChecker
{
    /// <summary>Compares <paramref name="rewritten"/> with <paramref name="original"/> tensor by tensor.</summary>
    /// <param name="original">The original model (not changed).</param>
    /// <param name="rewritten">The rewritten model (not changed).</param>
    /// <param name="map">The rewritten graph's tensor map.</param>
    /// <param name="inputs">The samples to run.</param>
    /// <param name="options">Rule, tolerance, memory budget; <see cref="ParityOptions.Default"/> when null.</param>
    /// <param name="progress">Receives progress per compared tensor and per localisation or attribution step.</param>
    /// <param name="cancellationToken">Cancels the check (between ORT runs, and inside them at node boundaries).</param>
    /// <exception cref="ArgumentException">An input sample does not fit a model.</exception>
    /// <exception cref="Microsoft.ML.OnnxRuntime.OnnxRuntimeException">ORT refused a model or failed to run it.</exception>
    public static ParityReport Compare(Model original, Model rewritten, ProvenanceMap map, ParityInputs inputs,
        ParityOptions? options = null, IProgress<ParityProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(original);
        ArgumentNullException.ThrowIfNull(rewritten);
        ArgumentNullException.ThrowIfNull(map);
        ArgumentNullException.ThrowIfNull(inputs);
        options ??= ParityOptions.Default;
        long started = Stopwatch.GetTimestamp();
        var warnings = new List<string>();
        IReadOnlyList<IReadOnlyDictionary<string, TensorData>> samples = inputs.Materialize(original);
        var session = new Session(original, rewritten, map, samples, options, progress, cancellationToken);
        TensorSizes origSizes = TensorSizes.For(original, samples, options, "original", warnings);
        TensorSizes rewSizes = TensorSizes.For(rewritten, samples, options, "rewritten", warnings);
        (List<Pair> pairs, List<string> skipped) = CollectPairs(original, rewritten, map, options, origSizes, rewSizes);

        long compareStart = Stopwatch.GetTimestamp();
        List<List<Pair>> chunks = Chunk(pairs, p => p.Bytes, options.MaxMemoryBytes);
        int done = 0;
        foreach (List<Pair> chunk in chunks)
        {
            CompareChunk(session, chunk, ref done, pairs.Count);
        }
        TimeSpan compareElapsed = Stopwatch.GetElapsedTime(compareStart);
        if (session.ExposedPeakBytes > options.MaxMemoryBytes)
        {
            warnings.Add($"a chunk's exposed tensors took {session.ExposedPeakBytes >> 20} MiB, past the {options.MaxMemoryBytes >> 20} MiB budget (shapes unknown before running were estimated too small).");
        }

        List<TensorParity> results = [.. pairs.Select(p => p.ToResult())];
        if (options.Localize && results.Any(r => !r.Passed))
        {
            results = Localize(session, pairs, results, warnings);
        }
        if (options.Attribution is { } bisection && results.Any(r => !r.Passed))
        {
            results = Attribute(session, bisection, pairs, results, warnings);
        }
        var info = new ParityRunInfo
        {
            OriginalModel = ModelName(original),
            RewrittenModel = ModelName(rewritten),
            Target = options.Tolerance is null ? options.Target?.Name : null,
            Rule = options.Rule,
            BaseTolerance = options.BaseTolerance,
            Inputs = inputs.Description,
            Samples = samples.Count,
            Chunks = chunks.Count,
            OrtRuns = session.OrtRuns,
            MaxMemoryBytes = options.MaxMemoryBytes,
            LargestChunkBytes = chunks.Count == 0 ? 0 : chunks.Max(c => c.Sum(p => p.Bytes)),
            ExposedPeakBytes = session.ExposedPeakBytes,
            PeakWorkingSetBytes = PeakWorkingSet(),
            Elapsed = Stopwatch.GetElapsedTime(started),
            CompareElapsed = compareElapsed,
            MetricsElapsed = Stopwatch.GetElapsedTime(0, session.MetricsTicks),
            Warnings = warnings,
        };
        return new ParityReport(results, skipped, info);
    }

    private static string ModelName(Model m) =>
        m.SourcePath is { } p ? Path.GetFileName(p) : m.Graph.Name.Length > 0 ? m.Graph.Name : "model";

    private static long PeakWorkingSet()
    {
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        return process.PeakWorkingSet64;
    }

    /// <summary>The mapped pairs in the original's topological order, and the entries that cannot be compared.</summary>
    private static (List<Pair> Pairs, List<string> Skipped) CollectPairs(Model original, Model rewritten, ProvenanceMap map, ParityOptions options,
        TensorSizes originalSizes, TensorSizes rewrittenSizes)
    {
        var order = new Dictionary<string, (int Order, string Op)>(StringComparer.Ordinal);
        int index = 0;
        foreach (Node n in original.Graph.TopologicalOrder())
        {
            foreach (Value? o in n.Outputs)
            {
                if (o is not null)
                {
                    order[o.Name] = (index, n.OpType);
                }
            }
            index++;
        }
        var pairs = new List<Pair>();
        var skipped = new List<string>();
        Dictionary<Value, NumericContract> carried = CarriedContracts(rewritten.Graph, map);
        foreach (var (name, origin) in map.Entries.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            if (origin.Original is not { } originalName)
            {
                continue;
            }
            Value? rv = rewritten.Graph.FindValue(name);
            Value? ov = original.Graph.FindValue(originalName);
            if (rv is null || ov is null)
            {
                skipped.Add(rv is null ? $"{name}: not in the rewritten graph" : $"{name}: original '{originalName}' is not in the original graph");
                continue;
            }
            if (ov.Producer is null || rv.Producer is null)
            {
                // Graph inputs and constants are fed, not computed; there is nothing to compare.
                continue;
            }
            if (!order.TryGetValue(originalName, out var pos))
            {
                skipped.Add($"{name}: original '{originalName}' is not produced by a live node");
                continue;
            }
            pairs.Add(new Pair
            {
                Name = name,
                Original = originalName,
                Order = pos.Order,
                OpType = pos.Op,
                Origin = origin,
                Comparer = options.ComparerFor(carried.GetValueOrDefault(rv, origin.Contract)),
                IsGraphOutput = rv.IsGraphOutput,
                Bytes = originalSizes.Of(ov.Name) + rewrittenSizes.Of(rv.Name),
            });
        }
        pairs.Sort((a, b) => a.Order != b.Order ? a.Order.CompareTo(b.Order) : string.CompareOrdinal(a.Name, b.Name));
        return (pairs, skipped);
    }

    /// <summary>
    /// The contract each rewritten value is judged by: its own passes' contract composed after the widest
    /// contract carried by its inputs. An approximate rewrite upstream (a folded BatchNorm, a lowered
    /// activation) changes every value computed from it; an exact node downstream reproduces that
    /// difference faithfully, so it inherits the tolerance instead of being reported as diverging with
    /// "carried from above" and no pass to blame. Error introduced by the node itself still shows in
    /// its local error.
    /// </summary>
    /// <remarks>
    /// A <see cref="NumericContract.IsMeasured"/> contract (a slimming budget) already includes the
    /// measured error upstream of its tensor, so it is composed only with the local contracts carried from
    /// above, never with the measured budgets of other tensors: those are totals at a different scale.
    /// </remarks>
    private static Dictionary<Value, NumericContract> CarriedContracts(Graph rewritten, ProvenanceMap map)
    {
        var carried = new Dictionary<Value, NumericContract>();
        var local = new Dictionary<Value, NumericContract>();
        foreach (Node n in rewritten.TopologicalOrder())
        {
            NumericContract upstream = NumericContract.Exact, upstreamLocal = NumericContract.Exact;
            foreach (Value? input in n.Inputs.Concat(n.ImplicitInputs))
            {
                if (input is not null && carried.TryGetValue(input, out NumericContract? c))
                {
                    upstream = upstream.Widest(c);
                    upstreamLocal = upstreamLocal.Widest(local[input]);
                }
            }
            foreach (Value? o in n.Outputs)
            {
                if (o is not null)
                {
                    NumericContract own = map.Get(o.Name)?.Contract ?? NumericContract.Exact;
                    carried[o] = (own.IsMeasured ? upstreamLocal : upstream).Then(own);
                    local[o] = own.IsMeasured ? upstreamLocal : upstreamLocal.Then(own);
                }
            }
        }
        return carried;
    }

    /// <summary>Groups items in order into chunks whose sizes sum to at most <paramref name="budget"/> (at least one item each): greedy, so pairs in topological order make chunks of nearby tensors.</summary>
    internal static List<List<T>> Chunk<T>(IEnumerable<T> items, Func<T, long> size, long budget)
    {
        var chunks = new List<List<T>>();
        var current = new List<T>();
        long bytes = 0;
        foreach (T item in items)
        {
            long s = size(item);
            if (current.Count > 0 && bytes + s > budget)
            {
                chunks.Add(current);
                current = [];
                bytes = 0;
            }
            current.Add(item);
            bytes += s;
        }
        if (current.Count > 0)
        {
            chunks.Add(current);
        }
        return chunks;
    }

    private static void CompareChunk(Session s, List<Pair> chunk, ref int done, int total)
    {
        string[] originalNames = [.. chunk.Select(p => p.Original).Distinct(StringComparer.Ordinal)];
        string[] rewrittenNames = [.. chunk.Select(p => p.Name).Distinct(StringComparer.Ordinal)];
        using OrtRunner originalRunner = s.Runner(s.Original, originalNames);
        using OrtRunner rewrittenRunner = s.Runner(s.Rewritten, rewrittenNames);
        for (int i = 0; i < s.Samples.Count; i++)
        {
            s.Token.ThrowIfCancellationRequested();
            // Only the chunk's tensors are fetched, compared where ORT wrote them (no managed copies) and
            // released before the next sample: what a chunk holds is what the budget was sized for.
            using OrtRunner.LentOutputs expected = s.RunLent(originalRunner, s.Samples[i], originalNames);
            using OrtRunner.LentOutputs actual = s.RunLent(rewrittenRunner, s.Samples[i], rewrittenNames);
            s.ExposedPeakBytes = Math.Max(s.ExposedPeakBytes, expected.Bytes + actual.Bytes);
            // ORT is idle while the metrics run: spread the pairs over the cores (each pair's state is its own).
            int sample = i;
            Parallel.ForEach(chunk, new ParallelOptions { CancellationToken = s.Token }, p =>
                p.Observe(s, sample, expected.Tensors[p.Original], actual.Tensors[p.Name]));
        }
        foreach (Pair p in chunk)
        {
            s.Progress?.Report(new ParityProgress("compare", ++done, total, p.Original));
        }
    }

    /// <summary>
    /// Compares one rewritten tensor with the original's (sliced when the map says so).
    /// Returns the metrics, or a problem when they cannot be compared.
    /// </summary>
    internal static (ParityMetrics? Metrics, string? Problem) Measure(TensorComparer comparer, TensorData reference, TensorData actual, ChannelSlice? slice, double quantile)
    {
        if (slice is not null)
        {
            try
            {
                reference = TensorViews.Slice(reference, slice);
            }
            catch (ArgumentException e)
            {
                return (null, e.Message);
            }
        }
        if (reference.ElementType != actual.ElementType)
        {
            return (null, $"element types differ: {reference} vs {actual}");
        }
        if (!reference.Dims.AsSpan().SequenceEqual(actual.Dims.AsSpan()))
        {
            return (null, $"shapes differ: {reference} vs {actual}");
        }
        if (!DataTypes.IsFloatingPoint(reference.ElementType) && !DataTypes.IsIntegerOrBool(reference.ElementType))
        {
            return reference.Bytes.Span.SequenceEqual(actual.Bytes.Span)
                ? (ParityMetrics.Empty with { Count = reference.ElementCount }, null)
                : (null, $"{DataTypes.OnnxName(reference.ElementType)} payloads differ");
        }
        ParityMetrics m = comparer.Measure(TensorViews.AsFloats(reference), TensorViews.AsFloats(actual), quantile);
        if (DataTypes.IsIntegerOrBool(reference.ElementType))
        {
            // The float view locates the worst element; the exact comparison decides (int64 past 2^24 included).
            ParityMetrics exact = ParityMetrics.Compare(reference, actual, quantile);
            m = m with { MaxAbsError = exact.MaxAbsError, Mismatches = exact.Mismatches, IsExactType = true };
        }
        return (m, null);
    }

    /// <summary>Shared state of one check: the cloned models, samples, options and counters.</summary>
    private sealed class Session(Model original, Model rewritten, ProvenanceMap map, IReadOnlyList<IReadOnlyDictionary<string, TensorData>> samples,
        ParityOptions options, IProgress<ParityProgress>? progress, CancellationToken token)
    {
        public Model Original { get; } = original;

        public Model Rewritten { get; } = rewritten;

        public ProvenanceMap Map { get; } = map;

        public IReadOnlyList<IReadOnlyDictionary<string, TensorData>> Samples { get; } = samples;

        public ParityOptions Options { get; } = options;

        public IProgress<ParityProgress>? Progress { get; } = progress;

        public CancellationToken Token { get; } = token;

        public int OrtRuns { get; private set; }

        /// <summary>Stopwatch ticks spent in the metrics kernel (summed over threads).</summary>
        public long MetricsTicks => Interlocked.Read(ref _metricsTicks);

        private long _metricsTicks;

        public void AddMetricsTicks(long ticks) => Interlocked.Add(ref _metricsTicks, ticks);

        public OrtRunner Runner(Model model, IEnumerable<string> extraOutputs) => new(model, new OrtRunnerOptions
        {
            Optimization = Options.Optimization,
            IntraOpThreads = Options.IntraOpThreads,
            LogLevel = Options.OrtLogLevel,
            ExtraOutputs = [.. extraOutputs.Distinct(StringComparer.Ordinal)],
            // Without the arena, dead intermediates go back to the allocator: a run holds what is alive plus the exposed chunk.
            CpuMemoryArena = false,
            // A chunk early in the graph runs only the nodes its tensors depend on.
            OnlyExtraOutputs = true,
        });

        /// <summary>Largest payload bytes of one chunk's outputs (both runs) held at once, as measured.</summary>
        public long ExposedPeakBytes { get; set; }

        /// <summary>Runs with the sample's tensors for the inputs the runner takes.</summary>
        public IReadOnlyDictionary<string, TensorData> Run(OrtRunner runner, IReadOnlyDictionary<string, TensorData> feeds)
        {
            OrtRuns++;
            return runner.Run(Feeds(runner, feeds), Token);
        }

        /// <summary>Like <see cref="Run"/>, with the outputs lent from ORT's buffers (valid until disposed).</summary>
        public OrtRunner.LentOutputs RunLent(OrtRunner runner, IReadOnlyDictionary<string, TensorData> feeds, IReadOnlyList<string> outputs)
        {
            OrtRuns++;
            return runner.RunLent(Feeds(runner, feeds), outputs, Token);
        }

        private static Dictionary<string, TensorData> Feeds(OrtRunner runner, IReadOnlyDictionary<string, TensorData> feeds)
        {
            var used = new Dictionary<string, TensorData>(StringComparer.Ordinal);
            foreach (string name in runner.InputNames)
            {
                used[name] = feeds.TryGetValue(name, out TensorData? t)
                    ? t
                    : throw new ArgumentException($"The inputs have no tensor for '{name}'.", nameof(feeds));
            }
            return used;
        }
    }

    /// <summary>One mapped pair and the worst sample seen so far.</summary>
    private sealed class Pair
    {
        public required string Name { get; init; }

        public required string Original { get; init; }

        public required int Order { get; init; }

        public required string OpType { get; init; }

        public required TensorOrigin Origin { get; init; }

        public required TensorComparer Comparer { get; init; }

        public required bool IsGraphOutput { get; init; }

        public required long Bytes { get; init; }

        public ParityMetrics Metrics { get; private set; } = ParityMetrics.Empty;

        public int WorstSample { get; private set; }

        public double Error { get; private set; }

        public double Threshold { get; private set; }

        public bool Passed { get; private set; } = true;

        public string? Problem { get; private set; }

        public IReadOnlyList<long> Shape { get; private set; } = [];

        private double _score = double.NegativeInfinity;

        public void Observe(Session s, int sample, TensorData reference, TensorData actual)
        {
            long t0 = Stopwatch.GetTimestamp();
            // Integer and bool tensors are compared exactly whatever the rule.
            TensorComparer comparer = DataTypes.IsFloatingPoint(actual.ElementType) ? Comparer : TensorComparer.Exact;
            (ParityMetrics? m, string? problem) = Measure(comparer, reference, actual, Origin.Slice, s.Options.Quantile);
            s.AddMetricsTicks(Stopwatch.GetTimestamp() - t0);
            Shape = [.. actual.Dims];
            if (m is null)
            {
                Problem ??= problem;
                Passed = false;
                WorstSample = _score == double.PositiveInfinity ? WorstSample : sample;
                _score = double.PositiveInfinity;
                return;
            }
            double error = comparer.Error(m), threshold = comparer.Threshold(m);
            bool ok = comparer.Accepts(m);
            double score = !ok && m.NonFiniteMismatches > 0 ? double.PositiveInfinity : threshold > 0 ? error / threshold : error;
            Passed &= ok;
            if (score > _score)
            {
                _score = score;
                Metrics = m;
                WorstSample = sample;
                Error = error;
                Threshold = threshold;
            }
        }

        public TensorParity ToResult() => new()
        {
            Name = Name,
            Original = Original,
            Order = Order,
            OpType = OpType,
            Shape = Shape,
            Passes = Origin.Passes,
            Contract = Origin.Contract,
            Slice = Origin.Slice,
            Comparer = Comparer.ToString() ?? string.Empty,
            Metrics = Metrics,
            WorstSample = WorstSample,
            Error = Error,
            Threshold = Threshold,
            ExpectedMaxAbsError = Origin.Contract.IsExact ? null
                : Origin.Contract.AbsoluteTolerance + (Origin.Contract.RelativeTolerance * Metrics.ReferenceMaxMagnitude),
            Passed = Passed,
            Problem = Problem,
            IsGraphOutput = IsGraphOutput,
        };
    }
}
