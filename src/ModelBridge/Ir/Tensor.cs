using System.Collections.Immutable;
using System.Runtime.InteropServices;
using Google.Protobuf;
using ModelBridge.Errors;
using ModelBridge.Onnx;
using OnnxTensor = ModelBridge.OnnxProto.TensorProto;

namespace ModelBridge.Ir;

/// <summary>
/// An immutable constant tensor: element type, dimensions and a little-endian payload.
/// </summary>
/// <remarks>
/// The payload is a view: for a loaded model it points into the file's buffer (or memory map)
/// and is never copied; external data is read lazily on first access. Rewrites never edit a
/// tensor; they create a new one. Typed protobuf fields (<c>float_data</c> etc.) are kept as
/// they were stored so that an unedited model re-serialises byte for byte.
/// </remarks>
public sealed class Tensor
{
    private readonly object _gate = new();
    private ReadOnlyMemory<byte>? _data;
    private readonly ExternalDataReader? _external;

    internal Tensor(DataType type, ImmutableArray<long> dims, OnnxTensor template, ReadOnlyMemory<byte>? raw, ExternalDataReader? external)
    {
        DataType = type;
        Dims = dims;
        Template = template;
        _data = raw;
        HasRawData = raw.HasValue;
        _external = external;
        External = external is null ? null : ExternalDataInfo.FromProto(template);
    }

    /// <summary>Element type.</summary>
    public DataType DataType { get; }

    /// <summary>Dimensions (empty for a scalar).</summary>
    public ImmutableArray<long> Dims { get; }

    /// <summary>Where the payload lives when it is stored outside the model file.</summary>
    public ExternalDataInfo? External { get; }

    /// <summary>Number of elements (product of <see cref="Dims"/>; 0 when any dimension is 0).</summary>
    public long ElementCount => CountElements(Dims.AsSpan());

    /// <summary>Bytes the payload must have for <see cref="DataType"/> and <see cref="Dims"/>; -1 for strings.</summary>
    public long ExpectedByteLength => DataTypes.ByteCount(DataType, ElementCount);

    /// <summary>The protobuf fields of this tensor other than its payload.</summary>
    internal OnnxTensor Template { get; }

    /// <summary>True when the payload was (or will be) written as <c>raw_data</c>.</summary>
    internal bool HasRawData { get; }

    /// <summary>True once the payload is in memory (always, unless it is external and unread).</summary>
    public bool IsLoaded => _data.HasValue;

    /// <summary>The payload, little-endian; reads external data on first use.</summary>
    /// <remarks>
    /// The payload's length is checked against <see cref="DataType"/> and <see cref="Dims"/> on every
    /// access, so no reader of a model's tensors can index past what the file actually holds.
    /// </remarks>
    /// <exception cref="NotSupportedException">The tensor holds strings.</exception>
    /// <exception cref="InvalidModelException">The stored payload's size disagrees with the type and dims, or the element type is unknown.</exception>
    public ReadOnlyMemory<byte> Data
    {
        get
        {
            ReadOnlyMemory<byte> d = Payload;
            long expected = ExpectedByteLength;
            if (expected < 0 && DataType != DataType.String)
            {
                ThrowHelper.InvalidModel($"Tensor '{Template.Name}' has data_type {(int)DataType}, which is not a known fixed-size ONNX element type.");
            }
            if (expected >= 0 && d.Length != expected)
            {
                ThrowHelper.InvalidModel($"Tensor '{Template.Name}' ({this}) holds {d.Length} bytes of data but its type and dims need {expected}.");
            }
            return d;
        }
    }

    /// <summary>The payload as stored, unchecked (for validation, which reports a bad size instead of throwing).</summary>
    internal ReadOnlyMemory<byte> Payload
    {
        get
        {
            if (_data is { } d)
            {
                return d;
            }
            lock (_gate)
            {
                _data ??= LoadPayload();
                return _data.Value;
            }
        }
    }

    /// <summary>The payload as elements of <typeparamref name="T"/>, whose size must match the element type.</summary>
    public ReadOnlySpan<T> AsSpan<T>() where T : unmanaged
    {
        int bits = DataTypes.BitsPerElement(DataType);
        if (bits != Marshal.SizeOf<T>() * 8)
        {
            throw new InvalidOperationException($"Cannot view a {DataTypes.OnnxName(DataType)} tensor as {typeof(T).Name}.");
        }
        return MemoryMarshal.Cast<byte, T>(Data.Span);
    }

    /// <summary>The elements converted to float (float, double, float16, bfloat16 and integer types; see <see cref="DataTypes.IsConvertible"/>).</summary>
    /// <exception cref="NotSupportedException">Any other element type.</exception>
    public float[] ToFloatArray()
    {
        ReadOnlySpan<byte> s = Data.Span;
        return DataType switch
        {
            DataType.Float => MemoryMarshal.Cast<byte, float>(s).ToArray(),
            DataType.Double => Array.ConvertAll(MemoryMarshal.Cast<byte, double>(s).ToArray(), v => (float)v),
            DataType.Float16 => Array.ConvertAll(MemoryMarshal.Cast<byte, Half>(s).ToArray(), v => (float)v),
            DataType.BFloat16 => Array.ConvertAll(MemoryMarshal.Cast<byte, ushort>(s).ToArray(), v => BitConverter.Int32BitsToSingle(v << 16)),
            _ => Array.ConvertAll(ToInt64Array(), v => (float)v),
        };
    }

    /// <summary>The elements converted to int64 (integer and bool types, floats truncated; see <see cref="DataTypes.IsConvertible"/>).</summary>
    /// <exception cref="NotSupportedException">Any other element type.</exception>
    public long[] ToInt64Array()
    {
        ReadOnlySpan<byte> s = Data.Span;
        return DataType switch
        {
            DataType.Int64 => MemoryMarshal.Cast<byte, long>(s).ToArray(),
            DataType.Int32 => Array.ConvertAll(MemoryMarshal.Cast<byte, int>(s).ToArray(), v => (long)v),
            DataType.Int16 => Array.ConvertAll(MemoryMarshal.Cast<byte, short>(s).ToArray(), v => (long)v),
            DataType.Int8 => Array.ConvertAll(MemoryMarshal.Cast<byte, sbyte>(s).ToArray(), v => (long)v),
            DataType.UInt8 or DataType.Bool => Array.ConvertAll(s.ToArray(), v => (long)v),
            DataType.UInt16 => Array.ConvertAll(MemoryMarshal.Cast<byte, ushort>(s).ToArray(), v => (long)v),
            DataType.UInt32 => Array.ConvertAll(MemoryMarshal.Cast<byte, uint>(s).ToArray(), v => (long)v),
            DataType.UInt64 => Array.ConvertAll(MemoryMarshal.Cast<byte, ulong>(s).ToArray(), v => unchecked((long)v)),
            DataType.Float or DataType.Double or DataType.Float16 or DataType.BFloat16 => Array.ConvertAll(ToFloatArray(), v => (long)v),
            _ => throw new NotSupportedException($"Cannot read a {DataTypes.OnnxName(DataType)} tensor as int64."),
        };
    }

    /// <summary>Creates a tensor that owns a copy of <paramref name="values"/>.</summary>
    public static Tensor Create<T>(ReadOnlySpan<long> dims, ReadOnlySpan<T> values) where T : unmanaged
    {
        return FromBytes(DataTypes.Of<T>(), dims, MemoryMarshal.AsBytes(values).ToArray());
    }

    /// <summary>Creates a tensor over <paramref name="data"/> (not copied; the caller must not change it).</summary>
    public static Tensor FromBytes(DataType type, ReadOnlySpan<long> dims, ReadOnlyMemory<byte> data)
    {
        foreach (long d in dims)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(d, nameof(dims));
        }
        var t = new Tensor(type, [.. dims], new OnnxTensor { DataType = (int)type }, data, null);
        t.Template.Dims.Add(dims.ToArray());
        if (t.ExpectedByteLength >= 0 && t.ExpectedByteLength != data.Length)
        {
            throw new ArgumentException($"Payload has {data.Length} bytes; {DataTypes.OnnxName(type)}{Format(dims)} needs {t.ExpectedByteLength}.", nameof(data));
        }
        return t;
    }

    /// <summary>
    /// A hash of the payload bytes, computed once (tensors are immutable), for deduplication.
    /// Equal payloads give equal hashes within one process.
    /// </summary>
    internal int ContentHash
    {
        get
        {
            if (_contentHash is int h)
            {
                return h;
            }
            var hash = new HashCode();
            hash.AddBytes(Data.Span);
            _contentHash = hash.ToHashCode();
            return _contentHash.Value;
        }
    }

    private int? _contentHash;

    /// <summary>A one-line description such as <c>float[64,3,3,3]</c>.</summary>
    public override string ToString() => DataTypes.OnnxName(DataType) + Format(Dims.AsSpan());

    private static string Format(ReadOnlySpan<long> dims) => "[" + string.Join(",", dims.ToArray()) + "]";

    /// <summary>Product of <paramref name="dims"/>: 0 when any is 0, else checked.</summary>
    internal static long CountElements(ReadOnlySpan<long> dims)
    {
        if (dims.Contains(0))
        {
            return 0;
        }
        long n = 1;
        foreach (long d in dims)
        {
            n = checked(n * d);
        }
        return n;
    }

    /// <summary>Builds the payload from the typed fields, or reads it from external storage.</summary>
    private ReadOnlyMemory<byte> LoadPayload()
    {
        if (_external is not null)
        {
            return _external.Read(External!, ExpectedByteLength, Template.Name);
        }
        OnnxTensor p = Template;
        string name = p.Name;
        switch (DataType)
        {
            case DataType.Float or DataType.Complex64:
                return MemoryMarshal.AsBytes(p.FloatData.ToArray().AsSpan()).ToArray();
            case DataType.Double or DataType.Complex128:
                return MemoryMarshal.AsBytes(p.DoubleData.ToArray().AsSpan()).ToArray();
            case DataType.Int64:
                return MemoryMarshal.AsBytes(p.Int64Data.ToArray().AsSpan()).ToArray();
            case DataType.UInt64 or DataType.UInt32:
                return DataType == DataType.UInt64
                    ? MemoryMarshal.AsBytes(p.Uint64Data.ToArray().AsSpan()).ToArray()
                    : MemoryMarshal.AsBytes(p.Uint64Data.Select(v => (uint)v).ToArray().AsSpan()).ToArray();
            case DataType.Int32:
                return MemoryMarshal.AsBytes(p.Int32Data.ToArray().AsSpan()).ToArray();
            case DataType.Int16 or DataType.UInt16 or DataType.Float16 or DataType.BFloat16:
                return MemoryMarshal.AsBytes(p.Int32Data.Select(v => unchecked((ushort)v)).ToArray().AsSpan()).ToArray();
            case DataType.Int8 or DataType.UInt8 or DataType.Bool or DataType.Float8E4M3FN or DataType.Float8E4M3FNUZ
                or DataType.Float8E5M2 or DataType.Float8E5M2FNUZ or DataType.Float8E8M0:
                return p.Int32Data.Select(v => unchecked((byte)v)).ToArray();
            case DataType.Int4 or DataType.UInt4 or DataType.Float4E2M1:
                // int32_data holds the packed bytes (two elements per entry's low byte).
                return p.Int32Data.Select(v => unchecked((byte)v)).ToArray();
            case DataType.String:
                throw new NotSupportedException($"Tensor '{name}' holds strings, which have no fixed-size payload.");
            default:
                ThrowHelper.InvalidModel($"Tensor '{name}' has unsupported data_type {(int)DataType}.");
                return default;
        }
    }

    /// <summary>Builds the protobuf for this tensor under <paramref name="name"/>, the payload as raw_data (no copy).</summary>
    internal OnnxTensor ToProto(string name, bool inlineExternal = true)
    {
        var p = new OnnxTensor();
        p.MergeFrom(Template);
        if (p.Name != name)
        {
            p.Name = name;
        }
        if (HasRawData)
        {
            // As stored: an unedited model re-serialises as loaded, even when a payload is malformed.
            p.RawData = UnsafeByteOperations.UnsafeWrap(Payload);
        }
        else if (External is not null && inlineExternal)
        {
            p.ExternalData.Clear();
            p.ClearDataLocation();
            p.RawData = UnsafeByteOperations.UnsafeWrap(Data);
        }
        return p;
    }
}
