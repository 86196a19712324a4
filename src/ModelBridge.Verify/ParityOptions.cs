using ModelBridge.Ir;
using ModelBridge.Profiles;
using ModelBridge.Rewriting;

namespace ModelBridge.Verify;

/// <summary>How <see cref="ParityChecker"/> compares two graphs.</summary>
/// <remarks>Immutable; one instance can serve any number of checks.</remarks>
public sealed record ParityOptions
{
    private readonly long _maxMemoryBytes = 2L << 30;
    private readonly double _quantile = 0.99;

    /// <summary>The defaults: elementwise rule, <see cref="Verify.Tolerance.Default"/>, 2 GiB, ORT optimisation off.</summary>
    public static ParityOptions Default { get; } = new();

    /// <summary>The rule every tensor is judged by.</summary>
    public ParityRule Rule { get; init; } = ParityRule.Elementwise;

    /// <summary>The target whose tolerance is the base of every tensor's (unless <see cref="Tolerance"/> is set).</summary>
    public TargetProfile? Target { get; init; }

    /// <summary>The base tolerance; overrides the target's. <see cref="Verify.Tolerance.Default"/> when neither is set.</summary>
    public Tolerance? Tolerance { get; init; }

    /// <summary>Widen each tensor's tolerance by the contract of the passes that produced it (on by default).</summary>
    public bool WidenByContract { get; init; } = true;

    /// <summary>Level of <see cref="ParityMetrics.QuantileAbsError"/>; 0.99 by default.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Outside [0, 1].</exception>
    public double Quantile
    {
        get => _quantile;
        init => _quantile = value is >= 0 and <= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "A quantile level must be in [0, 1].");
    }

    /// <summary>
    /// Bytes of intermediate tensors (both graphs' copies together) that one ORT run may expose as extra
    /// outputs; the mapped tensors are compared in as many chunks as this requires. 2 GiB by default.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Less than 1 MiB.</exception>
    public long MaxMemoryBytes
    {
        get => _maxMemoryBytes;
        init => _maxMemoryBytes = value >= 1 << 20 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "The memory budget must be at least 1 MiB.");
    }

    /// <summary>ORT graph optimisation; off by default so every intermediate value is computed as written.</summary>
    public GraphOptimization Optimization { get; init; } = GraphOptimization.Disabled;

    /// <summary>The least severe ORT log message printed; errors only by default (region sub-models carry unused initializers ORT would warn about).</summary>
    public OrtLogLevel OrtLogLevel { get; init; } = OrtLogLevel.Error;

    /// <summary>ORT intra-op threads; 0 lets ORT choose.</summary>
    public int IntraOpThreads { get; init; }

    /// <summary>Sizes of symbolic dimensions, for shape inference (memory estimates) and random inputs.</summary>
    public IReadOnlyDictionary<string, long> Dims { get; init; } = new Dictionary<string, long>(StringComparer.Ordinal);

    /// <summary>Compute the local error of diverging tensors (rewritten region fed with the original's values). On by default.</summary>
    public bool Localize { get; init; } = true;

    /// <summary>At most this many diverging tensors get a local error (the first ones in topological order); 16 by default.</summary>
    public int MaxLocalized { get; init; } = 16;

    /// <summary>When set, the first diverging tensors are attributed to a pass by replaying the conversion pass by pass.</summary>
    public PassBisection? Attribution { get; init; }

    /// <summary>At most this many diverging tensors are attributed (the first ones in topological order); 3 by default.</summary>
    public int MaxAttributed { get; init; } = 3;

    /// <summary>The base tolerance in effect: <see cref="Tolerance"/>, else the target's, else the default.</summary>
    public Tolerance BaseTolerance => Tolerance ?? (Target is { } t ? Verify.Tolerance.FromProfile(t) : Verify.Tolerance.Default);

    /// <summary>The comparer for a tensor produced under <paramref name="contract"/>.</summary>
    public TensorComparer ComparerFor(NumericContract contract)
    {
        ArgumentNullException.ThrowIfNull(contract);
        return TensorComparer.For(Rule, WidenByContract ? BaseTolerance.Widen(contract) : BaseTolerance);
    }
}

/// <summary>A conversion replayed with some passes disabled: the model and its tensor map.</summary>
/// <param name="Model">The converted model (owned by the caller of the replay, which disposes it).</param>
/// <param name="Map">Its tensor map.</param>
public sealed record ConversionReplay(Model Model, ProvenanceMap Map);

/// <summary>
/// Everything pass attribution needs: the ordered ids of the conversion's enabled passes, and a way to
/// rerun the conversion with a set of pass ids disabled. The checker enables the passes one prefix
/// at a time (bisecting) to find the first pass whose application makes a tensor diverge.
/// </summary>
/// <param name="PassIds">The enabled passes of the conversion, in order.</param>
/// <param name="Convert">Reruns the conversion of the original model with the given passes disabled.</param>
public sealed record PassBisection(IReadOnlyList<string> PassIds, Func<IReadOnlySet<string>, CancellationToken, ConversionReplay> Convert);

/// <summary>Progress of a parity check.</summary>
/// <param name="Phase">What is running: <c>compare</c>, <c>localize</c> or <c>attribute</c>.</param>
/// <param name="Completed">Steps done in this phase.</param>
/// <param name="Total">Steps in this phase.</param>
/// <param name="Detail">The tensor or pass being worked on, when there is one.</param>
public readonly record struct ParityProgress(string Phase, int Completed, int Total, string? Detail)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Phase} {Completed}/{Total}{(Detail is null ? "" : " " + Detail)}";
}
