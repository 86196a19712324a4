using System.Collections.Immutable;
using System.Runtime.InteropServices;
using Google.Protobuf;
using ModelBridge.Ir;
using ModelBridge.Onnx;
using ModelBridge.OnnxProto;

namespace ModelBridge.Verify;

/// <summary>
/// An immutable tensor used as a model input or output: element type, dimensions and a
/// little-endian payload of fixed-size elements.
/// </summary>
/// <remarks>
/// Every fixed-size ONNX element type is held as bytes, so float, double, float16, bfloat16,
/// the integer types, bool (one byte per element) and the packed 4-bit and float8 types all
/// round-trip unchanged. String tensors have no fixed-size payload and are refused with
/// <see cref="NotSupportedException"/>. The payload is never copied by this type; callers that
/// pass a buffer to <see cref="FromBytes"/> must not change it afterwards.
/// </remarks>
public sealed class TensorData : IEquatable<TensorData>
{
    private TensorData(DataType elementType, ImmutableArray<long> dims, ReadOnlyMemory<byte> bytes)
    {
        ElementType = elementType;
        Dims = dims;
        Bytes = bytes;
    }

    /// <summary>Element type.</summary>
    public DataType ElementType { get; }

    /// <summary>Dimensions, outermost first (empty for a scalar).</summary>
    public ImmutableArray<long> Dims { get; }

    /// <summary>The payload, little-endian, with no padding (4-bit types are packed two per byte).</summary>
    public ReadOnlyMemory<byte> Bytes { get; }

    /// <summary>Number of elements (product of <see cref="Dims"/>; 1 for a scalar).</summary>
    public long ElementCount => CountElements(Dims.AsSpan());

    /// <summary>
    /// Creates a tensor over <paramref name="bytes"/>, which are used in place (not copied).
    /// </summary>
    /// <exception cref="ArgumentException">A dimension is negative, or the byte count does not match the type and dims.</exception>
    /// <exception cref="NotSupportedException"><paramref name="elementType"/> is a string or unknown type.</exception>
    public static TensorData FromBytes(DataType elementType, ReadOnlySpan<long> dims, ReadOnlyMemory<byte> bytes)
    {
        ThrowIfNotFixedSize(elementType, null);
        foreach (long d in dims)
        {
            if (d < 0)
            {
                throw new ArgumentException($"Dimension {d} in [{string.Join(",", dims.ToArray())}] is negative.", nameof(dims));
            }
        }
        long expected = DataTypes.ByteCount(elementType, CountElements(dims));
        if (bytes.Length != expected)
        {
            throw new ArgumentException(
                $"Payload has {bytes.Length} bytes; {DataTypes.OnnxName(elementType)}{Format(dims)} needs {expected}.", nameof(bytes));
        }
        return new TensorData(elementType, [.. dims], bytes);
    }

    /// <summary>Creates a tensor holding a copy of <paramref name="values"/>; the element type follows <typeparamref name="T"/>.</summary>
    /// <typeparam name="T">float, double, Half, long, int, short, sbyte, byte, bool, ushort, uint or ulong.</typeparam>
    public static TensorData Create<T>(ReadOnlySpan<long> dims, ReadOnlySpan<T> values) where T : unmanaged =>
        FromBytes(DataTypes.Of<T>(), dims, MemoryMarshal.AsBytes(values).ToArray());

    /// <summary>A rank-0 tensor holding <paramref name="value"/>.</summary>
    public static TensorData Scalar<T>(T value) where T : unmanaged => Create<T>([], [value]);

    /// <summary>Reads a tensor from its protobuf; the payload may be in <c>raw_data</c> or in the typed fields.</summary>
    /// <exception cref="NotSupportedException">The tensor holds strings, or its data is stored externally.</exception>
    /// <exception cref="Errors.InvalidModelException">The payload does not match the type and dims.</exception>
    internal static TensorData FromProto(TensorProto proto)
    {
        ArgumentNullException.ThrowIfNull(proto);
        var type = (DataType)proto.DataType;
        ThrowIfNotFixedSize(type, proto.Name);
        if (proto.HasDataLocation && proto.DataLocation == TensorProto.Types.DataLocation.External)
        {
            throw new NotSupportedException($"Tensor '{proto.Name}' stores its data externally; test-data tensors must be self-contained.");
        }
        if (proto.Segment is not null)
        {
            throw new NotSupportedException($"Tensor '{proto.Name}' is a segment of a larger tensor, which is not supported.");
        }
        // The importer already knows how every typed field maps to little-endian bytes.
        Tensor tensor = OnnxImporter.TensorFromProto(proto, null, null, null);
        ReadOnlyMemory<byte> payload = tensor.Data;
        if (payload.Length != tensor.ExpectedByteLength)
        {
            Errors.ThrowHelper.InvalidModel(
                $"Tensor '{proto.Name}' ({tensor}) holds {payload.Length} bytes of data but needs {tensor.ExpectedByteLength}.");
        }
        return new TensorData(type, tensor.Dims, payload);
    }

    /// <summary>Parses a serialised <c>TensorProto</c> (the format of an ONNX test-data <c>.pb</c> file).</summary>
    public static TensorData Parse(ReadOnlySpan<byte> protobuf, out string name)
    {
        TensorProto proto = TensorProto.Parser.ParseFrom(protobuf);
        name = proto.Name;
        return FromProto(proto);
    }

    /// <summary>Copies an IR constant (initializer) into a tensor.</summary>
    public static TensorData FromTensor(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        ThrowIfNotFixedSize(tensor.DataType, null);
        return FromBytes(tensor.DataType, tensor.Dims.AsSpan(), tensor.Data);
    }

    /// <summary>Writes the tensor as a serialised <c>TensorProto</c> (the format of an ONNX test-data <c>.pb</c> file).</summary>
    /// <param name="stream">Where to write.</param>
    /// <param name="name">Tensor name to record, or null for none.</param>
    public void WriteTo(Stream stream, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ToProto(name).WriteTo(stream);
    }

    /// <summary>The protobuf form, payload in <c>raw_data</c> (wrapped, not copied).</summary>
    /// <param name="name">Tensor name to record, or null for none.</param>
    internal TensorProto ToProto(string? name = null)
    {
        var proto = new TensorProto { DataType = (int)ElementType, RawData = UnsafeByteOperations.UnsafeWrap(Bytes) };
        proto.Dims.Add(Dims);
        if (!string.IsNullOrEmpty(name))
        {
            proto.Name = name;
        }
        return proto;
    }

    /// <summary>The IR's tensor type with this tensor's static shape.</summary>
    public TensorType ToTensorType() => new(ElementType, TensorShape.Of([.. Dims]));

    /// <summary>The payload viewed as <typeparamref name="T"/>, which must be the element type's CLR type.</summary>
    /// <exception cref="InvalidOperationException"><typeparamref name="T"/> does not match <see cref="ElementType"/>.</exception>
    public ReadOnlySpan<T> AsSpan<T>() where T : unmanaged
    {
        if (!Matches<T>(ElementType))
        {
            throw new InvalidOperationException($"Cannot view a {DataTypes.OnnxName(ElementType)} tensor as {typeof(T).Name}.");
        }
        return MemoryMarshal.Cast<byte, T>(Bytes.Span);
    }

    /// <summary>The payload as floats, without copying; the element type must be <see cref="DataType.Float"/>.</summary>
    public ReadOnlySpan<float> AsFloatSpan() => AsSpan<float>();

    /// <summary>The elements converted to float (every floating-point, integer and bool type).</summary>
    public float[] ToFloatArray()
    {
        if (ElementType == DataType.Float)
        {
            return AsSpan<float>().ToArray();
        }
        double[] values = ToDoubleArray();
        return Array.ConvertAll(values, v => (float)v);
    }

    /// <summary>The elements converted to double (every floating-point, integer and bool type).</summary>
    /// <exception cref="NotSupportedException">Complex, float8 and 4-bit types.</exception>
    public double[] ToDoubleArray()
    {
        ReadOnlySpan<byte> s = Bytes.Span;
        return ElementType switch
        {
            DataType.Float => ConvertAll(MemoryMarshal.Cast<byte, float>(s), v => (double)v),
            DataType.Double => MemoryMarshal.Cast<byte, double>(s).ToArray(),
            DataType.Float16 => ConvertAll(MemoryMarshal.Cast<byte, Half>(s), v => (double)v),
            DataType.BFloat16 => ConvertAll(MemoryMarshal.Cast<byte, ushort>(s), v => (double)BitConverter.Int32BitsToSingle(v << 16)),
            DataType.UInt64 => ConvertAll(MemoryMarshal.Cast<byte, ulong>(s), v => (double)v),
            _ when DataTypes.IsIntegerOrBool(ElementType) => Array.ConvertAll(ToInt64Array(), v => (double)v),
            _ => throw new NotSupportedException($"Cannot convert a {DataTypes.OnnxName(ElementType)} tensor to double."),
        };
    }

    /// <summary>The elements converted to int64 (integer and bool types; uint64 wraps).</summary>
    /// <exception cref="NotSupportedException">Floating-point, complex and 4-bit types.</exception>
    public long[] ToInt64Array()
    {
        ReadOnlySpan<byte> s = Bytes.Span;
        return ElementType switch
        {
            DataType.Int64 => MemoryMarshal.Cast<byte, long>(s).ToArray(),
            DataType.Int32 => ConvertAll(MemoryMarshal.Cast<byte, int>(s), v => (long)v),
            DataType.Int16 => ConvertAll(MemoryMarshal.Cast<byte, short>(s), v => (long)v),
            DataType.Int8 => ConvertAll(MemoryMarshal.Cast<byte, sbyte>(s), v => (long)v),
            DataType.UInt8 or DataType.Bool => ConvertAll(s, v => (long)v),
            DataType.UInt16 => ConvertAll(MemoryMarshal.Cast<byte, ushort>(s), v => (long)v),
            DataType.UInt32 => ConvertAll(MemoryMarshal.Cast<byte, uint>(s), v => (long)v),
            DataType.UInt64 => ConvertAll(MemoryMarshal.Cast<byte, ulong>(s), v => unchecked((long)v)),
            _ => throw new NotSupportedException($"Cannot read a {DataTypes.OnnxName(ElementType)} tensor as int64."),
        };
    }

    /// <summary>True when the other tensor has the same type, dims and payload bytes (NaN payloads compare by bits).</summary>
    public bool Equals(TensorData? other) =>
        other is not null && ElementType == other.ElementType && Dims.AsSpan().SequenceEqual(other.Dims.AsSpan())
        && Bytes.Span.SequenceEqual(other.Bytes.Span);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as TensorData);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        HashCode h = default;
        h.Add(ElementType);
        foreach (long d in Dims)
        {
            h.Add(d);
        }
        h.AddBytes(Bytes.Span[..Math.Min(Bytes.Length, 64)]);
        return h.ToHashCode();
    }

    /// <summary>A one-line description such as <c>float[1,3,224,224]</c>.</summary>
    public override string ToString() => DataTypes.OnnxName(ElementType) + Format(Dims.AsSpan());

    private static bool Matches<T>(DataType type) where T : unmanaged
    {
        if (typeof(T) == typeof(byte) && type is DataType.UInt8 or DataType.Bool)
        {
            return true;
        }
        if (typeof(T) == typeof(ushort) && type == DataType.BFloat16)
        {
            return true;
        }
        try
        {
            return DataTypes.Of<T>() == type;
        }
        catch (NotSupportedException)
        {
            return false;
        }
    }

    private static void ThrowIfNotFixedSize(DataType type, string? name)
    {
        if (type == DataType.String)
        {
            throw new NotSupportedException($"Tensor{(string.IsNullOrEmpty(name) ? "" : $" '{name}'")} holds strings; only fixed-size element types are supported.");
        }
        if (DataTypes.BitsPerElement(type) == 0)
        {
            throw new NotSupportedException($"Tensor{(string.IsNullOrEmpty(name) ? "" : $" '{name}'")} has element type {(int)type}, which is not a fixed-size ONNX type.");
        }
    }

    private static long CountElements(ReadOnlySpan<long> dims)
    {
        long n = 1;
        foreach (long d in dims)
        {
            n = checked(n * d);
        }
        return n;
    }

    private static TOut[] ConvertAll<TIn, TOut>(ReadOnlySpan<TIn> source, Func<TIn, TOut> convert)
    {
        var result = new TOut[source.Length];
        for (int i = 0; i < source.Length; i++)
        {
            result[i] = convert(source[i]);
        }
        return result;
    }

    private static string Format(ReadOnlySpan<long> dims) => "[" + string.Join(",", dims.ToArray()) + "]";
}

/// <summary>A tensor with the name it is bound to (a graph input or output, or a .pb file's name field).</summary>
/// <param name="Name">The name; empty when the source recorded none.</param>
/// <param name="Data">The tensor.</param>
public sealed record NamedTensor(string Name, TensorData Data)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Name}: {Data}";
}
