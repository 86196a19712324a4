using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using ModelBridge.Errors;
using ModelBridge.Ir;

namespace ModelBridge.Shapes;

/// <summary>State shared by one inference run: options, opset, the inferred types and the evaluated shape values.</summary>
internal sealed class InferenceState
{
    public InferenceState(long opset, ShapeInferenceOptions options)
    {
        Opset = opset;
        Options = options;
    }

    public long Opset { get; }

    public ShapeInferenceOptions Options { get; }

    /// <summary>The type of every node output, as inferred (merged with the declared type when asked to).</summary>
    public Dictionary<Value, TensorType?> Types { get; } = [];

    public Dictionary<Value, ShapeValue> Values { get; } = [];

    public List<string> Warnings { get; } = [];

    /// <summary>What inference knows of <paramref name="v"/>: its inferred type, else its declared type with the pinned dims.</summary>
    public TensorType? TypeOf(Value v) => Types.TryGetValue(v, out TensorType? t) ? t : Declared(v);

    /// <summary>The declared type of <paramref name="v"/> with the symbols of <see cref="ShapeInferenceOptions.DimOverrides"/> pinned.</summary>
    public TensorType? Declared(Value v) => Pin(v.DeclaredType, Options.DimOverrides);

    /// <summary><paramref name="type"/> with every overridden symbol replaced by its size.</summary>
    public static TensorType? Pin(TensorType? type, IReadOnlyDictionary<string, long> overrides)
    {
        if (overrides.Count == 0 || type?.Shape is not { } shape || !shape.Dims.Any(d => d.Symbol is { } s && overrides.ContainsKey(s)))
        {
            return type;
        }
        return type with
        {
            Shape = new TensorShape(shape.Dims.Select(d => d.Symbol is { } s && overrides.TryGetValue(s, out long n) ? Dim.Of(n) : d)),
        };
    }
}

/// <summary>What a shape rule sees of one node: typed input accessors and output setters.</summary>
internal sealed class InferenceContext
{
    private readonly InferenceState _state;

    public InferenceContext(InferenceState state, Node node)
    {
        _state = state;
        Node = node;
        Inferred = new TensorType?[node.Outputs.Count];
    }

    public Node Node { get; }

    /// <summary>The default-domain opset version in force.</summary>
    public long Opset => _state.Opset;

    public ShapeInferenceOptions Options => _state.Options;

    /// <summary>The types the rule assigned, by output slot.</summary>
    public TensorType?[] Inferred { get; }

    public int InputCount => Node.Inputs.Count;

    public int OutputCount => Node.Outputs.Count;

    /// <summary>The input in slot <paramref name="i"/>, or null when absent (or named "").</summary>
    public Value? In(int i) => Node.Input(i);

    public bool HasInput(int i) => In(i) is not null;

    public bool HasOutput(int i) => Node.Output(i) is not null;

    public TensorType? TypeOf(int i) => In(i) is { } v ? _state.TypeOf(v) : null;

    public DataType ElemOf(int i) => TypeOf(i)?.ElementType ?? DataType.Undefined;

    /// <summary>The dims of input <paramref name="i"/>, or null when its rank is unknown.</summary>
    public IReadOnlyList<Dim>? DimsOf(int i) => TypeOf(i)?.Shape?.Dims;

    public int? RankOf(int i) => DimsOf(i)?.Count;

    /// <summary>A required input; throws when absent.</summary>
    public Value Require(int i) => In(i) ?? Fail<Value>($"input {i} is required but missing");

    /// <summary>The tracked contents of input <paramref name="i"/>.</summary>
    public ShapeValue? ValueOf(int i) => In(i) is { } v && _state.Values.TryGetValue(v, out ShapeValue? s) ? s : null;

    /// <summary>The contents of input <paramref name="i"/> when every element is a number.</summary>
    public long[]? IntsOf(int i) => ValueOf(i) is { } s && s.TryGetKnown(out long[] v) ? v : null;

    /// <summary>The float contents of a constant input (initializer, Constant node, or tracked integers).</summary>
    public float[]? FloatsOf(int i)
    {
        Value? v = In(i);
        if (v is null)
        {
            return null;
        }
        Tensor? t = Constants.Of(v) ?? ConstantNodeTensor(v);
        if (t is not null && DataTypes.IsConvertible(t.DataType) && t.ElementCount <= _state.Options.MaxConstantElements)
        {
            return t.ToFloatArray();
        }
        return IntsOf(i) is { } ints ? Array.ConvertAll(ints, x => (float)x) : null;
    }

    private static Tensor? ConstantNodeTensor(Value v) =>
        v.Producer is { OpType: "Constant", IsStandardDomain: true } p && p.HasAttribute("value") ? p.GetTensor("value") : null;

    /// <summary>The scalar contents of input <paramref name="i"/> (a scalar or a one-element tensor).</summary>
    public long? ScalarOf(int i) => IntsOf(i) is [long x] ? x : null;

    public long Int(string name, long defaultValue) => Node.GetInt(name, defaultValue);

    public long[]? Ints(string name) => Node.GetInts(name);

    public string Str(string name, string defaultValue) => Node.GetString(name, defaultValue) ?? defaultValue;

    /// <summary>Sets output <paramref name="i"/>'s type.</summary>
    public void Set(int i, DataType type, IEnumerable<Dim>? dims)
    {
        if (i >= Inferred.Length || !HasOutput(i))
        {
            return;
        }
        // Nothing known at all (e.g. the input of an unknown op) stays null rather than "undefined[?]".
        Inferred[i] = type == DataType.Undefined && dims is null ? null : new TensorType(type, dims is null ? null : new TensorShape(dims));
    }

    /// <summary>Sets output <paramref name="i"/>'s type and tracked contents.</summary>
    public void SetValue(int i, DataType type, ShapeValue value)
    {
        Set(i, type, value.Dims.Select(Dim.Of));
        if (i < OutputCount && Node.Output(i) is { } o && value.Count <= _state.Options.MaxConstantElements)
        {
            _state.Values[o] = value;
        }
    }

    /// <summary>Output <paramref name="i"/> gets the type and shape of input <paramref name="from"/>.</summary>
    public void SameAs(int i, int from) => Set(i, ElemOf(from), DimsOf(from));

    public void Warn(string message) => _state.Warnings.Add($"{Node.OpType} '{Node.Name}': {message}");

    /// <summary>Normalises a possibly negative axis against <paramref name="rank"/>; throws when out of range.</summary>
    public int Axis(long axis, int rank)
    {
        if (axis < -rank || axis >= rank)
        {
            Fail(string.Create(CultureInfo.InvariantCulture, $"axis {axis} is out of range for rank {rank}"));
        }
        return (int)(axis < 0 ? axis + rank : axis);
    }

    [DoesNotReturn]
    public void Fail(string problem) =>
        ThrowHelper.InvalidModel($"{Node.OpType} node '{Node.Name}': {problem}.", Node.Name, Node.OpType);

    [DoesNotReturn]
    public T Fail<T>(string problem) =>
        ThrowHelper.InvalidModel<T>($"{Node.OpType} node '{Node.Name}': {problem}.", Node.Name, Node.OpType);

    /// <summary>
    /// <paramref name="rank"/> unknown dimensions, or null (rank unknown) when the rank, usually read
    /// from the length of a shape tensor, is negative or larger than <see cref="ShapeInference.MaxRank"/>.
    /// </summary>
    public static IEnumerable<Dim>? UnknownDims(long rank) =>
        rank is >= 0 and <= ShapeInference.MaxRank ? Enumerable.Repeat(Dim.Unknown, (int)rank) : null;

    /// <summary>Formats dims for messages.</summary>
    public static string Format(IEnumerable<Dim> dims) => "[" + string.Join(",", dims) + "]";

    public static string Format(IEnumerable<long> values) => "[" + string.Join(",", values) + "]";

    public static ImmutableArray<Dim> Known(IEnumerable<long> values) => [.. values.Select(Dim.Of)];
}
