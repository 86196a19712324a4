using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using Google.Protobuf;
using ModelBridge.OnnxProto;
using AttrType = ModelBridge.OnnxProto.AttributeProto.Types.AttributeType;

namespace ModelBridge.Ir;

/// <summary>The kind of value an ONNX attribute holds (the <c>AttributeProto.type</c> enumeration).</summary>
public enum AttributeKind
{
    /// <summary>No value (a malformed attribute).</summary>
    Undefined = 0,

    /// <summary>One 32-bit float.</summary>
    Float = 1,

    /// <summary>One 64-bit integer.</summary>
    Int = 2,

    /// <summary>One string (UTF-8 bytes).</summary>
    String = 3,

    /// <summary>One tensor (e.g. <c>Constant</c>'s <c>value</c>).</summary>
    Tensor = 4,

    /// <summary>One subgraph (If/Loop/Scan bodies), kept as loaded.</summary>
    Graph = 5,

    /// <summary>A list of floats.</summary>
    Floats = 6,

    /// <summary>A list of 64-bit integers.</summary>
    Ints = 7,

    /// <summary>A list of strings.</summary>
    Strings = 8,

    /// <summary>A list of tensors.</summary>
    Tensors = 9,

    /// <summary>A list of subgraphs.</summary>
    Graphs = 10,

    /// <summary>One sparse tensor.</summary>
    SparseTensor = 11,

    /// <summary>A list of sparse tensors.</summary>
    SparseTensors = 12,

    /// <summary>One type (<c>TypeProto</c>).</summary>
    TypeProto = 13,

    /// <summary>A list of types.</summary>
    TypeProtos = 14,
}

/// <summary>
/// One named, immutable attribute of a <see cref="Node"/>: <c>group = 1</c>, <c>pads = [1, 1, 1, 1]</c>,
/// <c>mode = "nearest"</c>, a tensor. Create new ones with the factory methods (<see cref="Int"/>,
/// <see cref="Ints"/>, ...) and give them to <see cref="Rewriting.GraphRewriter"/>.
/// </summary>
/// <remarks>
/// An attribute read from a file keeps the message it was parsed from, so a node that nobody edits
/// is written back byte for byte (doc strings, <c>ref_attr_name</c> and unknown fields included),
/// and it decodes its value only when asked. The value never changes: there is nothing to share by
/// mistake between a model and its clone.
/// </remarks>
public sealed class AttributeValue : IEquatable<AttributeValue>
{
    private readonly AttributeProto _proto;

    private AttributeValue(AttributeProto proto, AttributeKind kind)
    {
        _proto = proto;
        Kind = kind;
    }

    /// <summary>The attribute's name.</summary>
    public string Name => _proto.Name;

    /// <summary>What the attribute holds.</summary>
    public AttributeKind Kind { get; }

    /// <summary>True for <see cref="AttributeKind.Graph"/> and <see cref="AttributeKind.Graphs"/> (control-flow bodies).</summary>
    public bool HasSubgraphs => Kind is AttributeKind.Graph or AttributeKind.Graphs;

    /// <summary>The value of an <see cref="AttributeKind.Int"/> attribute.</summary>
    /// <exception cref="InvalidOperationException">The attribute holds another kind.</exception>
    public long AsInt() => Expect(AttributeKind.Int)._proto.I;

    /// <summary>The value of a <see cref="AttributeKind.Float"/> attribute.</summary>
    /// <exception cref="InvalidOperationException">The attribute holds another kind.</exception>
    public float AsFloat() => Expect(AttributeKind.Float)._proto.F;

    /// <summary>The value of a <see cref="AttributeKind.String"/> attribute, decoded as UTF-8.</summary>
    /// <exception cref="InvalidOperationException">The attribute holds another kind.</exception>
    public string AsString() => Expect(AttributeKind.String)._proto.S.ToStringUtf8();

    /// <summary>The values of an <see cref="AttributeKind.Ints"/> attribute.</summary>
    /// <exception cref="InvalidOperationException">The attribute holds another kind.</exception>
    public ImmutableArray<long> AsInts() => [.. Expect(AttributeKind.Ints)._proto.Ints];

    /// <summary>The values of a <see cref="AttributeKind.Floats"/> attribute.</summary>
    /// <exception cref="InvalidOperationException">The attribute holds another kind.</exception>
    public ImmutableArray<float> AsFloats() => [.. Expect(AttributeKind.Floats)._proto.Floats];

    /// <summary>The values of a <see cref="AttributeKind.Strings"/> attribute, decoded as UTF-8.</summary>
    /// <exception cref="InvalidOperationException">The attribute holds another kind.</exception>
    public ImmutableArray<string> AsStrings() => [.. Expect(AttributeKind.Strings)._proto.Strings.Select(s => s.ToStringUtf8())];

    /// <summary>The value of a <see cref="AttributeKind.Tensor"/> attribute.</summary>
    /// <param name="owner">The node it belongs to, named in errors about a malformed payload.</param>
    /// <exception cref="InvalidOperationException">The attribute holds another kind, or no tensor.</exception>
    public Tensor AsTensor(Node? owner = null)
    {
        AttributeProto p = Expect(AttributeKind.Tensor)._proto;
        return p.T is null
            ? throw new InvalidOperationException($"Attribute '{Name}' is declared a tensor but holds none.")
            : Onnx.OnnxImporter.TensorFromProto(p.T, null, null, owner);
    }

    /// <summary>An int attribute.</summary>
    public static AttributeValue Int(string name, long value) =>
        new(new AttributeProto { Name = CheckName(name), Type = AttrType.Int, I = value }, AttributeKind.Int);

    /// <summary>A float attribute.</summary>
    public static AttributeValue Float(string name, float value) =>
        new(new AttributeProto { Name = CheckName(name), Type = AttrType.Float, F = value }, AttributeKind.Float);

    /// <summary>A string attribute (stored as UTF-8).</summary>
    public static AttributeValue String(string name, string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return new(new AttributeProto { Name = CheckName(name), Type = AttrType.String, S = ByteString.CopyFrom(value, Encoding.UTF8) }, AttributeKind.String);
    }

    /// <summary>An ints attribute.</summary>
    public static AttributeValue Ints(string name, params ReadOnlySpan<long> values)
    {
        var a = new AttributeProto { Name = CheckName(name), Type = AttrType.Ints };
        foreach (long v in values)
        {
            a.Ints.Add(v);
        }
        return new(a, AttributeKind.Ints);
    }

    /// <summary>A floats attribute.</summary>
    public static AttributeValue Floats(string name, params ReadOnlySpan<float> values)
    {
        var a = new AttributeProto { Name = CheckName(name), Type = AttrType.Floats };
        foreach (float v in values)
        {
            a.Floats.Add(v);
        }
        return new(a, AttributeKind.Floats);
    }

    /// <summary>A strings attribute.</summary>
    public static AttributeValue Strings(string name, params ReadOnlySpan<string> values)
    {
        var a = new AttributeProto { Name = CheckName(name), Type = AttrType.Strings };
        foreach (string v in values)
        {
            a.Strings.Add(ByteString.CopyFrom(v, Encoding.UTF8));
        }
        return new(a, AttributeKind.Strings);
    }

    /// <summary>A tensor attribute (e.g. <c>Constant</c>'s <c>value</c>).</summary>
    public static AttributeValue FromTensor(string name, Tensor value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var a = new AttributeProto { Name = CheckName(name), Type = AttrType.Tensor, T = value.ToProto(string.Empty) };
        a.T.ClearName();
        return new(a, AttributeKind.Tensor);
    }

    /// <summary>The same value under another name.</summary>
    public AttributeValue WithName(string name)
    {
        if (name == Name)
        {
            return this;
        }
        AttributeProto copy = _proto.Clone();
        copy.Name = CheckName(name);
        return new(copy, Kind);
    }

    /// <summary>Wraps a loaded attribute (the message is kept and never changed).</summary>
    internal static AttributeValue FromProto(AttributeProto proto) => new(proto, (AttributeKind)EffectiveType(proto));

    /// <summary>The message to write: the loaded one while unchanged (shared read-only), else the one built here.</summary>
    internal AttributeProto Proto => _proto;

    /// <summary>A subgraph attribute's body, as loaded.</summary>
    internal GraphProto? Graph => Kind == AttributeKind.Graph ? _proto.G : null;

    /// <summary>Every subgraph body the attribute holds.</summary>
    internal IEnumerable<GraphProto> Subgraphs => Kind switch
    {
        AttributeKind.Graph when _proto.G is not null => [_proto.G],
        AttributeKind.Graphs => _proto.Graphs,
        _ => [],
    };

    /// <summary>A sparse tensor attribute's payload, as loaded.</summary>
    internal SparseTensorProto? SparseTensor => Kind == AttributeKind.SparseTensor ? _proto.SparseTensor : null;

    /// <summary>True when a tensor or graph attribute actually carries its payload.</summary>
    internal bool HasPayload => Kind switch
    {
        AttributeKind.Tensor => _proto.T is not null,
        AttributeKind.Graph => _proto.G is not null,
        _ => true,
    };

    /// <summary>The attribute's type; inferred from the populated field for IR v1 files that lack <c>type</c>.</summary>
    internal static AttrType EffectiveType(AttributeProto a)
    {
        if (a.HasType && a.Type != AttrType.Undefined)
        {
            return a.Type;
        }
        if (a.HasF) return AttrType.Float;
        if (a.HasI) return AttrType.Int;
        if (a.HasS) return AttrType.String;
        if (a.T is not null) return AttrType.Tensor;
        if (a.G is not null) return AttrType.Graph;
        if (a.Floats.Count > 0) return AttrType.Floats;
        if (a.Ints.Count > 0) return AttrType.Ints;
        if (a.Strings.Count > 0) return AttrType.Strings;
        if (a.Tensors.Count > 0) return AttrType.Tensors;
        if (a.Graphs.Count > 0) return AttrType.Graphs;
        return AttrType.Undefined;
    }

    /// <inheritdoc/>
    public bool Equals(AttributeValue? other) => other is not null && (ReferenceEquals(this, other) || _proto.Equals(other._proto));

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as AttributeValue);

    /// <inheritdoc/>
    public override int GetHashCode() => _proto.GetHashCode();

    /// <summary>The value as GraphPrinter shows it: <c>3</c>, <c>[1,1,1,1]</c>, <c>"nearest"</c>, <c>tensor</c>.</summary>
    public string FormatValue() => Kind switch
    {
        AttributeKind.Int => _proto.I.ToString(CultureInfo.InvariantCulture),
        AttributeKind.Float => _proto.F.ToString("G6", CultureInfo.InvariantCulture),
        AttributeKind.String => "\"" + _proto.S.ToStringUtf8() + "\"",
        AttributeKind.Ints => "[" + string.Join(",", _proto.Ints) + "]",
        AttributeKind.Floats => "[" + string.Join(",", _proto.Floats.Select(f => f.ToString("G6", CultureInfo.InvariantCulture))) + "]",
        AttributeKind.Tensor => "tensor",
        AttributeKind.Graph => "graph",
        _ => Kind.ToString(),
    };

    /// <inheritdoc/>
    public override string ToString() => $"{Name}={FormatValue()}";

    private AttributeValue Expect(AttributeKind kind) =>
        Kind == kind ? this : throw new InvalidOperationException($"Attribute '{Name}' holds {Kind}, not {kind}.");

    private static string CheckName(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        return name;
    }
}
