using ModelBridge.Rewriting;

namespace ModelBridge.Verify;

/// <summary>The error of a rewritten region measured on its own: its inputs fed with the original graph's values.</summary>
/// <param name="Metrics">Metrics of the region's output against the original tensor.</param>
/// <param name="Error">The comparer's error.</param>
/// <param name="Threshold">The comparer's threshold.</param>
/// <param name="Passed">Whether the region on its own stays within tolerance.</param>
/// <param name="Boundary">The original tensors fed into the region (graph inputs and the nearest mapped tensors upstream).</param>
/// <param name="Nodes">Nodes of the rewritten graph in the region.</param>
public sealed record LocalParity(ParityMetrics Metrics, double Error, double Threshold, bool Passed, IReadOnlyList<string> Boundary, int Nodes);

/// <summary>The pass found responsible for a tensor's divergence.</summary>
/// <param name="Tensor">The original tensor name.</param>
/// <param name="PassId">The first pass whose application makes the tensor diverge, or null when not found.</param>
/// <param name="Conversions">Conversions replayed to find it.</param>
/// <param name="Detail">How the answer was reached (or why there is none).</param>
public sealed record PassAttribution(string Tensor, string? PassId, int Conversions, string Detail);

/// <summary>One compared pair: a rewritten tensor and the original tensor it stands for.</summary>
public sealed record TensorParity
{
    /// <summary>Name of the tensor in the rewritten graph.</summary>
    public required string Name { get; init; }

    /// <summary>Name of the original tensor it equals (or a slice of).</summary>
    public required string Original { get; init; }

    /// <summary>Position of the original's producer in the original graph's topological order.</summary>
    public required int Order { get; init; }

    /// <summary>Operator type of the original's producer.</summary>
    public required string OpType { get; init; }

    /// <summary>Shape of the rewritten tensor (as computed; empty when not compared).</summary>
    public required IReadOnlyList<long> Shape { get; init; }

    /// <summary>Passes that produced the tensor, in order.</summary>
    public required IReadOnlyList<string> Passes { get; init; }

    /// <summary>The composed numeric contract of those passes.</summary>
    public required NumericContract Contract { get; init; }

    /// <summary>When set, the tensor equals this slice of the original.</summary>
    public ChannelSlice? Slice { get; init; }

    /// <summary>How the tensor was judged (rule and tolerance).</summary>
    public required string Comparer { get; init; }

    /// <summary>Metrics of the worst sample.</summary>
    public required ParityMetrics Metrics { get; init; }

    /// <summary>Index of the sample with the largest error relative to its threshold.</summary>
    public required int WorstSample { get; init; }

    /// <summary>The comparer's error on the worst sample.</summary>
    public required double Error { get; init; }

    /// <summary>The comparer's threshold on the worst sample.</summary>
    public required double Threshold { get; init; }

    /// <summary>
    /// The error budget of the approximate passes that produced the tensor, as a max absolute error
    /// (atol + rtol·max|ref|); null when every pass is exact.
    /// </summary>
    public double? ExpectedMaxAbsError { get; init; }

    /// <summary>Whether the tensor is within tolerance on every sample.</summary>
    public required bool Passed { get; init; }

    /// <summary>Why the pair could not be compared numerically (shape or type mismatch), when it could not.</summary>
    public string? Problem { get; init; }

    /// <summary>Whether the tensor is an output of the rewritten graph.</summary>
    public bool IsGraphOutput { get; init; }

    /// <summary>The error of the tensor's region alone, when localised.</summary>
    public LocalParity? Local { get; init; }

    /// <summary>The pass found responsible, when attribution ran for this tensor.</summary>
    public PassAttribution? Attribution { get; init; }

    /// <summary><see cref="Error"/> / <see cref="Threshold"/> (∞ for a non-finite mismatch or a problem); at most 1 passes.</summary>
    public double Score => Problem is not null || Metrics.NonFiniteMismatches > 0 ? double.PositiveInfinity
        : Threshold > 0 ? Error / Threshold : Error > 0 ? double.PositiveInfinity : 0;
}

/// <summary>
/// The result of a layer-by-layer parity check: every mapped tensor pair with its metrics and verdict,
/// the first divergence in the original's topological order, local errors and pass attribution.
/// </summary>
/// <remarks>A mismatch is reported here, never thrown; use <see cref="ParityAssert"/> to turn it into a test failure.</remarks>
public sealed class ParityReport
{
    /// <summary>Creates a report.</summary>
    public ParityReport(IReadOnlyList<TensorParity> tensors, IReadOnlyList<string> skipped, ParityRunInfo info)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        ArgumentNullException.ThrowIfNull(skipped);
        ArgumentNullException.ThrowIfNull(info);
        Tensors = [.. tensors.OrderBy(t => t.Order).ThenBy(t => t.Name, StringComparer.Ordinal)];
        Skipped = skipped;
        Info = info;
        FirstDivergence = Tensors.FirstOrDefault(t => !t.Passed);
    }

    /// <summary>Compared tensors in the original's topological order.</summary>
    public IReadOnlyList<TensorParity> Tensors { get; }

    /// <summary>Map entries not compared, with the reason (<c>name: reason</c>).</summary>
    public IReadOnlyList<string> Skipped { get; }

    /// <summary>How the check ran.</summary>
    public ParityRunInfo Info { get; }

    /// <summary>True when every compared tensor is within tolerance and at least one tensor was compared.</summary>
    public bool Passed => FirstDivergence is null && Tensors.Count > 0;

    /// <summary>The first diverging tensor in the original's topological order, or null.</summary>
    public TensorParity? FirstDivergence { get; }

    /// <summary>All diverging tensors, in topological order.</summary>
    public IReadOnlyList<TensorParity> Divergences => [.. Tensors.Where(t => !t.Passed)];

    /// <summary>The compared pair for a rewritten or original tensor name, or null.</summary>
    public TensorParity? Find(string name) =>
        Tensors.FirstOrDefault(t => t.Name == name) ?? Tensors.FirstOrDefault(t => t.Original == name);

    /// <summary>A one-line summary.</summary>
    public override string ToString() => Passed
        ? $"parity: {Tensors.Count} tensors within tolerance ({Info.Samples} sample(s), {Reports.ParityJson.Rule(Info.Rule)})"
        : Tensors.Count == 0 ? "parity: no tensor could be compared"
        : $"parity: {Divergences.Count} of {Tensors.Count} tensors diverge; first '{FirstDivergence!.Original}' ({FirstDivergence.OpType}) error {FirstDivergence.Error:G3} > {FirstDivergence.Threshold:G3}";
}

/// <summary>How a parity check ran.</summary>
public sealed record ParityRunInfo
{
    /// <summary>Name of the original model (file name or graph name).</summary>
    public required string OriginalModel { get; init; }

    /// <summary>Name of the rewritten model.</summary>
    public required string RewrittenModel { get; init; }

    /// <summary>The target whose tolerance was used, if any.</summary>
    public string? Target { get; init; }

    /// <summary>The rule.</summary>
    public required ParityRule Rule { get; init; }

    /// <summary>The base tolerance (before widening by contracts).</summary>
    public required Tolerance BaseTolerance { get; init; }

    /// <summary>Where the inputs came from.</summary>
    public required string Inputs { get; init; }

    /// <summary>Samples compared.</summary>
    public required int Samples { get; init; }

    /// <summary>Chunks the mapped tensors were split into to stay within the memory budget.</summary>
    public required int Chunks { get; init; }

    /// <summary>ORT runs (both graphs, all phases).</summary>
    public required int OrtRuns { get; init; }

    /// <summary>The memory budget for exposed tensors.</summary>
    public required long MaxMemoryBytes { get; init; }

    /// <summary>Estimated bytes of the largest chunk's exposed tensors (both graphs).</summary>
    public required long LargestChunkBytes { get; init; }

    /// <summary>
    /// Measured: the most bytes of ORT outputs (both graphs' runs of one chunk) held at once while
    /// comparing, the quantity <see cref="MaxMemoryBytes"/> bounds. It stays within the budget whenever
    /// the chunks' shapes were inferred (a warning says when it was exceeded).
    /// </summary>
    public long ExposedPeakBytes { get; init; }

    /// <summary>Peak working set of the process at the end of the check (<see cref="System.Diagnostics.Process.PeakWorkingSet64"/>).</summary>
    public required long PeakWorkingSetBytes { get; init; }

    /// <summary>Wall time of the whole check.</summary>
    public required TimeSpan Elapsed { get; init; }

    /// <summary>Wall time of the comparison phase (inference and metrics).</summary>
    public required TimeSpan CompareElapsed { get; init; }

    /// <summary>Wall time spent in the metrics kernel.</summary>
    public required TimeSpan MetricsElapsed { get; init; }

    /// <summary>Warnings (shape inference, skipped phases).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];
}
