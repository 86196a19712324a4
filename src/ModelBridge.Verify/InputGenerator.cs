using System.Runtime.InteropServices;
using ModelBridge.Ir;

namespace ModelBridge.Verify;

/// <summary>The distribution floating-point inputs are drawn from.</summary>
public abstract record InputDistribution
{
    private protected InputDistribution()
    {
    }

    /// <summary>Pixels scaled to [0, 1].</summary>
    public static InputDistribution Image01 { get; } = new UniformDistribution(0, 1, "image01");

    /// <summary>Pixels scaled to [-1, 1].</summary>
    public static InputDistribution Image11 { get; } = new UniformDistribution(-1, 1, "image11");

    /// <summary>Uniform on [<paramref name="low"/>, <paramref name="high"/>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The bounds are not finite or <paramref name="high"/> &lt; <paramref name="low"/>.</exception>
    public static InputDistribution Uniform(double low, double high)
    {
        if (!double.IsFinite(low) || !double.IsFinite(high) || high < low)
        {
            throw new ArgumentOutOfRangeException(nameof(high), $"uniform({low}, {high}) needs finite bounds with low <= high.");
        }
        return new UniformDistribution(low, high, null);
    }

    /// <summary>Normal with the given mean and standard deviation.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The parameters are not finite or <paramref name="std"/> is negative.</exception>
    public static InputDistribution Normal(double mean, double std)
    {
        if (!double.IsFinite(mean) || !double.IsFinite(std) || std < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(std), $"normal({mean}, {std}) needs a finite mean and a finite, non-negative std.");
        }
        return new NormalDistribution(mean, std);
    }

    /// <summary>Draws one sample.</summary>
    internal abstract double Sample(Random random);

    private sealed record UniformDistribution(double Low, double High, string? Alias) : InputDistribution
    {
        internal override double Sample(Random random) => Low + ((High - Low) * random.NextDouble());

        public override string ToString() => Alias ?? $"uniform({Low}, {High})";
    }

    private sealed record NormalDistribution(double Mean, double Std) : InputDistribution
    {
        internal override double Sample(Random random)
        {
            // Box-Muller; 1 - NextDouble() is in (0, 1], so the log is finite.
            double u1 = 1.0 - random.NextDouble();
            double u2 = random.NextDouble();
            return Mean + (Std * Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2));
        }

        public override string ToString() => $"normal({Mean}, {Std})";
    }
}

/// <summary>
/// Makes seeded random inputs for a model's input signature.
/// </summary>
/// <remarks>
/// <para>
/// The same seed always gives the same bytes: each input draws from its own
/// <see cref="Random"/>, seeded from <see cref="Seed"/> and a stable hash of the input's name, so
/// adding, removing or reordering inputs does not change the others.
/// </para>
/// <para>
/// Floating-point inputs follow <see cref="Distribution"/>; integer inputs are uniform on
/// [0, <see cref="IntegerLimit"/>) so they are safe as small indices, counts and axes; bools are
/// fair coin flips. Symbolic dimensions are looked up in <see cref="SymbolicDims"/>, and any
/// dimension not found there (or unknown) is <see cref="DefaultDim"/>.
/// </para>
/// </remarks>
public sealed record InputGenerator
{
    private readonly long _defaultDim = 1;
    private readonly int _integerLimit = 4;

    /// <summary>Creates a generator.</summary>
    public InputGenerator(int seed) => Seed = seed;

    /// <summary>The seed.</summary>
    public int Seed { get; init; }

    /// <summary>Distribution of floating-point inputs; uniform on [-1, 1) by default.</summary>
    public InputDistribution Distribution { get; init; } = InputDistribution.Uniform(-1, 1);

    /// <summary>Sizes for symbolic dimensions, by symbol.</summary>
    public IReadOnlyDictionary<string, long> SymbolicDims { get; init; } = new Dictionary<string, long>();

    /// <summary>Size of any dimension that is unknown or not in <see cref="SymbolicDims"/>; 1 by default.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative.</exception>
    public long DefaultDim
    {
        get => _defaultDim;
        init => _defaultDim = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "A dimension cannot be negative.");
    }

    /// <summary>Integer inputs are drawn from [0, IntegerLimit); 4 by default.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Less than 1 or more than 128.</exception>
    public int IntegerLimit
    {
        get => _integerLimit;
        init => _integerLimit = value is >= 1 and <= 128 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "The integer range must be 1..128 wide to fit every integer type.");
    }

    /// <summary>Inputs for every graph input that is not backed by an initializer, by name.</summary>
    /// <exception cref="InvalidOperationException">An input has no tensor type or no known rank.</exception>
    /// <exception cref="NotSupportedException">An input's element type cannot be generated (strings, complex, float8).</exception>
    public IReadOnlyDictionary<string, TensorData> Generate(Graph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var result = new Dictionary<string, TensorData>(StringComparer.Ordinal);
        foreach (Value input in graph.Inputs)
        {
            if (input.Initializer is not null)
            {
                continue;
            }
            TensorType type = input.DeclaredType
                ?? throw new InvalidOperationException($"Input '{input.Name}' has no tensor type to generate data for (it may be a sequence, map or optional).");
            result[input.Name] = Generate(input.Name, type);
        }
        return result;
    }

    /// <summary>One input of the given type; <paramref name="name"/> selects its random stream.</summary>
    /// <exception cref="InvalidOperationException">The type's rank is unknown.</exception>
    /// <exception cref="NotSupportedException">The element type cannot be generated (strings, complex, float8).</exception>
    public TensorData Generate(string name, TensorType type)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(type);
        if (type.Shape is not { } shape)
        {
            throw new InvalidOperationException($"Input '{name}' has no known rank; cannot choose a shape for it.");
        }
        long[] dims = [.. shape.Dims.Select(Resolve)];
        long count = dims.Aggregate(1L, (a, b) => checked(a * b));
        if (count > Array.MaxLength / 8)
        {
            throw new InvalidOperationException($"Input '{name}' would have {count} elements; set SymbolicDims to smaller sizes.");
        }
        var random = new Random(StreamSeed(name));
        int n = (int)count;
        byte[] bytes = type.ElementType switch
        {
            DataType.Float => Fill(n, () => (float)Distribution.Sample(random)),
            DataType.Double => Fill(n, () => Distribution.Sample(random)),
            DataType.Float16 => Fill(n, () => (Half)Distribution.Sample(random)),
            DataType.BFloat16 => Fill(n, () => ToBFloat16((float)Distribution.Sample(random))),
            DataType.Int64 => Fill(n, () => (long)random.Next(_integerLimit)),
            DataType.Int32 => Fill(n, () => random.Next(_integerLimit)),
            DataType.Int16 => Fill(n, () => (short)random.Next(_integerLimit)),
            DataType.Int8 => Fill(n, () => (sbyte)random.Next(_integerLimit)),
            DataType.UInt64 => Fill(n, () => (ulong)random.Next(_integerLimit)),
            DataType.UInt32 => Fill(n, () => (uint)random.Next(_integerLimit)),
            DataType.UInt16 => Fill(n, () => (ushort)random.Next(_integerLimit)),
            DataType.UInt8 => Fill(n, () => (byte)random.Next(_integerLimit)),
            DataType.Bool => Fill(n, () => random.Next(2) == 1),
            DataType.Int4 or DataType.UInt4 => PackNibbles(n, () => random.Next(Math.Min(_integerLimit, 8))),
            _ => throw new NotSupportedException($"Input '{name}': cannot generate {DataTypes.OnnxName(type.ElementType)} data."),
        };
        return TensorData.FromBytes(type.ElementType, dims, bytes);
    }

    private long Resolve(Dim dim)
    {
        if (dim.Value is long v)
        {
            return v;
        }
        return dim.Symbol is { } s && SymbolicDims.TryGetValue(s, out long size) ? size : _defaultDim;
    }

    /// <summary>Seed and name mixed with FNV-1a, which (unlike string.GetHashCode) is the same in every process.</summary>
    private int StreamSeed(string name)
    {
        uint h = 2166136261;
        foreach (byte b in BitConverter.GetBytes(Seed))
        {
            h = (h ^ b) * 16777619;
        }
        foreach (char c in name)
        {
            h = (h ^ (byte)c) * 16777619;
            h = (h ^ (byte)(c >> 8)) * 16777619;
        }
        return unchecked((int)h);
    }

    private static byte[] Fill<T>(int count, Func<T> next) where T : unmanaged
    {
        var values = new T[count];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = next();
        }
        return MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
    }

    private static byte[] PackNibbles(int count, Func<int> next)
    {
        var bytes = new byte[(count + 1) / 2];
        for (int i = 0; i < count; i++)
        {
            bytes[i / 2] |= (byte)((next() & 0xF) << (i % 2 * 4));
        }
        return bytes;
    }

    /// <summary>Rounds a float to bfloat16 (nearest, ties to even).</summary>
    private static ushort ToBFloat16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value))
        {
            return 0x7FC0;
        }
        uint rounding = 0x7FFF + ((bits >> 16) & 1);
        return (ushort)((bits + rounding) >> 16);
    }
}
