namespace ModelBridge.Ir;

/// <summary>ONNX tensor element types, numbered as <c>TensorProto.DataType</c>.</summary>
public enum DataType
{
    /// <summary>Not set.</summary>
    Undefined = 0,
    /// <summary>32-bit IEEE float.</summary>
    Float = 1,
    /// <summary>Unsigned byte.</summary>
    UInt8 = 2,
    /// <summary>Signed byte.</summary>
    Int8 = 3,
    /// <summary>Unsigned 16-bit integer.</summary>
    UInt16 = 4,
    /// <summary>Signed 16-bit integer.</summary>
    Int16 = 5,
    /// <summary>Signed 32-bit integer.</summary>
    Int32 = 6,
    /// <summary>Signed 64-bit integer.</summary>
    Int64 = 7,
    /// <summary>UTF-8 string (no fixed-size payload).</summary>
    String = 8,
    /// <summary>Boolean, one byte per element.</summary>
    Bool = 9,
    /// <summary>IEEE half precision.</summary>
    Float16 = 10,
    /// <summary>64-bit IEEE float.</summary>
    Double = 11,
    /// <summary>Unsigned 32-bit integer.</summary>
    UInt32 = 12,
    /// <summary>Unsigned 64-bit integer.</summary>
    UInt64 = 13,
    /// <summary>Two 32-bit floats.</summary>
    Complex64 = 14,
    /// <summary>Two 64-bit floats.</summary>
    Complex128 = 15,
    /// <summary>Brain float 16.</summary>
    BFloat16 = 16,
    /// <summary>float8 e4m3fn.</summary>
    Float8E4M3FN = 17,
    /// <summary>float8 e4m3fnuz.</summary>
    Float8E4M3FNUZ = 18,
    /// <summary>float8 e5m2.</summary>
    Float8E5M2 = 19,
    /// <summary>float8 e5m2fnuz.</summary>
    Float8E5M2FNUZ = 20,
    /// <summary>Unsigned 4-bit integer, two per byte.</summary>
    UInt4 = 21,
    /// <summary>Signed 4-bit integer, two per byte.</summary>
    Int4 = 22,
    /// <summary>float4 e2m1, two per byte.</summary>
    Float4E2M1 = 23,
    /// <summary>float8 e8m0 (scale type).</summary>
    Float8E8M0 = 24,
}

/// <summary>Facts about <see cref="DataType"/> values.</summary>
public static class DataTypes
{
    /// <summary>Size of one element in bits, or 0 for strings and unknown types.</summary>
    public static int BitsPerElement(DataType type) => type switch
    {
        DataType.Float or DataType.Int32 or DataType.UInt32 => 32,
        DataType.UInt8 or DataType.Int8 or DataType.Bool => 8,
        DataType.Float8E4M3FN or DataType.Float8E4M3FNUZ or DataType.Float8E5M2 or DataType.Float8E5M2FNUZ or DataType.Float8E8M0 => 8,
        DataType.UInt16 or DataType.Int16 or DataType.Float16 or DataType.BFloat16 => 16,
        DataType.Int64 or DataType.UInt64 or DataType.Double or DataType.Complex64 => 64,
        DataType.Complex128 => 128,
        DataType.UInt4 or DataType.Int4 or DataType.Float4E2M1 => 4,
        _ => 0,
    };

    /// <summary>Bytes needed for <paramref name="elements"/> elements of a fixed-size type (4-bit types round up).</summary>
    public static long ByteCount(DataType type, long elements)
    {
        int bits = BitsPerElement(type);
        return bits == 0 ? -1 : checked((elements * bits + 7) / 8);
    }

    /// <summary>
    /// True for the types <see cref="Tensor.ToFloatArray"/> and <see cref="Tensor.ToInt64Array"/> convert:
    /// float, double, float16, bfloat16, the 8- to 64-bit integer types and bool. (Float8, 4-bit,
    /// complex and string payloads have no such conversion; check before reading a model's constant.)
    /// </summary>
    public static bool IsConvertible(DataType type) => type is DataType.Float or DataType.Double or DataType.Float16 or DataType.BFloat16
        or DataType.Int64 or DataType.Int32 or DataType.Int16 or DataType.Int8 or DataType.UInt8 or DataType.UInt16
        or DataType.UInt32 or DataType.UInt64 or DataType.Bool;

    /// <summary>The ONNX element type that the CLR type <typeparamref name="T"/> stores.</summary>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> has no ONNX element type.</exception>
    public static DataType Of<T>() where T : unmanaged => typeof(T) switch
    {
        var t when t == typeof(float) => DataType.Float,
        var t when t == typeof(double) => DataType.Double,
        var t when t == typeof(Half) => DataType.Float16,
        var t when t == typeof(long) => DataType.Int64,
        var t when t == typeof(int) => DataType.Int32,
        var t when t == typeof(short) => DataType.Int16,
        var t when t == typeof(sbyte) => DataType.Int8,
        var t when t == typeof(byte) => DataType.UInt8,
        var t when t == typeof(bool) => DataType.Bool,
        var t when t == typeof(ushort) => DataType.UInt16,
        var t when t == typeof(uint) => DataType.UInt32,
        var t when t == typeof(ulong) => DataType.UInt64,
        _ => throw new NotSupportedException($"{typeof(T).Name} has no ONNX element type; give the DataType explicitly."),
    };

    /// <summary>True for the integer types and bool (compared exactly, read as int64).</summary>
    public static bool IsIntegerOrBool(DataType type) => type is DataType.Int64 or DataType.Int32 or DataType.Int16 or DataType.Int8
        or DataType.UInt64 or DataType.UInt32 or DataType.UInt16 or DataType.UInt8 or DataType.Bool;

    /// <summary>True for the floating-point types.</summary>
    public static bool IsFloatingPoint(DataType type) => type is DataType.Float or DataType.Double or DataType.Float16 or DataType.BFloat16
        or DataType.Float8E4M3FN or DataType.Float8E4M3FNUZ or DataType.Float8E5M2 or DataType.Float8E5M2FNUZ or DataType.Float4E2M1 or DataType.Float8E8M0;

    /// <summary>Lower-case ONNX spelling (<c>float</c>, <c>int64</c>, ...).</summary>
    public static string OnnxName(DataType type) => type switch
    {
        DataType.Float => "float",
        DataType.Double => "double",
        DataType.Float16 => "float16",
        DataType.BFloat16 => "bfloat16",
        DataType.Int64 => "int64",
        DataType.Int32 => "int32",
        DataType.Int16 => "int16",
        DataType.Int8 => "int8",
        DataType.UInt8 => "uint8",
        DataType.UInt16 => "uint16",
        DataType.UInt32 => "uint32",
        DataType.UInt64 => "uint64",
        DataType.Bool => "bool",
        DataType.String => "string",
        _ => type.ToString().ToLowerInvariant(),
    };
}
