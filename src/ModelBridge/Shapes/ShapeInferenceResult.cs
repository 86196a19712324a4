using System.Collections.Immutable;
using ModelBridge.Ir;

namespace ModelBridge.Shapes;

/// <summary>
/// What <see cref="ShapeInference.Run"/> found, as a side table keyed by <see cref="Value"/>: every
/// value's type, unknown shapes, evaluated shape values and warnings. The graph itself is never
/// changed by inference, so any number of readers (passes, checks, verify) can ask for facts
/// without copying the model.
/// </summary>
/// <remarks>
/// The facts describe the graph as it was at <see cref="GraphVersion"/>; a value created after that
/// has only its declared type here, or, when a rewrite declared it the replacement of an older value,
/// that value's type. Passes get facts from <see cref="IReadOnlyGraph.Shapes"/>, inferred afresh at the
/// start of each pass.
/// </remarks>
public sealed class ShapeInferenceResult
{
    private readonly IReadOnlyDictionary<Value, ShapeValue> _values;
    private readonly IReadOnlyDictionary<Value, TensorType?> _types;
    private Dictionary<Value, TensorType?>? _aliases;

    internal ShapeInferenceResult(IReadOnlyList<Value> unknownShapes, int inferredCount, IReadOnlyList<string> warnings,
        IReadOnlyDictionary<Value, ShapeValue> values, IReadOnlyDictionary<Value, TensorType?> types, ShapeInferenceOptions options, long graphVersion)
    {
        UnknownShapes = unknownShapes;
        InferredCount = inferredCount;
        Warnings = warnings;
        _values = values;
        _types = types;
        Options = options;
        GraphVersion = graphVersion;
    }

    /// <summary>The options inference ran with (pinned dims among them).</summary>
    public ShapeInferenceOptions Options { get; }

    /// <summary>The <see cref="Graph.Version"/> the facts were computed at.</summary>
    public long GraphVersion { get; }

    /// <summary>
    /// The type of <paramref name="value"/>: inferred for a node output, else the declared type (graph
    /// input, initializer, value_info) with the pinned dims applied; null when nothing is known.
    /// </summary>
    public TensorType? TypeOf(Value? value)
    {
        if (value is null)
        {
            return null;
        }
        if (_types.TryGetValue(value, out TensorType? t))
        {
            return t;
        }
        return _aliases is not null && _aliases.TryGetValue(value, out TensorType? aliased)
            ? aliased
            : InferenceState.Pin(value.DeclaredType, Options.DimOverrides);
    }

    /// <summary>
    /// Records that <paramref name="value"/>, created after these facts, computes what <paramref name="sameAs"/>
    /// did (a rewrite's replacement): it has its declared type if it has one, else <paramref name="sameAs"/>'s.
    /// Only the rewriter that owns this result calls it.
    /// </summary>
    internal void Alias(Value value, Value sameAs)
    {
        if (_types.ContainsKey(value))
        {
            return;
        }
        (_aliases ??= [])[value] = value.DeclaredType is { } declared ? InferenceState.Pin(declared, Options.DimOverrides) : TypeOf(sameAs);
    }

    /// <summary>The shape of <paramref name="value"/> when its rank is known.</summary>
    public TensorShape? ShapeOf(Value? value) => TypeOf(value)?.Shape;

    /// <summary>The rank of <paramref name="value"/> when known (from its constant payload or its type).</summary>
    public int? RankOf(Value? value) => value?.Initializer is { } init ? init.Dims.Length : ShapeOf(value)?.Rank;

    /// <summary>The static dims of <paramref name="value"/>: from its constant payload, else from its type when every dim is a number.</summary>
    public long[]? StaticDimsOf(Value? value)
    {
        if (value?.Initializer is { } init)
        {
            return [.. init.Dims];
        }
        return ShapeOf(value) is { } s && s.TryGetStatic(out long[] dims) ? dims : null;
    }

    /// <summary>The element type of <paramref name="value"/> when known.</summary>
    public DataType? ElementTypeOf(Value? value)
    {
        if (value?.Initializer is { } init)
        {
            return init.DataType;
        }
        return TypeOf(value) is { ElementType: not DataType.Undefined } t ? t.ElementType : null;
    }

    /// <summary>
    /// Node outputs whose shape is not fully determined: unknown type or rank, or a dimension that is
    /// neither a number nor a symbol.
    /// </summary>
    public IReadOnlyList<Value> UnknownShapes { get; }

    /// <summary>Number of node outputs that inference gave a type of known rank.</summary>
    public int InferredCount { get; }

    /// <summary>Things inference could not handle (unsupported operators, non-constant shape inputs).</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>
    /// The values of a small integer tensor (an initializer, a <c>Constant</c>, or a chain of shape
    /// arithmetic such as <c>Concat(Gather(Shape(x), 0), [-1])</c>) when every element is known,
    /// flattened in row-major order.
    /// </summary>
    /// <param name="value">A value of the graph that was inferred.</param>
    /// <param name="values">The elements, or an empty array when the method returns false.</param>
    /// <returns>True when every element of <paramref name="value"/> was evaluated to a number.</returns>
    public bool TryGetConstantValue(Value value, out long[] values)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (_values.TryGetValue(value, out ShapeValue? v) && v.TryGetKnown(out values))
        {
            return true;
        }
        values = [];
        return false;
    }

    /// <summary>
    /// The elements of a small integer tensor as dimensions, which may be symbolic or unknown
    /// (e.g. <c>Shape(x)</c> of an input shaped <c>[N,3]</c> gives <c>[N,3]</c>).
    /// </summary>
    /// <param name="value">A value of the graph that was inferred.</param>
    /// <param name="elements">The elements, or empty when the method returns false.</param>
    /// <returns>True when the value is tracked (its element count is known and small).</returns>
    public bool TryGetSymbolicValue(Value value, out ImmutableArray<Dim> elements)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (_values.TryGetValue(value, out ShapeValue? v))
        {
            elements = v.Elements;
            return true;
        }
        elements = [];
        return false;
    }
}
