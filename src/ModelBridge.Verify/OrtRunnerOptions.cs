namespace ModelBridge.Verify;

/// <summary>How much ONNX Runtime may rewrite a graph before running it.</summary>
public enum GraphOptimization
{
    /// <summary>No graph rewrites (<c>ORT_DISABLE_ALL</c>): each node runs as written, for exact comparisons.</summary>
    Disabled,

    /// <summary>Semantics-preserving rewrites only (<c>ORT_ENABLE_BASIC</c>): constant folding, redundant-node removal.</summary>
    Basic,

    /// <summary>Basic plus fusions (<c>ORT_ENABLE_EXTENDED</c>), which may reorder float math.</summary>
    Extended,

    /// <summary>Everything, including layout changes (<c>ORT_ENABLE_ALL</c>, ORT's default).</summary>
    All,
}

/// <summary>The least severe ONNX Runtime log message that is printed.</summary>
public enum OrtLogLevel
{
    /// <summary>Everything, including per-node details (<c>ORT_LOGGING_LEVEL_VERBOSE</c>).</summary>
    Verbose,

    /// <summary>Informational messages and worse.</summary>
    Info,

    /// <summary>Warnings and errors (ORT's default).</summary>
    Warning,

    /// <summary>Errors only.</summary>
    Error,

    /// <summary>Fatal errors only.</summary>
    Fatal,
}

/// <summary>How an <see cref="OrtRunner"/> builds its ONNX Runtime session.</summary>
/// <remarks>
/// Immutable: a runner reads the options once, when it creates its session. Only the CPU
/// execution provider is used.
/// </remarks>
public sealed record OrtRunnerOptions
{
    private readonly int _intraOpThreads;

    /// <summary>The defaults: warnings-only logging, ORT's thread count, all optimizations, no extra outputs.</summary>
    public static OrtRunnerOptions Default { get; } = new();

    /// <summary>
    /// The least severe message ORT prints (from native code, past <see cref="Console"/>); warnings by
    /// default, so a clean model runs silently. <see cref="OrtLogLevel.Verbose"/> shows what ORT
    /// does to the graph; <see cref="OrtLogLevel.Error"/> hides warnings such as "opset below 7".
    /// </summary>
    public OrtLogLevel LogLevel { get; init; } = OrtLogLevel.Warning;

    /// <summary>Threads for parallelism inside one operator; 0 (the default) lets ORT choose.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative.</exception>
    public int IntraOpThreads
    {
        get => _intraOpThreads;
        init => _intraOpThreads = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "Thread count must be zero (ORT's choice) or positive.");
    }

    /// <summary>Graph optimization level; <see cref="GraphOptimization.Disabled"/> for exact, node-by-node comparisons.</summary>
    public GraphOptimization Optimization { get; init; } = GraphOptimization.All;

    /// <summary>
    /// Names of intermediate values (in the main graph) to return as extra outputs, after the
    /// model's own outputs. ORT never fuses a graph output away, so each is the value as the
    /// node that produces it computed it.
    /// </summary>
    public IReadOnlyList<string> ExtraOutputs { get; init; } = [];

    /// <summary>
    /// Use ORT's CPU memory arena (on by default, ORT's default). The arena keeps every block it ever
    /// grew to until the session is disposed; without it, intermediate values go back to the system
    /// allocator as soon as they are dead, which bounds a run's memory by what is alive at once.
    /// </summary>
    public bool CpuMemoryArena { get; init; } = true;

    /// <summary>
    /// Make <see cref="ExtraOutputs"/> (when there are any) the only outputs and drop every node they do
    /// not depend on, so a run computes only what is fetched (parity chunks early in the graph).
    /// </summary>
    internal bool OnlyExtraOutputs { get; init; }

    /// <summary>Past this many serialised bytes, the model reaches ORT as a temporary file with external data (1 GiB).</summary>
    internal long InlineLimit { get; init; } = 1L << 30;
}
